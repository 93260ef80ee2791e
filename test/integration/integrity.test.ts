import { existsSync } from 'node:fs';
import { readdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiFile } from '../helpers/api-types.js';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { apiFor } from '../helpers/api.js';

// Issue 14 item 1: corrupt blobs are never served as good, and the next upload repairs them.
describe('integrity: corrupt blobs are not served silently and heal on the next upload', () => {
  let s: TestServer;
  // Compression only when a test sweeps by hand (hot time 1 ms, no timed sweeps).
  beforeAll(async () => {
    s = await startTestServer({ hotTimeMs: 1, sweepIntervalMs: 3_600_000 });
  });
  afterAll(async () => {
    await s?.stop();
  });

  const text = (n: number, seed: string) => Buffer.from(Array.from({ length: n }, (_, i) => `${seed} line ${i} of a backed-up text file\n`).join(''));
  const formPath = (sha: string, suffix = '') => join(s.dataDir, 'blobs', sha.slice(0, 2), sha.slice(2, 4), sha + suffix);
  // The admin sees the stored form; alice sees her files' own heat (handlers/files/file-view.ts).
  const entry = async (path: string): Promise<ApiFile> => {
    const item = (await apiFor(s, 'root').files(path)).items.find((i) => i.path === path);
    if (!item) throw new Error(`${path} not listed`);
    return item;
  };
  const flipByte = async (file: string) => {
    const bytes = await readFile(file);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0xff;
    await writeFile(file, bytes);
  };
  const quarantined = async (name: string) => (await readdir(join(s.dataDir, 'quarantine')).catch(() => [] as string[])).some((n) => n.endsWith(`-${name}`));

  /** A full GET of damaged content: a broken transfer, never a clean 200 with the bytes. */
  async function expectBrokenDownload(path: string, size: number): Promise<void> {
    const res = await apiFor(s).get(path);
    if (res.status === 200) {
      expect(res.headers.get('content-length')).toBe(String(size));
      await expect(res.arrayBuffer()).rejects.toThrow();
    } else {
      expect(res.status).toBeGreaterThanOrEqual(500);
      await res.body?.cancel();
    }
  }

  it('hot: a flipped byte aborts the download, the blob is quarantined and logged, a re-upload repairs it', async () => {
    const body = text(9000, 'hot');
    const sha = sha256(body);
    expect((await apiFor(s).put('alice/docs/report.txt', body)).status).toBe(201);
    await flipByte(formPath(sha));

    await expectBrokenDownload('alice/docs/report.txt', body.length);
    await waitFor('the plain form quarantined', () => quarantined(sha));
    expect(existsSync(formPath(sha))).toBe(false);
    expect(s.logs.some((l) => l.includes('integrity:') && l.includes(sha) && l.includes('does not match'))).toBe(true);

    // Same content again (another name, another client: dedup must not trust the broken copy).
    const again = await fetch(`${s.url}/files/bob/copy.txt`, { method: 'PUT', headers: s.auth('bob'), body: new Uint8Array(body) });
    expect(again.status).toBe(201);
    const res = await apiFor(s).get('alice/docs/report.txt');
    expect(res.status).toBe(200);
    expect(await sha256Body(res)).toEqual({ sha256: sha, size: body.length });
    expect(sha256(await readFile(formPath(sha)))).toBe(sha);
  });

  it('hot: a damaged small blob that was never read is replaced by the next upload of its content', async () => {
    const body = text(5000, 'unread');
    const sha = sha256(body);
    expect((await apiFor(s).put('alice/a/one.txt', body)).status).toBe(201);
    await flipByte(formPath(sha));
    expect((await apiFor(s).put('alice/a/two.txt', body)).status).toBe(201);
    expect(s.logs.some((l) => l.includes(`blob ${sha}`) && l.includes('replaced by the uploaded bytes'))).toBe(true);
    for (const p of ['alice/a/one.txt', 'alice/a/two.txt']) expect(await sha256Body(await apiFor(s).get(p))).toEqual({ sha256: sha, size: body.length });
    expect(await quarantined(sha)).toBe(true);
  });

  it('hot: a truncated large blob fails the size check on commit and is replaced', async () => {
    const body = text(60_000, 'large');
    expect(body.length).toBeGreaterThan(2 * 1024 * 1024);
    const sha = sha256(body);
    expect((await apiFor(s).put('alice/big/log.txt', body)).status).toBe(201);
    await truncate(formPath(sha), body.length - 1000);
    expect((await apiFor(s).put('alice/big/log.txt', body)).status).toBe(200);
    expect(await sha256Body(await apiFor(s).get('alice/big/log.txt'))).toEqual({ sha256: sha, size: body.length });
  });

  it('cold: a flipped byte in the compressed form aborts the download; the re-upload stores it plain and the catalog says hot', async () => {
    const body = text(40_000, 'cold');
    const sha = sha256(body);
    expect((await apiFor(s).put('alice/cold/data.csv', body)).status).toBe(201);
    await s.server.sweeper.sweepOnce();
    expect((await entry('alice/cold/data.csv')).state).toBe('cold');
    await flipByte(formPath(sha, '.gz'));

    await expectBrokenDownload('alice/cold/data.csv', body.length);
    await waitFor('the gzip form quarantined', () => quarantined(`${sha}.gz`));
    await s.server.sweeper.queue.onIdle();

    expect((await apiFor(s).put('alice/cold/data.csv', body)).status).toBe(200);
    const e = await entry('alice/cold/data.csv');
    expect(e).toMatchObject({ state: 'hot', storedSize: body.length });
    expect(await s.server.blobs.forms.list(sha)).toEqual([{ state: 'hot', codec: null, storedSize: body.length }]);
    expect(await sha256Body(await apiFor(s).get('alice/cold/data.csv'))).toEqual({ sha256: sha, size: body.length });
  });

  it('intact files download exactly, hot and cold', async () => {
    const body = text(30_000, 'intact');
    const sha = sha256(body);
    expect((await apiFor(s).put('alice/ok/a.txt', body)).status).toBe(201);
    expect(await sha256Body(await apiFor(s).get('alice/ok/a.txt'))).toEqual({ sha256: sha, size: body.length });
    await s.server.sweeper.sweepOnce();
    expect((await entry('alice/ok/a.txt')).state).toBe('cold');
    expect(await sha256Body(await apiFor(s).get('alice/ok/a.txt'))).toEqual({ sha256: sha, size: body.length });
  });
});
