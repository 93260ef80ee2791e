import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ApiFile } from '../helpers/api-types.js';
import { sha256 } from '../helpers/bytes.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const HOT_MS = 1000;

/**
 * Content is stored once for every namespace (issue 14.3): bob uploading what alice holds, and
 * alice reading it, must show bob nothing of alice's reads, neither in his PUT answer nor in his
 * listings, totals or download headers.
 */
describe('what one namespace sees of another reading the same content', () => {
  let s: TestServer;
  const body = Buffer.from('the same report, line after line, compresses well\n'.repeat(2000));
  const sha = sha256(body);

  const put = async (who: 'alice' | 'bob', path: string) => {
    const r = await fetch(`${s.url}/files/${path}`, { method: 'PUT', headers: s.auth(who), body });
    expect(r.status).toBe(201);
    return (await r.json()) as ApiFile & { uploadedAt: number };
  };
  const item = async (who: 'alice' | 'bob' | 'root', path: string): Promise<ApiFile> => {
    const r = await fetch(`${s.url}/api/files?prefix=${encodeURIComponent(path)}`, { headers: s.auth(who) });
    const found = ((await r.json()) as { items: ApiFile[] }).items.find((i) => i.path === path);
    if (!found) throw new Error(`${path} not listed for ${who}`);
    return found;
  };
  /** Everything bob is shown about his copy, but the Date header. */
  const bobsView = async () => {
    const head = await fetch(`${s.url}/files/bob/docs/report.txt`, { method: 'HEAD', headers: s.auth('bob') });
    const headers = Object.fromEntries([...head.headers].filter(([k]) => k !== 'date'));
    const page = await fetch(`${s.url}/browse/bob/docs/?format=json`, { headers: s.auth('bob') });
    const listing = (await page.json()) as { files: unknown[]; rows: string };
    const summary = await fetch(`${s.url}/browse/bob/docs/?format=summary`, { headers: s.auth('bob') });
    const stats = await fetch(`${s.url}/api/stats`, { headers: s.auth('bob') });
    return { api: await item('bob', 'bob/docs/report.txt'), headers, files: listing.files, rows: listing.rows, summary: await summary.json(), stats: await stats.json() };
  };
  const readByAlice = async () => {
    const r = await fetch(`${s.url}/files/alice/docs/report.txt`, { headers: s.auth('alice') });
    expect(sha256(Buffer.from(await r.arrayBuffer()))).toBe(sha);
  };

  beforeAll(async () => {
    // Sweeps run when the test says (sweepOnce), not on a timer.
    s = await startTestServer({ hotTimeMs: HOT_MS, sweepIntervalMs: 3_600_000 });
  });
  afterAll(async () => {
    await s?.stop();
  });

  it("bob's PUT, listings, totals and HEAD show his own file, never alice's reads", async () => {
    const alices = await put('alice', 'alice/docs/report.txt');
    await waitFor('the hot time to pass since alice uploaded', () => Date.now() - alices.uploadedAt > HOT_MS);
    expect((await s.server.sweeper.sweepOnce()).compressed).toBe(1);
    expect((await s.server.catalog.getBlob(sha))?.state).toBe('cold');

    // A fresh upload: hot, its own size, last accessed when bob wrote it (not when alice did).
    const bobs = await put('bob', 'bob/docs/report.txt');
    expect(bobs).toMatchObject({ state: 'hot', storedSize: body.length, lastAccess: bobs.uploadedAt });

    await waitFor('the hot time to pass since bob uploaded', () => Date.now() - bobs.uploadedAt > HOT_MS);
    const before = await bobsView();
    expect(before.api).toMatchObject({ state: 'cold', storedSize: body.length, lastAccess: bobs.uploadedAt });

    await readByAlice();
    await s.server.reads.flush();
    await s.server.sweeper.queue.onIdle();
    // The read promoted the shared blob: the admin sees the stored form, each file its own reads.
    expect((await s.server.catalog.getBlob(sha))?.state).toBe('hot');
    const alicesNow = await item('alice', 'alice/docs/report.txt');
    expect(alicesNow.lastAccess).toBeGreaterThan(alices.uploadedAt);
    expect(await item('root', 'bob/docs/report.txt')).toMatchObject({ state: 'hot', lastAccess: bobs.uploadedAt });

    expect(await bobsView()).toEqual(before);
  });

  it("bob's own download moves his last access, not alice's", async () => {
    const alicesBefore = (await item('alice', 'alice/docs/report.txt')).lastAccess;
    const asked = Date.now();
    const r = await fetch(`${s.url}/files/bob/docs/report.txt`, { headers: s.auth('bob') });
    expect(sha256(Buffer.from(await r.arrayBuffer()))).toBe(sha);
    await s.server.reads.flush();
    const bobs = await item('bob', 'bob/docs/report.txt');
    expect(bobs.lastAccess).toBeGreaterThanOrEqual(asked);
    expect(bobs.state).toBe('hot');
    expect((await item('alice', 'alice/docs/report.txt')).lastAccess).toBe(alicesBefore);
  });
});
