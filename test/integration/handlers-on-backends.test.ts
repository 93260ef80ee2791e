import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../adapters/node/config.js';
import { contentDigest, sha256, sha256Body } from '../helpers/bytes.js';
import { parseByteranges } from '../helpers/multipart.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startS3rver, type TestS3 } from '../helpers/s3rver.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { apiFor } from '../helpers/api.js';
import { purgeHistory } from '../helpers/history.js';

/**
 * The HTTP surface over every storage combination the node adapter can run on. Storage is
 * checked through the BlobStore interface only (has, cleanupTemp), so the same assertions hold
 * for disk and S3; the disk-specific details stay in files.test.ts and friends.
 */
type Backend = 'disk + SQLite' | 'S3 + SQLite' | 'S3 + PostgreSQL';
const pgMissing = postgresUnavailable();
const backends: Backend[] = ['disk + SQLite', 'S3 + SQLite', ...(pgMissing ? [] : (['S3 + PostgreSQL'] as const))];

let s3: TestS3;
let pg: TestPostgres | undefined;
let buckets = 0;
beforeAll(async () => {
  s3 = await startS3rver();
  if (!pgMissing) pg = await startPostgres();
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
});
afterAll(async () => {
  await pg?.stop();
  await s3?.stop();
});

async function overridesFor(backend: Backend): Promise<Partial<ServerConfig>> {
  if (backend === 'disk + SQLite') return {};
  const bucket = `handlers-${++buckets}`;
  await s3.createBucket(bucket);
  const s3Config: Partial<ServerConfig> = { storage: 's3', s3Endpoint: s3.endpoint, s3Bucket: bucket, s3Region: s3.region };
  if (backend === 'S3 + SQLite') return s3Config;
  return { ...s3Config, databaseUrl: await (pg as TestPostgres).createDatabase() };
}

describe.each(backends)('handlers on %s', (backend) => {
  let s: TestServer;
  const data = randomBytes(300_000);
  const sha = sha256(data);

  beforeAll(async () => {
    s = await startTestServer(await overridesFor(backend));
  });
  afterAll(async () => {
    await s?.stop();
  });

  it('PUT stores, GET and HEAD serve it with validators; a replacement answers 200', async () => {
    const created = await apiFor(s).put('alice/docs/data.bin', data, { 'Content-Digest': contentDigest(data), 'X-File-Mtime': '1700000000000' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ path: 'alice/docs/data.bin', size: data.length, sha256: sha, mtime: 1700000000000, state: 'hot' });
    expect(await s.server.blobs.has(sha)).toBe(true);
    const r = await apiFor(s).get('alice/docs/data.bin');
    expect(r.headers.get('etag')).toBe(`"${sha}"`);
    expect(r.headers.get('accept-ranges')).toBe('bytes');
    expect(await sha256Body(r)).toEqual({ sha256: sha, size: data.length });
    const head = await fetch(`${s.url}/files/alice/docs/data.bin`, { method: 'HEAD', headers: s.auth('alice') });
    expect(head.headers.get('content-length')).toBe(String(data.length));
    expect((await apiFor(s).get('alice/docs/data.bin', { 'If-None-Match': `"${sha}"` })).status).toBe(304);
    expect((await apiFor(s).put('alice/docs/data.bin', data)).status).toBe(200);
  });

  it('single and multiple ranges, and 416 past the end', async () => {
    const one = await apiFor(s).get('alice/docs/data.bin', { Range: 'bytes=100000-100099' });
    expect(one.status).toBe(206);
    expect(Buffer.from(await one.arrayBuffer())).toEqual(data.subarray(100000, 100100));
    const tail = await apiFor(s).get('alice/docs/data.bin', { Range: 'bytes=-10' });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(data.subarray(data.length - 10));
    const multi = await apiFor(s).get('alice/docs/data.bin', { Range: 'bytes=0-0,299990-' });
    expect(multi.status).toBe(206);
    const parts = parseByteranges(Buffer.from(await multi.arrayBuffer()), multi.headers.get('content-type') ?? '');
    expect(parts.map((p) => p.data)).toEqual([data.subarray(0, 1), data.subarray(299990)]);
    const past = await apiFor(s).get('alice/docs/data.bin', { Range: `bytes=${data.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${data.length}`);
  });

  it('a digest mismatch stores nothing and leaves nothing temporary', async () => {
    const other = randomBytes(50_000);
    const mismatch = await apiFor(s).put('alice/bad/digest.bin', other, { 'Content-Digest': contentDigest('something else') });
    expect(mismatch.status).toBe(400);
    expect(await s.server.blobs.has(sha256(other))).toBe(false);
    expect((await apiFor(s).get('alice/bad/digest.bin')).status).toBe(404);
    // Nothing temporary was left behind by any of it.
    expect(await s.server.blobs.cleanupTemp()).toBe(0);
  });

  it('the same content under another path is stored once; deleting both frees it', async () => {
    expect((await apiFor(s).put('alice/copy/data.bin', data)).status).toBe(201);
    const stats = (await (await fetch(`${s.url}/api/stats`, { headers: s.auth('alice') })).json()) as { files: number; blobs: number };
    expect(stats).toMatchObject({ files: 2, blobs: 1 });
    const link = await fetch(`${s.url}/api/link`, {
      method: 'POST',
      headers: { ...s.auth('alice'), 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: 'alice/linked.bin', sha256: sha, mtime: 1 }),
    });
    expect(link.status).toBe(201);
    for (const p of ['alice/docs/data.bin', 'alice/copy/data.bin']) {
      expect((await fetch(`${s.url}/files/${p}`, { method: 'DELETE', headers: s.auth('alice') })).status).toBe(204);
    }
    expect(await s.server.blobs.has(sha)).toBe(true);
    expect((await fetch(`${s.url}/files/alice/linked.bin`, { method: 'DELETE', headers: s.auth('alice') })).status).toBe(204);
    // Deleted files stay in the history; purging it frees the bytes.
    expect(await s.server.blobs.has(sha)).toBe(true);
    for (const p of ['alice/docs/data.bin', 'alice/copy/data.bin', 'alice/linked.bin']) await purgeHistory(s.server, p);
    expect(await s.server.blobs.has(sha)).toBe(false);
  });

  it('listing, browse page and namespaces: bob cannot read alice', async () => {
    expect((await apiFor(s).put('alice/list/b.txt', 'b')).status).toBe(201);
    expect((await apiFor(s).put('alice/list/a.txt', 'a')).status).toBe(201);
    const list = (await (await fetch(`${s.url}/api/files?prefix=alice/list/`, { headers: s.auth('alice') })).json()) as { items: { path: string }[] };
    expect(list.items.map((i) => i.path)).toEqual(['alice/list/a.txt', 'alice/list/b.txt']);
    const page = await fetch(`${s.url}/browse/alice/list/`, { headers: s.auth('alice') });
    expect(await page.text()).toContain('a.txt');
    expect((await fetch(`${s.url}/files/alice/list/a.txt`, { headers: s.auth('bob') })).status).toBe(403);
  });

  it('a resumable (tus) upload in two PATCHes ends up as a verified file; its parts are gone', async () => {
    const body = randomBytes(120_000);
    const tus = { 'Tus-Resumable': '1.0.0' };
    const meta = `path ${Buffer.from('alice/tus/t.bin').toString('base64')},sha256 ${Buffer.from(sha256(body)).toString('base64')}`;
    const created = await fetch(`${s.url}/uploads/`, { method: 'POST', headers: { ...s.auth('alice'), ...tus, 'Upload-Length': String(body.length), 'Upload-Metadata': meta } });
    expect(created.status).toBe(201);
    const at = new URL(created.headers.get('location') ?? '', `${s.url}/uploads/`).toString();
    const id = at.slice(at.lastIndexOf('/') + 1);
    for (const [from, to] of [
      [0, 70_000],
      [70_000, body.length],
    ] as const) {
      const r = await fetch(at, {
        method: 'PATCH',
        headers: { ...s.auth('alice'), ...tus, 'Upload-Offset': String(from), 'Content-Type': 'application/offset+octet-stream' },
        body: Buffer.from(body.subarray(from, to)),
      });
      expect(r.status).toBe(204);
      expect(r.headers.get('upload-offset')).toBe(String(to));
    }
    expect(await sha256Body(await apiFor(s).get('alice/tus/t.bin'))).toEqual({ sha256: sha256(body), size: body.length });
    await expect(s.server.blobs.parts.size(id)).rejects.toThrow();
  });

  it('POST /api/batch stores small files in one request (one catalog transaction); a bad entry is refused alone', async () => {
    const files = [randomBytes(4096), randomBytes(10), data.subarray(0, 1000)];
    const frames = files.flatMap((f, i) => [Buffer.from(`${JSON.stringify({ path: `alice/batch/f${i}`, size: f.length, mtime: i, sha256: i === 1 ? sha256('x') : sha256(f) })}\n`), f]);
    const r = await fetch(`${s.url}/api/batch`, { method: 'POST', headers: { ...s.auth('alice'), 'Content-Type': 'application/vnd.cloud-backup.batch' }, body: new Uint8Array(Buffer.concat(frames)) });
    expect(r.status).toBe(200);
    expect(((await r.json()) as { results: { status: number }[] }).results.map((x) => x.status)).toEqual([201, 400, 201]);
    for (const i of [0, 2]) expect((await sha256Body(await apiFor(s).get(`alice/batch/f${i}`))).sha256).toBe(sha256(files[i] as Buffer));
    expect((await apiFor(s).get('alice/batch/f1')).status).toBe(404);
  });
});
