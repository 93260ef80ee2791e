import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../adapters/node/tokens.js';
import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { putFile, writeWordsFile } from '../helpers/hot-cold.js';
import { waitFor } from '../helpers/wait.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startS3rver, type TestS3 } from '../helpers/s3rver.js';
import type { ApiFile } from '../helpers/api-types.js';
import { makeDataDir, spawnServer, startTestServer, type ChildServer, type TestServer } from '../helpers/server.js';

const MB = 1024 * 1024;


async function keysUnder(s3: TestS3, bucket: string, prefix: string): Promise<string[]> {
  const res = await s3.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix }));
  return (res.Contents ?? []).map((o) => o.Key ?? '').sort();
}

let s3: TestS3;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

describe('CB_STORAGE=s3 (one instance, SQLite catalog): hot/cold on S3 with the real sweeper', () => {
  let s: TestServer;
  let scratch: string;
  const bucket = 'hot-cold';
  const doc = { path: 'alice/logs/app.log', file: '', sha: '' };
  // The admin sees the stored form; alice sees her files' own heat (handlers/files/file-view.ts).
  const entry = async (path: string): Promise<ApiFile> => {
    const r = await fetch(`${s.url}/api/files?prefix=${encodeURIComponent(path)}`, { headers: s.auth('root') });
    const item = ((await r.json()) as { items: ApiFile[] }).items.find((i) => i.path === path);
    if (!item) throw new Error(`${path} not listed`);
    return item;
  };

  beforeAll(async () => {
    await s3.createBucket(bucket);
    // The server's S3 client takes credentials from the standard AWS variables.
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    scratch = await makeDataDir();
    doc.file = join(scratch, 'app.log');
    doc.sha = await writeWordsFile(doc.file, 7 * MB);
    s = await startTestServer({ storage: 's3', s3Endpoint: s3.endpoint, s3Bucket: bucket, s3Region: s3.region, hotTimeMs: 1000, sweepIntervalMs: 300 });
    expect((await putFile(s.url, doc.path, doc.file, s.auth('alice'))).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('stores the blob in the bucket, not in the data dir', async () => {
    expect(await keysUnder(s3, bucket, 'blobs/')).toContain(`blobs/${doc.sha}`);
    expect(s.logs.join('\n')).toMatch(/storage: blobs in s3:\/\/hot-cold at http:\/\/127\.0\.0\.1/);
  });

  it('goes cold: a .gz object replaces the plain one; full and ranged GETs stay exact', async () => {
    await waitFor('cold', async () => (await entry(doc.path)).state === 'cold');
    // The catalog names the .gz before the swap deletes the plain object (form-swap.ts): wait
    // for the swap's end before looking at the bucket.
    await waitFor('the swap finished', async () => (await s.server.blobs.forms.unfinishedSwaps()).length === 0);
    const e = await entry(doc.path);
    expect(e.storedSize).toBeLessThan(e.size / 2);
    expect(await keysUnder(s3, bucket, `blobs/${doc.sha}`)).toEqual([`blobs/${doc.sha}.gz`]);
    // Nothing left behind in tmp/ by the compression.
    expect(await keysUnder(s3, bucket, 'tmp/')).toEqual([]);
    const full = await fetch(`${s.url}/files/${doc.path}`, { headers: s.auth('alice') });
    expect(full.status).toBe(200);
    expect(await sha256Body(full)).toEqual({ sha256: doc.sha, size: 7 * MB });
  });

  it('a read makes it hot again: the plain object is back, the .gz gone', async () => {
    const r = await fetch(`${s.url}/files/${doc.path}`, { headers: { ...s.auth('alice'), Range: 'bytes=3000000-3000009' } });
    expect(r.status).toBe(206);
    const { readFile } = await import('node:fs/promises');
    expect(Buffer.from(await r.arrayBuffer())).toEqual((await readFile(doc.file)).subarray(3_000_000, 3_000_010));
    await waitFor('hot', async () => (await entry(doc.path)).state === 'hot');
    await waitFor('plain object back', async () => (await keysUnder(s3, bucket, `blobs/${doc.sha}`)).join() === `blobs/${doc.sha}`);
  });
});

const pgMissing = postgresUnavailable();

describe.skipIf(pgMissing !== undefined)(`two server processes on one PostgreSQL + one s3rver${pgMissing ? ` (skipped: ${pgMissing})` : ''}`, () => {
  let pg: TestPostgres;
  let a: ChildServer;
  let b: ChildServer;
  const dirs: string[] = [];
  let auth: Record<string, string>;
  const bucket = 'shared';
  const big = randomBytes(11 * MB + 17);
  const bigSha = sha256(big);

  beforeAll(async () => {
    await s3.createBucket(bucket);
    pg = await startPostgres();
    const url = await pg.createDatabase();
    const env = { ...s3.env(bucket), CB_DATABASE_URL: url };
    // Both start at once: the migrations take turns under their advisory lock.
    dirs.push(await makeDataDir(), await makeDataDir());
    [a, b] = (await Promise.all(dirs.map((d) => spawnServer(d, [], env)))) as [ChildServer, ChildServer];
    const catalog = await PgCatalog.open({ url });
    try {
      auth = { Authorization: `Bearer ${await createClient(catalog, 'alice')}` };
    } finally {
      await catalog.close();
    }
  });
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
    await pg?.stop();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('a file uploaded through one is listed and served (full and ranged) by the other', async () => {
    const put = await fetch(`${a.url}/files/alice/videos/big.bin`, { method: 'PUT', headers: auth, body: big });
    expect(put.status).toBe(201);
    const list = await fetch(`${b.url}/api/files?prefix=alice/videos/`, { headers: auth });
    expect(((await list.json()) as { items: ApiFile[] }).items).toMatchObject([{ path: 'alice/videos/big.bin', size: big.length, sha256: bigSha, state: 'hot' }]);
    const full = await fetch(`${b.url}/files/alice/videos/big.bin`, { headers: auth });
    expect(full.headers.get('etag')).toBe(`"${bigSha}"`);
    expect(await sha256Body(full)).toEqual({ sha256: bigSha, size: big.length });
    const part = await fetch(`${b.url}/files/alice/videos/big.bin`, { headers: { ...auth, Range: 'bytes=5242870-5242889' } });
    expect(part.status).toBe(206);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(big.subarray(5242870, 5242890));
    const page = await fetch(`${b.url}/browse/alice/videos/`, { headers: auth });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('big.bin');
  });

  it('the same content through the other instance is stored once; a delete on one is seen by both', async () => {
    const again = await fetch(`${b.url}/files/alice/copy.bin`, { method: 'PUT', headers: auth, body: big });
    expect(again.status).toBe(201);
    const stats = (await (await fetch(`${a.url}/api/stats`, { headers: auth })).json()) as { files: number; blobs: number };
    expect(stats).toMatchObject({ files: 2, blobs: 1 });
    expect((await fetch(`${b.url}/files/alice/videos/big.bin`, { method: 'DELETE', headers: auth })).status).toBe(204);
    expect((await fetch(`${a.url}/files/alice/videos/big.bin`, { headers: auth })).status).toBe(404);
    // The blob is still referenced by copy.bin: still served, still one object.
    expect(await sha256Body(await fetch(`${a.url}/files/alice/copy.bin`, { headers: auth }))).toEqual({ sha256: bigSha, size: big.length });
    expect(await keysUnder(s3, bucket, 'blobs/')).toEqual([`blobs/${bigSha}`]);
    expect((await fetch(`${a.url}/files/alice/copy.bin`, { method: 'DELETE', headers: auth })).status).toBe(204);
    // Deleted, not destroyed: the history keeps the blob, and the other instance sees both in the trash.
    expect(await keysUnder(s3, bucket, 'blobs/')).toEqual([`blobs/${bigSha}`]);
    const trash = (await (await fetch(`${b.url}/api/files?prefix=alice/&deleted=true`, { headers: auth })).json()) as { items: { path: string }[] };
    expect(trash.items.map((i) => i.path)).toEqual(expect.arrayContaining(['alice/copy.bin', 'alice/videos/big.bin']));
  });

  it('a resumable (tus) upload started on one instance is finished on the other', async () => {
    const data = randomBytes(300_000);
    const meta = `path ${Buffer.from('alice/tus/resumed.bin').toString('base64')},sha256 ${Buffer.from(sha256(data)).toString('base64')}`;
    const tus = { 'Tus-Resumable': '1.0.0' };
    const created = await fetch(`${a.url}/uploads/`, { method: 'POST', headers: { ...auth, ...tus, 'Upload-Length': String(data.length), 'Upload-Metadata': meta } });
    expect(created.status).toBe(201);
    // Location is relative to the creation URL.
    const location = new URL(created.headers.get('location') ?? '', `${a.url}/uploads/`).pathname;
    const patch = (base: string, offset: number, end: number) =>
      fetch(`${base}${location}`, {
        method: 'PATCH',
        headers: { ...auth, ...tus, 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
        body: Buffer.from(data.subarray(offset, end)),
      });
    expect((await patch(a.url, 0, 100_000)).status).toBe(204);
    const head = await fetch(`${b.url}${location}`, { method: 'HEAD', headers: { ...auth, ...tus } });
    expect(head.headers.get('upload-offset')).toBe('100000');
    expect((await patch(b.url, 100_000, data.length)).status).toBe(204);
    const got = await fetch(`${a.url}/files/alice/tus/resumed.bin`, { headers: auth });
    expect(await sha256Body(got)).toEqual({ sha256: sha256(data), size: data.length });
    expect(await keysUnder(s3, bucket, 'parts/')).toEqual([]);
  });

  it('concurrent uploads of one content through both instances while it is deleted never lose it', async () => {
    const data = randomBytes(200_000);
    const sha = sha256(data);
    for (let round = 0; round < 5; round++) {
      await fetch(`${a.url}/files/alice/race/keep.bin`, { method: 'PUT', headers: auth, body: data });
      // One instance drops the last reference while the other adds a new one.
      await Promise.all([
        fetch(`${a.url}/files/alice/race/keep.bin`, { method: 'DELETE', headers: auth }),
        fetch(`${b.url}/files/alice/race/new-${round}.bin`, { method: 'PUT', headers: auth, body: data }),
      ]);
      const r = await fetch(`${a.url}/files/alice/race/new-${round}.bin`, { headers: auth });
      expect(r.status).toBe(200);
      expect(await sha256Body(r)).toEqual({ sha256: sha, size: data.length });
      await fetch(`${b.url}/files/alice/race/new-${round}.bin`, { method: 'DELETE', headers: auth });
    }
  });
});

describe('CB_STORAGE=s3 when the object store goes away', () => {
  it('answers 503 (retry later) and logs the storage error; the catalog is untouched', async () => {
    const own = await startS3rver('outage');
    Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
    const s = await startTestServer({ storage: 's3', s3Endpoint: own.endpoint, s3Bucket: 'outage', s3Region: own.region });
    try {
      expect((await fetch(`${s.url}/files/alice/a.txt`, { method: 'PUT', headers: s.auth('alice'), body: 'still here' })).status).toBe(201);
      await own.stop();
      const get = await fetch(`${s.url}/files/alice/a.txt`, { headers: s.auth('alice') });
      expect(get.status).toBe(503);
      expect(((await get.json()) as { error: string }).error).toMatch(/retry later/);
      const put = await fetch(`${s.url}/files/alice/b.txt`, { method: 'PUT', headers: s.auth('alice'), body: 'new' });
      expect(put.status).toBe(503);
      expect(s.logs.join('\n')).toMatch(/object storage unavailable/);
      const list = await fetch(`${s.url}/api/files?prefix=alice/`, { headers: s.auth('alice') });
      expect(((await list.json()) as { items: ApiFile[] }).items.map((i) => i.path)).toEqual(['alice/a.txt']);
    } finally {
      await s.stop();
      await own.stop().catch(() => {});
    }
  });
});

describe('CB_STORAGE=s3 start-up checks', () => {
  it('refuses to start with one clear line: no bucket set, bucket missing, credentials refused', async () => {
    const dataDir = await makeDataDir();
    try {
      const base = { storage: 's3' as const, s3Endpoint: s3.endpoint, s3Region: s3.region };
      await expect(startTestServer({ ...base, s3Bucket: '' }, { dataDir })).rejects.toThrow(/needs a bucket: set CB_S3_BUCKET/);
      Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
      await expect(startTestServer({ ...base, s3Bucket: 'no-such-bucket' }, { dataDir })).rejects.toThrow(/bucket "no-such-bucket" at .* does not exist/);
      // (s3rver checks the key id of a HEAD, not its signature.)
      process.env.AWS_ACCESS_KEY_ID = 'NOBODY';
      await expect(startTestServer({ ...base, s3Bucket: s3.bucket }, { dataDir })).rejects.toThrow(/refused our credentials/);
    } finally {
      process.env.AWS_ACCESS_KEY_ID = 'S3RVER';
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
