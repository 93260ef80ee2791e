import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { contentDigest, sha256, sha256Body } from '../helpers/bytes.js';
import { parseByteranges } from '../helpers/multipart.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { apiFor, type Who } from '../helpers/api.js';
import { purgeHistory } from '../helpers/history.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ maxUploadBytes: 64 * 1024 * 1024 });
});
afterAll(async () => {
  await s.stop();
});

const put = (path: string, body: BodyInit | null, headers: Record<string, string> = {}, who: Who = 'alice') => apiFor(s, who).put(path, body, headers);
const get = (path: string, headers: Record<string, string> = {}, who: Who = 'alice', method: 'GET' | 'HEAD' = 'GET') => apiFor(s, who).get(path, headers, method);

async function listDir(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) if (e.isFile()) out.push(join(e.parentPath, e.name));
  return out;
}

describe('round trips', () => {
  it.each([
    ['empty', 0],
    ['one byte', 1],
    ['5 MB', 5 * 1024 * 1024],
  ])('%s', async (label, size) => {
    const data = randomBytes(size);
    const path = `alice/round/${label.replace(' ', '-')}.bin`;
    const r = await put(path, data, { 'X-File-Mtime': '1700000000123', 'Content-Digest': contentDigest(data) });
    expect(r.status).toBe(201);
    const meta = await r.json();
    expect(meta).toMatchObject({ path, size, sha256: sha256(data), mtime: 1700000000123, state: 'hot' });
    const g = await get(path);
    expect(g.status).toBe(200);
    expect(g.headers.get('content-length')).toBe(String(size));
    expect(g.headers.get('etag')).toBe(`"${sha256(data)}"`);
    expect(await sha256Body(g)).toEqual({ sha256: sha256(data), size });
  });

  it('replaces a file with 200 and serves the new content', async () => {
    const path = 'alice/round/replace.txt';
    expect((await put(path, 'one')).status).toBe(201);
    const r = await put(path, 'two!');
    expect(r.status).toBe(200);
    expect(await (await get(path)).text()).toBe('two!');
  });

  it('stores the same content once (content-addressed); deletes keep it in the history, purging the last reference frees it', async () => {
    const data = randomBytes(4096);
    const blobPath = join(s.dataDir, 'blobs', sha256(data).slice(0, 2), sha256(data).slice(2, 4), sha256(data));
    await put('alice/dedup/a.bin', data);
    await put('alice/dedup/b.bin', data);
    await put('bob/dedup/c.bin', data, {}, 'bob');
    const blobs = (await listDir(join(s.dataDir, 'blobs'))).filter((p) => p.includes(sha256(data)));
    expect(blobs).toEqual([blobPath]);
    for (const [p, who] of [['alice/dedup/a.bin', 'alice'], ['alice/dedup/b.bin', 'alice']] as const) {
      expect((await fetch(`${s.url}/files/${p}`, { method: 'DELETE', headers: s.auth(who) })).status).toBe(204);
    }
    expect(await listDir(join(s.dataDir, 'blobs'))).toContain(blobPath);
    expect((await fetch(`${s.url}/files/bob/dedup/c.bin`, { method: 'DELETE', headers: s.auth('bob') })).status).toBe(204);
    expect(await listDir(join(s.dataDir, 'blobs'))).toContain(blobPath);
    await purgeHistory(s.server, 'alice/dedup/');
    expect(await listDir(join(s.dataDir, 'blobs'))).toContain(blobPath);
    await purgeHistory(s.server, 'bob/dedup/');
    expect(await listDir(join(s.dataDir, 'blobs'))).not.toContain(blobPath);
    expect((await get('alice/dedup/a.bin')).status).toBe(404);
    expect((await fetch(`${s.url}/files/alice/dedup/a.bin`, { method: 'DELETE', headers: s.auth('alice') })).status).toBe(404);
  });

  it('refuses a Content-Digest mismatch with 400 and stores nothing', async () => {
    const r = await put('alice/bad-digest.txt', 'hello', { 'Content-Digest': contentDigest('other') });
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(/digest/);
    expect((await get('alice/bad-digest.txt')).status).toBe(404);
    expect(await listDir(join(s.dataDir, 'tmp'))).toEqual([]);
    const stored = await listDir(join(s.dataDir, 'blobs'));
    expect(stored.some((p) => p.endsWith(sha256('hello')))).toBe(false);
  });

  it('refuses uploads over the maximum size with 413, declared or streamed', async () => {
    const big = 64 * 1024 * 1024 + 1;
    const declared = await rawRequest(
      s.url,
      `PUT /files/alice/too-big.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.alice}\r\nContent-Length: ${big}\r\n\r\n`,
    );
    expect(declared.status).toBe(413);
    let sent = 0;
    const streamed = await fetch(`${s.url}/files/alice/too-big.bin`, {
      method: 'PUT',
      headers: s.auth('alice'),
      body: new ReadableStream({
        pull(c) {
          if (sent >= big) return c.close();
          const n = Math.min(1 << 20, big - sent);
          sent += n;
          c.enqueue(new Uint8Array(n));
        },
      }),
      duplex: 'half',
    } as RequestInit).catch(() => undefined);
    if (streamed) expect(streamed.status).toBe(413);
    expect((await get('alice/too-big.bin')).status).toBe(404);
    expect(await listDir(join(s.dataDir, 'tmp'))).toEqual([]);
  });

  it('refuses a bad X-File-Mtime with 400', async () => {
    expect((await put('alice/mtime.txt', 'x', { 'X-File-Mtime': 'yesterday' })).status).toBe(400);
  });

  it('never lets concurrent overwrites of one path produce a torn or mixed file', async () => {
    const bodies = Array.from({ length: 8 }, () => randomBytes(1024 * 1024));
    const results = await Promise.all(bodies.map((b) => put('alice/race.bin', b)));
    for (const r of results) expect([200, 201]).toContain(r.status);
    const g = await get('alice/race.bin');
    const got = await sha256Body(g);
    expect(bodies.map((b) => sha256(b))).toContain(got.sha256);
    expect(g.headers.get('etag')).toBe(`"${got.sha256}"`);
    // Every body is a whole version; the current one is the newest.
    const left = (await listDir(join(s.dataDir, 'blobs'))).filter((p) => bodies.some((b) => p.endsWith(sha256(b))));
    expect(left).toHaveLength(8);
    const history = (await (await fetch(`${s.url}/api/versions?path=alice/race.bin`, { headers: s.auth('alice') })).json()) as { items: { sha256: string }[] };
    expect(history.items.map((v) => v.sha256).sort()).toEqual(bodies.map((b) => sha256(b)).sort());
    expect(history.items[0]?.sha256).toBe(got.sha256);
  });
});

describe('downloads per RFC 9110', () => {
  const data = randomBytes(10_000);
  const path = 'alice/dl/data.bin';
  let etag = '';
  let lastModified = '';
  beforeAll(async () => {
    await put(path, data);
    const h = await get(path, {}, 'alice', 'HEAD');
    etag = h.headers.get('etag') ?? '';
    lastModified = h.headers.get('last-modified') ?? '';
  });

  it('HEAD answers the GET headers without a body', async () => {
    const h = await get(path, {}, 'alice', 'HEAD');
    expect(h.status).toBe(200);
    expect(h.headers.get('accept-ranges')).toBe('bytes');
    expect(h.headers.get('content-length')).toBe('10000');
    expect(etag).toBe(`"${sha256(data)}"`);
    expect(new Date(lastModified).getTime()).toBeGreaterThan(0);
    expect(h.headers.get('content-type')).toBe('application/octet-stream');
    expect(await h.text()).toBe('');
  });

  it.each([
    ['bytes=0-499', 0, 499],
    ['bytes=-500', 9500, 9999],
    ['bytes=9500-', 9500, 9999],
    ['bytes=9990-20000', 9990, 9999],
    ['bytes=0-0', 0, 0],
  ])('single range %s', async (range, start, end) => {
    const r = await get(path, { Range: range });
    expect(r.status).toBe(206);
    expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/10000`);
    expect(r.headers.get('content-length')).toBe(String(end - start + 1));
    expect(Buffer.from(await r.arrayBuffer()).equals(data.subarray(start, end + 1))).toBe(true);
  });

  it('several ranges come back as multipart/byteranges', async () => {
    const r = await get(path, { Range: 'bytes=0-99,5000-5099,-10' });
    expect(r.status).toBe(206);
    const type = r.headers.get('content-type') ?? '';
    expect(type).toMatch(/^multipart\/byteranges; boundary=/);
    const body = Buffer.from(await r.arrayBuffer());
    expect(r.headers.get('content-length')).toBe(String(body.byteLength));
    const parts = parseByteranges(body, type);
    expect(parts.map((p) => p.range)).toEqual(['bytes 0-99/10000', 'bytes 5000-5099/10000', 'bytes 9990-9999/10000']);
    expect(parts[0]?.data.equals(data.subarray(0, 100))).toBe(true);
    expect(parts[1]?.data.equals(data.subarray(5000, 5100))).toBe(true);
    expect(parts[2]?.data.equals(data.subarray(9990))).toBe(true);
  });

  it('416 with Content-Range bytes */LEN when nothing is satisfiable', async () => {
    const r = await get(path, { Range: 'bytes=10000-' });
    expect(r.status).toBe(416);
    expect(r.headers.get('content-range')).toBe('bytes */10000');
  });

  it('ignores a malformed Range and sends the whole file', async () => {
    const r = await get(path, { Range: 'bytes=500-100' });
    expect(r.status).toBe(200);
    expect((await r.arrayBuffer()).byteLength).toBe(10000);
  });

  it('If-Range with the current ETag or date gives the range, a stale one the whole file with 200', async () => {
    const ok = await get(path, { Range: 'bytes=0-9', 'If-Range': etag });
    expect(ok.status).toBe(206);
    const byDate = await get(path, { Range: 'bytes=0-9', 'If-Range': lastModified });
    expect(byDate.status).toBe(206);
    const stale = await get(path, { Range: 'bytes=0-9', 'If-Range': '"0000"' });
    expect(stale.status).toBe(200);
    expect(stale.headers.get('content-range')).toBeNull();
    expect((await stale.arrayBuffer()).byteLength).toBe(10000);
    const oldDate = await get(path, { Range: 'bytes=0-9', 'If-Range': new Date(0).toUTCString() });
    expect(oldDate.status).toBe(200);
  });

  it('If-None-Match and If-Modified-Since give 304', async () => {
    const a = await get(path, { 'If-None-Match': etag });
    expect(a.status).toBe(304);
    expect(a.headers.get('etag')).toBe(etag);
    expect((await get(path, { 'If-None-Match': '"nope"' })).status).toBe(200);
    expect((await get(path, { 'If-Modified-Since': lastModified })).status).toBe(304);
    expect((await get(path, { 'If-Modified-Since': new Date(0).toUTCString() })).status).toBe(200);
    expect((await get(path, { 'If-Match': '"nope"' })).status).toBe(412);
  });

  it('names non-ASCII downloads with an RFC 6266 filename*', async () => {
    await put('alice/dl/%E4%B8%AD%E6%96%87%20%E6%8A%A5%E5%91%8A.pdf', 'pdf');
    const r = await get('alice/dl/%E4%B8%AD%E6%96%87%20%E6%8A%A5%E5%91%8A.pdf');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/pdf');
    expect(r.headers.get('content-disposition')).toBe(
      `attachment; filename="__ __.pdf"; filename*=UTF-8''%E4%B8%AD%E6%96%87%20%E6%8A%A5%E5%91%8A.pdf`,
    );
  });
});

describe('auth and namespaces', () => {
  beforeAll(async () => {
    await put('alice/private.txt', 'secret');
  });

  it('401 with a Basic challenge without or with wrong credentials', async () => {
    const attempts: Record<string, string>[] = [
      {},
      { Authorization: 'Bearer nope' },
      { Authorization: `Bearer ${s.tokens.alice}x` },
      { Authorization: `Basic ${btoa(`bob:${s.tokens.alice}`)}` },
      { Authorization: `Basic ${btoa('alice:wrong')}` },
      { Authorization: 'Basic !!!' },
    ];
    for (const headers of attempts) {
      const r = await fetch(`${s.url}/files/alice/private.txt`, { headers });
      expect(r.status).toBe(401);
      expect(r.headers.get('www-authenticate')).toBe('Basic realm="cloud-backup"');
    }
  });

  it('Basic auth with name and token works like Bearer', async () => {
    const r = await fetch(`${s.url}/files/alice/private.txt`, { headers: { Authorization: `Basic ${btoa(`alice:${s.tokens.alice}`)}` } });
    expect(await r.text()).toBe('secret');
  });

  it('another namespace is 403 for reading, writing, deleting and listing', async () => {
    expect((await get('alice/private.txt', {}, 'bob')).status).toBe(403);
    expect((await put('alice/evil.txt', 'x', {}, 'bob')).status).toBe(403);
    expect((await fetch(`${s.url}/files/alice/private.txt`, { method: 'DELETE', headers: s.auth('bob') })).status).toBe(403);
    expect((await fetch(`${s.url}/api/files?prefix=alice/`, { headers: s.auth('bob') })).status).toBe(403);
    expect((await fetch(`${s.url}/browse/alice/`, { headers: s.auth('bob') })).status).toBe(403);
    expect(await (await get('alice/private.txt')).text()).toBe('secret');
  });

  it('an admin reads every namespace but writes only its own', async () => {
    expect(await (await get('alice/private.txt', {}, 'root')).text()).toBe('secret');
    expect((await put('alice/by-root.txt', 'x', {}, 'root')).status).toBe(403);
    const list = await (await fetch(`${s.url}/api/files?prefix=alice/`, { headers: s.auth('root') })).json();
    expect(list.items.map((i: { path: string }) => i.path)).toContain('alice/private.txt');
  });

  it('whoami tells a client its namespace', async () => {
    expect(await (await fetch(`${s.url}/api/whoami`, { headers: s.auth('root') })).json()).toEqual({ name: 'root', admin: true });
  });
});

describe('paths over HTTP', () => {
  it.each([
    'alice/a%00b',
    'alice/%2e%2e%2fbob%2fx',
    'alice/..%2fbob',
    'alice/a%5Cb',
    'alice//x',
    'alice/C:',
    'alice/%ff',
    `alice/${'a'.repeat(300)}`,
  ])('PUT %s is 400 and stores nothing', async (p) => {
    const r = await put(p, 'x');
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(/bad path/);
  });
});

describe('names as sent (issue 14.4)', () => {
  const rawPut = (target: string, body: string) =>
    rawRequest(
      s.url,
      `PUT ${target} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.alice}\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );

  it.each(['/files/alice/d/../x.txt', '/files/alice/d/%2e%2e/x.txt', '/files/alice/d/%2E./x.txt', '/files/alice/./x.txt', '/files/alice/%2e/x.txt'])(
    'PUT %s (raw, not resolved by URL parsing) is 400 and stores nothing',
    async (target) => {
      const r = await rawPut(target, 'dot');
      expect(r.status).toBe(400);
      expect(r.raw).toMatch(/bad path/);
      expect((await get('alice/x.txt')).status).toBe(404);
    },
  );

  it('a leading U+FEFF is part of the name: two files, not one', async () => {
    expect((await put('alice/bom/a.txt', 'plain')).status).toBe(201);
    expect((await put('alice/bom/%EF%BB%BFa.txt', 'with bom')).status).toBe(201);
    expect(await (await get('alice/bom/a.txt')).text()).toBe('plain');
    expect(await (await get('alice/bom/%EF%BB%BFa.txt')).text()).toBe('with bom');
    const list = await (await fetch(`${s.url}/api/files?prefix=alice/bom/`, { headers: s.auth('alice') })).json();
    expect(list.items.map((i: { path: string }) => i.path).sort()).toEqual(['alice/bom/a.txt', 'alice/bom/\ufeffa.txt']);
  });

  it('a:b.txt is a legal name; a C: folder at the start of the path is not', async () => {
    expect((await put('alice/a:b.txt', 'colon')).status).toBe(201);
    expect(await (await get('alice/a%3Ab.txt')).text()).toBe('colon');
    expect((await put('alice/C:/x.txt', 'drive')).status).toBe(400);
  });
});

describe('listing API', () => {
  it('pages with a cursor and keeps to the prefix', async () => {
    for (let i = 0; i < 25; i++) await put(`bob/many/f${String(i).padStart(2, '0')}.txt`, `n${i}`, {}, 'bob');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `${s.url}/api/files?prefix=${encodeURIComponent('bob/many/')}&limit=10${cursor ? `&cursor=${cursor}` : ''}`;
      const r = await fetch(q, { headers: s.auth('bob') });
      expect(r.headers.get('cache-control')).toBe('no-store');
      const page = (await r.json()) as { items: { path: string; sha256: string }[]; nextCursor: string | null };
      expect(page.items.length).toBeLessThanOrEqual(10);
      seen.push(...page.items.map((i) => i.path));
      cursor = page.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(25);
    expect(seen[0]).toBe('bob/many/f00.txt');
    expect(new Set(seen).size).toBe(25);
    const bad = await fetch(`${s.url}/api/files?cursor=%%%`, { headers: s.auth('bob') });
    expect(bad.status).toBe(400);
  });

  it('stats count files and bytes per namespace', async () => {
    const st = await (await fetch(`${s.url}/api/stats`, { headers: s.auth('bob') })).json();
    expect(st.scope).toBe('bob');
    expect(st.files).toBeGreaterThanOrEqual(25);
    expect(st).toHaveProperty('storedBytes');
  });
});
