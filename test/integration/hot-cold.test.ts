import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256Body, writeRandomFile, writeTextFile } from '../helpers/bytes.js';
import { fileSlice, putFile } from '../helpers/hot-cold.js';
import { waitFor } from '../helpers/wait.js';
import { parseByteranges } from '../helpers/multipart.js';
import type { ApiFile } from '../helpers/api-types.js';
import { makeDataDir, startTestServer, type TestServer } from '../helpers/server.js';
import { apiFor } from '../helpers/api.js';
import { purgeHistory } from '../helpers/history.js';

const MB = 1024 * 1024;


describe('hot/cold with hot time 1s and a sweep every 500ms', () => {
  let s: TestServer;
  let scratch: string;
  const text = { path: 'alice/logs/app.log', file: '', sha: '', etag: '' };
  const random = { path: 'alice/media/noise.bin', file: '', sha: '' };
  const tiny = { path: 'alice/notes/todo.txt', data: 'buy milk\n'.repeat(100) };

  // The admin sees the stored form; alice sees her files' own heat (handlers/files/file-view.ts).
  const entry = async (path: string): Promise<ApiFile> => {
    const r = await fetch(`${s.url}/api/files?prefix=${encodeURIComponent(path)}`, { headers: s.auth('root') });
    const item = ((await r.json()) as { items: ApiFile[] }).items.find((i) => i.path === path);
    if (!item) throw new Error(`${path} not listed`);
    return item;
  };
  const waitState = (path: string, state: 'hot' | 'cold') => waitFor(`${path} ${state}`, async () => (await entry(path)).state === state);
  /**
   * Cold and staying so: a read schedules a promotion on the sweeper's queue before its answer
   * starts, so once the queue is idle no earlier read can flip the file back to hot under a test.
   * The catalog names the cold form before the swap deletes the plain one (form-swap.ts), so a
   * listing can say cold while the plain form is still there: wait for the swap's end too.
   */
  const cold = async (path = text.path) => {
    await s.server.sweeper.queue.onIdle();
    await waitState(path, 'cold');
    await waitFor(`the swap of ${path} finished`, async () => (await s.server.blobs.forms.unfinishedSwaps()).length === 0);
  };
  const plainPath = (sha: string) => join(s.dataDir, 'blobs', sha.slice(0, 2), sha.slice(2, 4), sha);

  beforeAll(async () => {
    scratch = await makeDataDir();
    s = await startTestServer({ hotTimeMs: 1000, sweepIntervalMs: 500 });
    text.file = join(scratch, 'app.log');
    text.sha = await writeTextFile(text.file, 10 * MB);
    random.file = join(scratch, 'noise.bin');
    random.sha = await writeRandomFile(random.file, 10 * MB);
    const t = await putFile(s.url, text.path, text.file, s.auth('alice'));
    expect(t.status).toBe(201);
    text.etag = t.headers.get('etag') ?? '';
    expect((await putFile(s.url, random.path, random.file, s.auth('alice'))).status).toBe(201);
    expect((await fetch(`${s.url}/files/${tiny.path}`, { method: 'PUT', headers: s.auth('alice'), body: tiny.data })).status).toBe(201);
  });
  afterAll(async () => {
    await s?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('turns a compressible 10 MB text file cold: stored under 30%, plain form gone', async () => {
    await cold();
    const e = await entry(text.path);
    expect(e.size).toBe(10 * MB);
    expect(e.storedSize).toBeGreaterThan(0);
    expect(e.storedSize).toBeLessThan(0.3 * e.size);
    expect(existsSync(plainPath(text.sha))).toBe(false);
    expect((await stat(`${plainPath(text.sha)}.gz`)).size).toBe(e.storedSize);
    // One line per sweep, written once the sweep's last job (maybe the random file) is done.
    const line = /^sweep: compressed [1-9]\d* file\(s\) \(.* saved .*\), \d+ incompressible, \d+ skipped, \d+ failed, in \d+ ms$/;
    await waitFor('sweep log line', () => s.logs.some((l) => line.test(l)));
  });

  it('keeps a 10 MB random file plain and marks it incompressible', async () => {
    await waitFor('random blob marked incompressible', async () => (await s.server.catalog.getBlob(random.sha))?.incompressible === true);
    const e = await entry(random.path);
    expect(e.state).toBe('hot');
    expect(e.storedSize).toBe(10 * MB);
    expect((await stat(plainPath(random.sha))).size).toBe(10 * MB);
    expect(existsSync(`${plainPath(random.sha)}.gz`)).toBe(false);
    // Never tried again: no compressed temporary object for it turns up in later sweeps.
    // Two whole sweeps after the marking (the first may be the one that marked it): neither looks at it.
    await s.server.sweeper.sweepOnce();
    for (let i = 0; i < 2; i++) expect(await s.server.sweeper.sweepOnce()).toMatchObject({ incompressible: 0, failed: 0 });
    expect((await readdir(join(s.dataDir, 'tmp'))).filter((n) => n.endsWith('.gz'))).toEqual([]);
    expect((await s.server.catalog.getBlob(random.sha))?.state).toBe('hot');
  });

  it('leaves a tiny file alone', async () => {
    await cold();
    const b = await s.server.catalog.getBlob(sha256(tiny.data));
    expect(b).toMatchObject({ state: 'hot', incompressible: false });
  });

  it('reports logical vs stored bytes in /api/stats', async () => {
    await cold();
    await waitFor('random incompressible', async () => (await s.server.catalog.getBlob(random.sha))?.incompressible === true);
    const stats = (await (await fetch(`${s.url}/api/stats`, { headers: s.auth('root') })).json()) as { blobBytes: number; storedBytes: number; savedBytes: number; hot: number; cold: number };
    const blobs = [await s.server.catalog.getBlob(text.sha), await s.server.catalog.getBlob(random.sha), await s.server.catalog.getBlob(sha256(tiny.data))];
    // The text file may be promoted again by a read in another test; compare against the rows as they are.
    const stored = blobs.reduce((n, b) => n + (b?.storedSize ?? 0), 0);
    const plain = blobs.reduce((n, b) => n + (b?.size ?? 0), 0);
    expect(stats.blobBytes).toBe(plain);
    expect(stats.storedBytes).toBe(stored);
    expect(stats.savedBytes).toBe(plain - stored);
    expect(stats.cold + stats.hot).toBe(3);
  });

  it('serves full and ranged GETs of the cold file exactly, with the ETag it had when hot', async () => {
    await cold();
    const full = await apiFor(s).get(text.path);
    expect(full.status).toBe(200);
    expect(full.headers.get('etag')).toBe(text.etag);
    expect(full.headers.get('content-length')).toBe(String(10 * MB));
    expect(await sha256Body(full)).toEqual({ sha256: text.sha, size: 10 * MB });

    for (const [start, end] of [
      [0, 0],
      [5 * MB + 17, 5 * MB + 5000],
      [10 * MB - 100, 10 * MB - 1],
    ] as const) {
      await cold();
      const r = await apiFor(s).get(text.path, { Range: `bytes=${start}-${end}` });
      expect(r.status).toBe(206);
      expect(r.headers.get('content-range')).toBe(`bytes ${start}-${end}/${10 * MB}`);
      expect(r.headers.get('etag')).toBe(text.etag);
      expect(Buffer.from(await r.arrayBuffer()).equals(await fileSlice(text.file, start, end))).toBe(true);
    }

    await cold();
    const multi = await apiFor(s).get(text.path, { Range: 'bytes=10-19,3000000-3000099' });
    expect(multi.status).toBe(206);
    const parts = parseByteranges(Buffer.from(await multi.arrayBuffer()), multi.headers.get('content-type') ?? '');
    expect(parts.map((p) => p.range)).toEqual([`bytes 10-19/${10 * MB}`, `bytes 3000000-3000099/${10 * MB}`]);
    expect(parts[0]?.data.equals(await fileSlice(text.file, 10, 19))).toBe(true);
    expect(parts[1]?.data.equals(await fileSlice(text.file, 3000000, 3000099))).toBe(true);
  });

  it('makes the file hot again after a read', async () => {
    await cold();
    expect((await sha256Body(await apiFor(s).get(text.path))).sha256).toBe(text.sha);
    await waitFor('promoted: catalog hot and plain form back', async () => {
      const e = await entry(text.path);
      return e.state === 'hot' && existsSync(plainPath(text.sha));
    });
    const e = await entry(text.path);
    expect(e.storedSize).toBe(10 * MB);
  });

  it('serves two concurrent GETs of one cold file exactly', async () => {
    await cold();
    const [a, b] = await Promise.all([apiFor(s).get(text.path), apiFor(s).get(text.path)]);
    const [ha, hb] = await Promise.all([sha256Body(a), sha256Body(b)]);
    expect(ha).toEqual({ sha256: text.sha, size: 10 * MB });
    expect(hb).toEqual({ sha256: text.sha, size: 10 * MB });
  });

  it('shows state and stored size in the HTML listing', async () => {
    await cold();
    const html = await (await fetch(`${s.url}/browse/alice/logs/`, { headers: s.auth('root') })).text();
    expect(html).toMatch(/badge cold" title="compressed/);
    expect(html).toContain('app.log');
  });

  it('stores the same content uploaded again while cold once, and frees every form with the last version', async () => {
    await cold();
    const copy = 'alice/copies/app-copy.log';
    const r = await putFile(s.url, copy, text.file, s.auth('alice'));
    expect(r.status).toBe(201);
    // Alice is shown her new file (just written: hot); the store kept the cold form.
    expect(((await r.json()) as ApiFile).state).toBe('hot');
    expect((await entry(copy)).state).toBe('cold');
    expect(existsSync(plainPath(text.sha))).toBe(false);
    expect((await fetch(`${s.url}/files/${text.path}`, { method: 'DELETE', headers: s.auth('alice') })).status).toBe(204);
    await cold(copy);
    expect((await fetch(`${s.url}/files/${copy}`, { method: 'DELETE', headers: s.auth('alice') })).status).toBe(204);
    // Deleted, the content stays in the history (still cold); purging the history frees every form.
    expect(existsSync(`${plainPath(text.sha)}.gz`)).toBe(true);
    await purgeHistory(s.server, text.path);
    await purgeHistory(s.server, copy);
    expect(existsSync(plainPath(text.sha))).toBe(false);
    expect(existsSync(`${plainPath(text.sha)}.gz`)).toBe(false);
    expect(await s.server.catalog.getBlob(text.sha)).toBeUndefined();
  });

  it('logged no failed compression or promotion on the way', () => {
    expect(s.logs.filter((l) => /failed|error/i.test(l) && !/ 0 failed/.test(l))).toEqual([]);
    expect(s.logs.some((l) => /^sweep: compressed/.test(l))).toBe(true);
  });
});
