import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClient } from '../../adapters/node/tokens.js';
import { sha256 } from '../helpers/bytes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const K = 1024;

interface QuotaBody {
  error: string;
  quota: { namespace: string; usedBytes: number; quotaBytes: number; neededBytes: number; reservedBytes: number };
}

/** Storage quotas over HTTP: PUT, tus, link and restore against a namespace's current + history bytes. */
describe('quotas', () => {
  let s: TestServer;
  let n = 0;

  /** A fresh client (its own namespace) with a quota. */
  async function client(quotaBytes: number | null) {
    const name = `q${++n}`;
    const auth = { Authorization: `Bearer ${await createClient(s.server.catalog, name, false, quotaBytes)}` };
    const url = (path: string) => `${s.url}/files/${name}/${path}`;
    return {
      name,
      auth,
      put: (path: string, body: BodyInit, headers: Record<string, string> = {}) =>
        fetch(url(path), { method: 'PUT', headers: { ...auth, ...headers }, body, duplex: 'half' } as RequestInit),
      get: async (path: string) => {
        const r = await fetch(url(path), { headers: auth });
        return { status: r.status, sha256: r.status === 200 ? sha256(Buffer.from(await r.arrayBuffer())) : undefined };
      },
      stats: async () => (await (await fetch(`${s.url}/api/stats`, { headers: auth })).json()) as { usedBytes: number; quotaBytes: number | null; files: number },
      tusCreate: (path: string, length: number) =>
        fetch(`${s.url}/uploads/`, {
          method: 'POST',
          headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Length': String(length), 'Upload-Metadata': `path ${btoa(`${name}/${path}`)}` },
        }),
      tusPatch: (location: string, offset: number, body: BodyInit) =>
        fetch(new URL(location, `${s.url}/uploads/`), {
          method: 'PATCH',
          headers: { ...auth, 'Tus-Resumable': '1.0.0', 'Upload-Offset': String(offset), 'Content-Type': 'application/offset+octet-stream' },
          body,
        }),
    };
  }

  const expectQuota507 = async (r: Response, want: Partial<QuotaBody['quota']>) => {
    expect(r.status).toBe(507);
    const body = (await r.json()) as QuotaBody;
    expect(body.error).toMatch(/^quota exceeded: /);
    expect(body.quota).toMatchObject(want);
    return body;
  };
  const tmpLeft = async () => (await readdir(join(s.dataDir, 'tmp'))).length;
  const blobCount = async () => ((await (await fetch(`${s.url}/api/stats`, { headers: s.auth('root') })).json()) as { blobs: number }).blobs;

  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('a PUT that would pass the quota is 507 with the numbers; nothing is stored and the old content stays', async () => {
    const c = await client(100 * K);
    const a = randomBytes(60 * K);
    expect((await c.put('a.bin', a)).status).toBe(201);
    const blobs = await blobCount();
    // Declared length: refused before the body is read.
    const body = await expectQuota507(await c.put('b.bin', randomBytes(41 * K)), { namespace: c.name, usedBytes: 60 * K, quotaBytes: 100 * K, neededBytes: 41 * K });
    expect(body.error).toContain('60 KiB');
    // A streamed body (no Content-Length) is refused at the commit; an overwrite leaves the old content.
    const stream = new Blob([randomBytes(41 * K)]).stream();
    await expectQuota507(await c.put('a.bin', stream), { usedBytes: 60 * K, neededBytes: 41 * K });
    expect(await c.get('a.bin')).toEqual({ status: 200, sha256: sha256(a) });
    expect((await c.get('b.bin')).status).toBe(404);
    expect(await blobCount()).toBe(blobs);
    expect(await tmpLeft()).toBe(0);
    // What fits exactly still goes in.
    expect((await c.put('b.bin', randomBytes(40 * K))).status).toBe(201);
    expect(await c.stats()).toMatchObject({ usedBytes: 100 * K, quotaBytes: 100 * K, files: 2 });
  });

  it('history counts: overwriting a file keeps the old version, so the second write of 60 KiB does not fit 100 KiB', async () => {
    const c = await client(100 * K);
    const first = randomBytes(60 * K);
    expect((await c.put('doc.bin', first)).status).toBe(201);
    await expectQuota507(await c.put('doc.bin', randomBytes(60 * K)), { usedBytes: 60 * K, neededBytes: 60 * K });
    expect(await c.get('doc.bin')).toEqual({ status: 200, sha256: sha256(first) });
    // The same content again adds no version, so it is no refusal either.
    expect((await c.put('doc.bin', first)).status).toBe(200);
    expect((await c.stats()).usedBytes).toBe(60 * K);
  });

  it('content another namespace holds counts in full, and link is refused past the quota like a PUT', async () => {
    const c = await client(100 * K);
    const shared = randomBytes(70 * K);
    expect((await s.server.catalog.getClient('alice'))?.quotaBytes).toBeNull();
    expect((await fetch(`${s.url}/files/alice/shared.bin`, { method: 'PUT', headers: s.auth('alice'), body: shared })).status).toBe(201);
    expect((await c.put('mine.bin', shared)).status).toBe(201);
    expect((await c.stats()).usedBytes).toBe(70 * K);
    const link = await fetch(`${s.url}/api/link`, {
      method: 'POST',
      headers: { ...c.auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: `${c.name}/copy.bin`, sha256: sha256(shared), mtime: null }),
    });
    await expectQuota507(link, { usedBytes: 70 * K, neededBytes: 70 * K });
    expect((await c.get('copy.bin')).status).toBe(404);
  });

  it('tus: a creation whose Upload-Length would pass the quota is refused, open uploads count, and the commit checks again', async () => {
    const c = await client(100 * K);
    await expectQuota507(await c.tusCreate('big.bin', 101 * K), { usedBytes: 0, neededBytes: 101 * K, reservedBytes: 0 });
    const open = await c.tusCreate('half.bin', 60 * K);
    expect(open.status).toBe(201);
    const location = open.headers.get('location') as string;
    // The open upload reserves its 60 KiB: a second one of 50 KiB does not fit beside it.
    await expectQuota507(await c.tusCreate('other.bin', 50 * K), { usedBytes: 0, neededBytes: 50 * K, reservedBytes: 60 * K });
    // A PUT takes the room meanwhile (PUTs do not wait for open uploads): the upload's last byte is then refused.
    expect((await c.put('put.bin', randomBytes(50 * K))).status).toBe(201);
    const data = randomBytes(60 * K);
    await expectQuota507(await c.tusPatch(location, 0, data), { usedBytes: 50 * K, neededBytes: 60 * K });
    expect((await c.get('half.bin')).status).toBe(404);
    expect(await c.stats()).toMatchObject({ usedBytes: 50 * K, files: 1 });
  });

  it('set-quota raises the limit and the refused upload then works; no quota means no limit', async () => {
    const c = await client(10 * K);
    const data = randomBytes(20 * K);
    await expectQuota507(await c.put('x.bin', data), { quotaBytes: 10 * K });
    expect(await s.server.catalog.setQuota(c.name, 30 * K)).toBe(true);
    expect((await c.put('x.bin', data)).status).toBe(201);
    const created = await c.tusCreate('y.bin', 10 * K);
    expect(created.status).toBe(201);
    expect((await c.tusPatch(created.headers.get('location') as string, 0, randomBytes(10 * K))).status).toBe(204);
    expect(await c.stats()).toMatchObject({ usedBytes: 30 * K, quotaBytes: 30 * K });
    expect(await s.server.catalog.setQuota(c.name, null)).toBe(true);
    expect((await c.put('z.bin', randomBytes(50 * K))).status).toBe(201);
    expect(await c.stats()).toMatchObject({ usedBytes: 80 * K, quotaBytes: null });
  });

  it('a restore is exempt (it brings back what the history holds), and the listing header shows used of quota', async () => {
    const c = await client(100 * K);
    const old = randomBytes(50 * K);
    expect((await c.put('r.bin', old)).status).toBe(201);
    expect((await c.put('r.bin', randomBytes(50 * K))).status).toBe(200);
    const versions = (await (await fetch(`${s.url}/api/versions?path=${c.name}/r.bin`, { headers: c.auth })).json()) as { items: { version: string }[] };
    const restore = await fetch(`${s.url}/api/restore`, {
      method: 'POST',
      headers: { ...c.auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ path: `${c.name}/r.bin`, version: versions.items[1]?.version }),
    });
    expect(restore.status).toBe(200);
    expect(await c.get('r.bin')).toEqual({ status: 200, sha256: sha256(old) });
    expect((await c.stats()).usedBytes).toBe(150 * K);
    await expectQuota507(await c.put('more.bin', 'x'), { usedBytes: 150 * K, neededBytes: 1 });
    // The listing page's header (its totals arrive from ?format=summary).
    const { summary } = (await (await fetch(`${s.url}/browse/${c.name}/?format=summary`, { headers: c.auth })).json()) as { summary: string };
    expect(summary).toMatch(/<dt>Quota<\/dt><dd title="current files and history: 153,600 of 102,400 bytes">150 KiB of 100 KiB \(150%\)<\/dd>/);
  });

  it('concurrent PUTs: of four 60 KiB files under 100 KiB exactly one is stored', async () => {
    const c = await client(100 * K);
    const results = await Promise.all([1, 2, 3, 4].map((i) => c.put(`p${i}.bin`, new Blob([randomBytes(60 * K)]).stream())));
    expect(results.map((r) => r.status).sort()).toEqual([201, 507, 507, 507]);
    expect(await c.stats()).toMatchObject({ usedBytes: 60 * K, files: 1 });
    expect(await tmpLeft()).toBe(0);
  });
});
