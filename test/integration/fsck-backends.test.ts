/**
 * fsck on shared storage (issue 12.4): blobs on S3 (s3rver) with the catalog in SQLite or
 * PostgreSQL. Faults are planted straight into the bucket and the database, as a bad disk, an
 * operator or a crash would leave them; fsck finds each, --repair fixes it through the same
 * interfaces, and the server serves every good file afterwards.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { DeleteObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ServerConfig } from '../../adapters/node/config.js';
import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { S3BlobStore } from '../../storage/blobs/s3/s3-blob-store.js';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { fsckCli, kinds } from '../helpers/fsck.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { startS3rver, type TestS3 } from '../helpers/s3rver.js';
import { makeDataDir, startTestServer } from '../helpers/server.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { catalogFile } from '../../adapters/node/server.js';

type Backend = 'S3 + SQLite' | 'S3 + PostgreSQL';
const pgMissing = postgresUnavailable();
const backends: Backend[] = ['S3 + SQLite', ...(pgMissing ? [] : (['S3 + PostgreSQL'] as const))];

let s3: TestS3;
let pg: TestPostgres | undefined;
const dirs: string[] = [];
beforeAll(async () => {
  s3 = await startS3rver();
  if (!pgMissing) pg = await startPostgres();
  Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' });
});
afterAll(async () => {
  await pg?.stop();
  await s3?.stop();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe.each(backends)('admin fsck on %s', (backend) => {
  it('finds a missing, a corrupt and an orphan object, a row without bytes and leftovers; --repair fixes them', async () => {
    const bucket = `fsck-${backend === 'S3 + SQLite' ? 'sqlite' : 'pg'}`;
    await s3.createBucket(bucket);
    const databaseUrl = backend === 'S3 + PostgreSQL' ? await (pg as TestPostgres).createDatabase() : '';
    const overrides: Partial<ServerConfig> = { storage: 's3', s3Endpoint: s3.endpoint, s3Bucket: bucket, s3Region: s3.region, databaseUrl };
    const env = { ...s3.env(bucket), ...(databaseUrl ? { CB_DATABASE_URL: databaseUrl } : {}) };
    const dataDir = await makeDataDir();
    dirs.push(dataDir);

    const good = { 'alice/keep/a.txt': Buffer.from('aaa'), 'alice/keep/b.bin': randomBytes(300_000) };
    const gone = Buffer.from('this content will vanish');
    const corrupt = randomBytes(64 * 1024);
    const s = await startTestServer(overrides, { dataDir, keepData: true });
    for (const [path, body] of [...Object.entries(good), ['alice/lost/gone.txt', gone], ['alice/bad/corrupt.bin', corrupt]] as [string, Buffer][]) {
      expect((await fetch(`${s.url}/files/${path}`, { method: 'PUT', headers: s.auth('alice'), body: new Uint8Array(body) })).status).toBe(201);
    }
    await s.stop();

    const clean = await fsckCli(dataDir, [], { env });
    expect(clean.findings).toEqual([]);
    expect(clean.code).toBe(0);

    // Damage, straight into the bucket and the catalog.
    const put = (key: string, body: Uint8Array | string) => s3.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }));
    await s3.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: `blobs/${sha256(gone)}` }));
    const rotten = Buffer.from(corrupt);
    rotten[100] = (rotten[100] as number) ^ 0xff;
    await put(`blobs/${sha256(corrupt)}`, rotten);
    const orphan = Buffer.from('an orphan object');
    await put(`blobs/${sha256(orphan)}`, orphan);
    await put('blobs/notes.txt', 'stray');
    await put('tmp/half-upload', 'partial');
    await put('parts/nobodys-part/.created', '');
    const unref = Buffer.from('a row whose file is gone');
    await put(`blobs/${sha256(unref)}`, unref);
    const noBytes = 'ab'.repeat(32);
    const catalog = databaseUrl ? await PgCatalog.open({ url: databaseUrl }) : new SqliteCatalog({ file: catalogFile(dataDir) });
    try {
      for (const [sha, size] of [[sha256(unref), unref.length], [noBytes, 10]] as const) {
        await catalog.driver.run(sql`insert into blobs (sha256, size, state, stored_size, last_access, created_at) values (${sha}, ${size}, 'hot', ${size}, 0, 0)`);
      }
      // The folder index and a usage count drift (the checks of the shared query layer).
      await catalog.driver.run(sql`insert into dirs (path, parent, name) values ('alice/empty', 'alice', 'empty')`);
      await catalog.driver.run(sql`delete from dirs where path = 'alice/keep'`);
      await catalog.driver.run(sql`update clients set used_bytes = used_bytes + 5 where name = 'bob'`);
    } finally {
      await catalog.close();
    }

    const check = await fsckCli(dataDir, [], { env, cli: true });
    expect(check.code).toBe(1);
    expect(kinds(check)).toEqual(
      [
        'corrupt-blob',
        'missing-blob',
        'missing-blob',
        'missing-dir',
        'orphan-blob',
        'orphan-part',
        'stale-dir',
        'stray-file',
        'temp-leftover',
        'unreferenced-blob',
        'unreferenced-blob',
        'usage-drift',
      ].sort(),
    );
    expect(check.summary).toMatchObject({ errors: 4, warnings: 8, repaired: 0, remaining: 12 });
    expect(check.findings.find((f) => f.kind === 'corrupt-blob')?.message).toContain(`blobs/${sha256(corrupt)}`);

    const repair = await fsckCli(dataDir, ['--repair'], { env });
    expect(repair.summary).toMatchObject({ repaired: 12, remaining: 0 });
    expect(repair.code).toBe(0);
    expect(repair.lost.map((l) => l.path).sort()).toEqual(['alice/bad/corrupt.bin', 'alice/lost/gone.txt']);
    const after = await fsckCli(dataDir, [], { env });
    expect(after.findings).toEqual([]);
    expect(after.code).toBe(0);

    // Corrupt and unknown bytes are moved aside, never deleted; the rest is gone.
    const store = new S3BlobStore({ client: s3.client, bucket });
    const names = async (area: 'quarantine' | 'tmp' | 'parts') => {
      const out: string[] = [];
      for await (const e of store.inventory.list(area)) out.push(e.location);
      return out;
    };
    expect((await names('quarantine')).map((k) => k.replace(/^quarantine\/\d+-/, '')).sort()).toEqual([sha256(corrupt), 'notes.txt'].sort());
    expect(await names('tmp')).toEqual([]);
    expect(await names('parts')).toEqual([]);
    expect(await store.has(sha256(orphan))).toBe(false);
    expect(await store.has(sha256(unref))).toBe(false);

    const s2 = await startTestServer(overrides, { dataDir, keepData: true });
    try {
      for (const [path, body] of Object.entries(good)) {
        const r = await fetch(`${s2.url}/files/${path}`, { headers: s2.auth('alice') });
        expect(await sha256Body(r)).toEqual({ sha256: sha256(body), size: body.length });
      }
      for (const path of repair.lost.map((l) => l.path)) {
        expect((await fetch(`${s2.url}/files/${path}`, { headers: s2.auth('alice') })).status).toBe(404);
      }
      expect(await s2.server.catalog.dirExists('alice/keep')).toBe(true);
      expect(await s2.server.catalog.dirExists('alice/empty')).toBe(false);
      expect((await s2.server.catalog.quotaUsage('bob')).usedBytes).toBe(0);
    } finally {
      await s2.stop();
    }
  });

  it.runIf(backend === 'S3 + PostgreSQL')('refuses --repair while a server on another machine uses the PostgreSQL catalog, but checks', async () => {
    const bucket = 'fsck-live';
    await s3.createBucket(bucket);
    const databaseUrl = await (pg as TestPostgres).createDatabase();
    const overrides: Partial<ServerConfig> = { storage: 's3', s3Endpoint: s3.endpoint, s3Bucket: bucket, s3Region: s3.region, databaseUrl };
    const env = { ...s3.env(bucket), CB_DATABASE_URL: databaseUrl };
    // fsck runs from its own data dir: the server's server.pid is not there to see.
    const [serverDir, adminDir] = [await makeDataDir(), await makeDataDir()];
    dirs.push(serverDir, adminDir);
    const s = await startTestServer(overrides, { dataDir: serverDir, keepData: true });
    try {
      expect((await fetch(`${s.url}/files/alice/a.txt`, { method: 'PUT', headers: s.auth('alice'), body: 'a' })).status).toBe(201);
      const refused = await fsckCli(adminDir, ['--repair'], { env });
      expect(refused.code).toBe(2);
      expect(refused.stdout).toMatch(/1 server\(s\) use the PostgreSQL catalog .*: stop them before --repair/);
      const check = await fsckCli(adminDir, [], { env });
      expect(check.findings).toEqual([]);
      expect(check.code).toBe(0);
    } finally {
      await s.stop();
    }
    // Once it stops its lock is gone and a repair may run.
    expect((await fsckCli(adminDir, ['--repair'], { env })).code).toBe(0);
  });
});
