import { randomBytes } from 'node:crypto';
import { readdir, readlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compressBlob } from '../../storage/hot-cold/form-swap.js';
import { makePolicy } from '../../storage/hot-cold/hot-cold-policy.js';
import { sha256 } from '../helpers/bytes.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { readZip } from '../helpers/zip.js';

let s: TestServer;
const encode = (p: string) => p.split('/').map(encodeURIComponent).join('/');
const get = (path: string, who: 'alice' | 'bob' | 'root' | null = 'alice', init: RequestInit = {}) =>
  fetch(`${s.url}${path}`, { ...init, headers: { ...(who ? s.auth(who) : {}), ...(init.headers as Record<string, string>) }, redirect: 'manual' });

async function put(path: string, body: string | Uint8Array, who: 'alice' | 'bob' = 'alice'): Promise<void> {
  const r = await fetch(`${s.url}/files/${encode(path)}`, { method: 'PUT', headers: s.auth(who), body: typeof body === 'string' ? body : new Uint8Array(body) });
  expect([200, 201]).toContain(r.status);
}

/** File descriptors of this process (the server runs in-process) open on blobs. */
async function openBlobFds(): Promise<string[]> {
  const out: string[] = [];
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(join('/proc/self/fd', fd)).catch(() => '');
    if (target.startsWith(join(s.dataDir, 'blobs'))) out.push(target);
  }
  return out;
}

interface ListingJson {
  dir: string;
  folders: string[];
  files: Array<{ name: string; path: string; size: number }>;
  nextCursor: string | null;
  next: string | null;
  rows: string;
  summary?: string;
}

beforeAll(async () => {
  s = await startTestServer();
  for (let i = 0; i < 450; i++) await put(`alice/big/f${String(i).padStart(3, '0')}.txt`, `file ${i}`);
  await put('alice/big/sub/x.txt', 'x');
  await put('alice/big/Needle-in.txt', 'needle');
  await put('bob/private/secret.txt', 'secret', 'bob');
});
afterAll(async () => {
  await s.stop();
});

describe('listing over HTTP', () => {
  it('pages a 452-entry folder as JSON to the end, each entry once, no-store', async () => {
    const seen: string[] = [];
    let next: string | null = '/browse/alice/big/';
    let pages = 0;
    while (next) {
      const r = await get(`${next}${next.includes('?') ? '&' : '?'}format=json`);
      expect(r.status).toBe(200);
      expect(r.headers.get('cache-control')).toBe('no-store');
      expect(r.headers.get('content-type')).toMatch(/^application\/json/);
      const page = (await r.json()) as ListingJson;
      expect(page.folders.length + page.files.length).toBeLessThanOrEqual(200);
      seen.push(...page.folders.map((f) => `${f}/`), ...page.files.map((f) => f.name));
      next = page.next;
      pages++;
    }
    expect(pages).toBe(3);
    expect(seen).toHaveLength(452);
    expect(new Set(seen).size).toBe(452);
    expect(seen[0]).toBe('sub/');
  });

  it('filters on the server, case-insensitively, with the filter kept in the next links', async () => {
    const page = (await (await get('/browse/alice/big/?format=json&q=NEEDLE')).json()) as ListingJson;
    expect(page.files.map((f) => f.name)).toEqual(['Needle-in.txt']);
    const r = await get('/browse/alice/big/?q=f1&sort=size&order=desc');
    const html = await r.text();
    expect(r.status).toBe(200);
    // f100-f199 (names are zero-padded): one page; the sort links keep the filter.
    expect(html.match(/<tr class="file">/g)).toHaveLength(100);
    expect(html).toContain('href="/browse/alice/big/?sort=size&#38;q=f1"');
  });

  it('sends the header totals separately (they cost a pass over the namespace)', async () => {
    const page = await (await get('/browse/alice/big/')).text();
    expect(page).toContain('data-src="/browse/alice/big/?format=summary"');
    const r = await get('/browse/alice/big/?format=summary');
    expect(r.headers.get('cache-control')).toBe('no-store');
    const { summary } = (await r.json()) as { summary: string };
    expect(summary).toMatch(/<dd>\d+ files<\/dd>/);
    expect((await get('/browse/bob/?format=summary')).status).toBe(403);
  });

  it('answers bad parameters, missing folders and other namespaces with HTML pages', async () => {
    for (const [path, status] of [
      ['/browse/alice/big/?sort=colour', 400],
      ['/browse/alice/big/?order=sideways', 400],
      ['/browse/alice/big/?cursor=garbage', 400],
      [`/browse/alice/big/?q=${'x'.repeat(256)}`, 400],
      ['/browse/alice/nothing-here/', 404],
      ['/browse/bob/private/', 403],
      ['/browse/alice/a%5Cb/', 400],
    ] as const) {
      const r = await get(path);
      expect(r.status, path).toBe(status);
      expect(r.headers.get('content-type'), path).toMatch(/^text\/html/);
      expect(r.headers.get('content-security-policy'), path).toContain("default-src 'none'");
    }
    const j = await get('/browse/alice/nothing-here/?format=json');
    expect(j.status).toBe(404);
    expect(await j.json()).toEqual({ error: 'no folder alice/nothing-here' });
  });

  it('redirects: / to the own namespace, a folder without its slash to one with it', async () => {
    const root = await get('/');
    expect(root.status).toBe(302);
    expect(root.headers.get('location')).toBe('/browse/alice/');
    const slash = await get('/browse/alice/big?q=x');
    expect(slash.status).toBe(301);
    expect(slash.headers.get('location')).toBe('/browse/alice/big/?q=x');
    // An admin sees every namespace at the root.
    const admin = await get('/', 'root');
    expect(admin.status).toBe(200);
    const html = await admin.text();
    expect(html).toContain('href="/browse/alice/"');
    expect(html).toContain('href="/browse/bob/"');
    expect(html).not.toContain('id="upload"');
  });

  it('shows an empty own namespace (so a new client can upload) but 404s an unknown subfolder', async () => {
    const fresh = await startTestServer();
    try {
      const r = await fetch(`${fresh.url}/browse/alice/`, { headers: fresh.auth('alice') });
      expect(r.status).toBe(200);
      const html = await r.text();
      expect(html).toContain('This folder is empty: upload files to start.');
      expect(html).toContain('id="upload-files"');
    } finally {
      await fresh.stop();
    }
  });

  it('shows a cold file with its badge and stored size', async () => {
    const text = 'the same line again and again\n'.repeat(2000);
    await put('alice/cold/log.txt', text);
    const out = await compressBlob(
      { blobs: s.server.blobs, catalog: s.server.catalog, locks: s.server.deps.locks, clock: () => Date.now() + 1000, log: () => {} },
      sha256(text),
      { codec: 'gzip', policy: makePolicy(0) },
    );
    expect(out.kind).toBe('compressed');
    // The admin sees the stored form; alice her file's own heat: just uploaded, so hot.
    const html = await (await get('/browse/alice/cold/', 'root')).text();
    expect(html).toMatch(/<span class="badge cold" title="compressed[^>]*>cold<\/span> \d+ B/);
    expect(await (await get('/browse/alice/cold/')).text()).toMatch(/<span class="badge hot"[^>]*>hot<\/span> [\d.]+ KiB/);
    const zip = await get('/zip/alice/cold/');
    const entries = readZip(Buffer.from(await zip.arrayBuffer()));
    expect(entries.map((e) => [e.name, e.sha256])).toEqual([['log.txt', sha256(text)]]);
  });

  it('signs out with a 401 that carries no challenge; the page assets need no sign-in', async () => {
    const r = await get('/logout');
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBeNull();
    expect(r.headers.get('cache-control')).toBe('no-store');
    const html = await r.text();
    const css = /href="(\/assets\/browse\.css\?v=[0-9a-f]{8})"/.exec(html)?.[1];
    expect(css).toBeDefined();
    for (const path of [css as string, '/assets/browse.js']) {
      const a = await get(path, null);
      expect(a.status, path).toBe(200);
      expect(a.headers.get('x-content-type-options')).toBe('nosniff');
      expect(a.headers.get('cache-control')).toContain('immutable');
    }
    // Without credentials the logout route asks for them like everything else.
    expect((await get('/logout', null)).headers.get('www-authenticate')).toBe('Basic realm="cloud-backup"');
  });
});

describe('folder as .zip', () => {
  it('streams every file below the folder, names relative to it, UTF-8 names flagged', async () => {
    const files: Record<string, Buffer> = {
      'a.bin': randomBytes(70_000),
      'deep/er/b.txt': Buffer.from('b'),
      'empty.txt': Buffer.alloc(0),
      'ünï 日本.txt': Buffer.from('unicode'),
    };
    for (const [name, body] of Object.entries(files)) await put(`alice/zipme/${name}`, body);
    await put('alice/zipme-sibling/not-included.txt', 'no');
    const r = await get('/zip/alice/zipme/');
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('application/zip');
    expect(r.headers.get('content-disposition')).toBe('attachment; filename="zipme.zip"');
    expect(r.headers.get('cache-control')).toBe('no-store');
    const entries = readZip(Buffer.from(await r.arrayBuffer()));
    expect(entries.map((e) => e.name)).toEqual(Object.keys(files));
    for (const e of entries) {
      expect(e.sha256).toBe(sha256(files[e.name] as Buffer));
      expect(e.utf8Flag).toBe(true);
    }
  });

  it('names a Unicode folder with filename*, zips a whole namespace, lets an admin zip others', async () => {
    await put('bob/fötos/p.txt', 'p', 'bob');
    const r = await get(`/zip/${encode('bob/fötos')}/`, 'bob');
    expect(r.headers.get('content-disposition')).toBe(`attachment; filename="f_tos.zip"; filename*=UTF-8''f%C3%B6tos.zip`);
    await r.arrayBuffer();
    const all = await get('/zip/bob/', 'root');
    expect(all.status).toBe(200);
    expect(readZip(Buffer.from(await all.arrayBuffer())).map((e) => e.name)).toEqual(['fötos/p.txt', 'private/secret.txt']);
  });

  it('refuses other namespaces, missing folders and bad paths before streaming', async () => {
    expect((await get('/zip/bob/private/')).status).toBe(403);
    expect((await get('/zip/alice/nope/')).status).toBe(404);
    expect((await get('/zip/alice/a%5Cb/')).status).toBe(400);
    expect((await get('/zip/bob/private/', null)).status).toBe(401);
  });

  it('zips a folder as it was at ?at=, also one that is gone now; names the archive by the moment', async () => {
    await put('alice/past/a.txt', 'a as it was');
    await put('alice/past/gone/b.txt', 'b, deleted since');
    const at = Date.now() + 1;
    await waitFor('the clock to pass the moment', () => Date.now() > at, 5000, 2);
    await put('alice/past/a.txt', 'a, changed since');
    await put('alice/past/added.txt', 'added since');
    expect((await get('/files/alice/past/gone/b.txt', 'alice', { method: 'DELETE' })).status).toBe(204);

    for (const moment of [String(at), new Date(at).toISOString()]) {
      const r = await get(`/zip/alice/past/?at=${encodeURIComponent(moment)}`);
      expect(r.status).toBe(200);
      const stamp = new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '');
      expect(r.headers.get('content-disposition')).toBe(`attachment; filename="past-${stamp}.zip"`);
      const entries = readZip(Buffer.from(await r.arrayBuffer()));
      expect(entries.map((e) => [e.name, e.sha256])).toEqual([
        ['a.txt', sha256('a as it was')],
        ['gone/b.txt', sha256('b, deleted since')],
      ]);
    }
    expect(readZip(Buffer.from(await (await get('/zip/alice/past/')).arrayBuffer())).map((e) => e.name)).toEqual(['a.txt', 'added.txt']);
    // gone/ holds nothing now, but did then.
    expect((await get('/zip/alice/past/gone/')).status).toBe(404);
    const gone = await get(`/zip/alice/past/gone/?at=${at}`);
    expect(readZip(Buffer.from(await gone.arrayBuffer())).map((e) => e.name)).toEqual(['b.txt']);
    expect((await get(`/zip/alice/past/gone/?at=${at}`, 'alice', { method: 'HEAD' })).status).toBe(200);
    // Before anything was there, not a time, another namespace.
    expect((await get('/zip/alice/past/?at=1')).status).toBe(404);
    expect((await get('/zip/alice/past/?at=noon')).status).toBe(400);
    expect((await get(`/zip/bob/private/?at=${at}`)).status).toBe(403);

    // The page of a folder that is gone opens as it was (history.js reads data-at).
    const page = await get(`/browse/alice/past/gone/?at=${encodeURIComponent(new Date(at).toISOString())}`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain(`data-dir="alice/past/gone" data-writable="" data-at="${at}"`);
    expect((await get('/browse/alice/past/gone/')).status).toBe(404);
    const bad = await get('/browse/alice/past/?at=noon');
    expect(bad.status).toBe(400);
    expect(bad.headers.get('content-type')).toContain('text/html');
  });

  it('closes the blob it was reading when the download is cancelled, and opens none for HEAD', async () => {
    await put('alice/huge/a.bin', randomBytes(24 * 1024 * 1024));
    await expect.poll(openBlobFds, { timeout: 10_000, interval: 50 }).toEqual([]);
    const head = await get('/zip/alice/huge/', 'alice', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.headers.get('content-disposition')).toBe('attachment; filename="huge.zip"');
    expect(await openBlobFds()).toEqual([]);
    const ac = new AbortController();
    const r = await get('/zip/alice/huge/', 'alice', { signal: ac.signal });
    const reader = (r.body as ReadableStream<Uint8Array>).getReader();
    let got = 0;
    while (got < 1024 * 1024) got += ((await reader.read()).value as Uint8Array).byteLength;
    expect((await openBlobFds()).length).toBe(1);
    ac.abort();
    await reader.cancel().catch(() => {});
    await expect.poll(openBlobFds, { timeout: 10_000, interval: 50 }).toEqual([]);
  });
});
