import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { releaseBlob } from '../../core/commit.js';
import { Pruner } from '../../storage/history/pruner.js';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import type { HistoryFileJson, VersionJson } from '../../shared/wire.js';

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer();
});
afterAll(async () => {
  await s.stop();
});

type Who = 'alice' | 'bob' | 'root';
/** The wire contract's shapes: a file of a listing (with deletedAt in ?deleted=true) and a version. */
type Item = Omit<HistoryFileJson, 'size'>;
type Version = VersionJson;

const put = async (path: string, body: string, mtime = 1_700_000_000_000, who: Who = 'alice') => {
  const r = await fetch(`${s.url}/files/${path}`, { method: 'PUT', body, headers: { ...s.auth(who), 'X-File-Mtime': String(mtime) } });
  expect(r.status).toBeLessThan(300);
  return (await r.json()) as Item;
};
const del = (path: string, who: Who = 'alice') => fetch(`${s.url}/files/${path}`, { method: 'DELETE', headers: s.auth(who) });
const api = (route: string, who: Who = 'alice') => fetch(`${s.url}/api/${route}`, { headers: s.auth(who) });
const json = async <T>(route: string, who: Who = 'alice'): Promise<T> => {
  const r = await api(route, who);
  expect(r.status, await r.clone().text()).toBe(200);
  return (await r.json()) as T;
};
const versions = (path: string) => json<{ path: string; items: Version[]; nextCursor: string | null }>(`versions?path=${encodeURIComponent(path)}`);
const listAt = async (prefix: string, at?: number | string) =>
  (await json<{ items: Item[] }>(`files?prefix=${encodeURIComponent(prefix)}${at === undefined ? '' : `&at=${encodeURIComponent(String(at))}`}&limit=1000`)).items;
const restore = (body: unknown, who: Who = 'alice', type = 'application/json') =>
  fetch(`${s.url}/api/restore`, { method: 'POST', body: JSON.stringify(body), headers: { ...s.auth(who), 'Content-Type': type } });
/** The next write gets a later server time than `t` (versions a moment apart). */
async function after(t: number): Promise<number> {
  while (Date.now() <= t) await new Promise((r) => setTimeout(r, 2));
  return t;
}

describe('versions of a path', () => {
  it('PUTs and DELETE add versions, newest first; any version downloads with full RFC 9110 semantics', async () => {
    const path = 'alice/h/report.txt';
    const v1 = await put(path, 'first version of the report', 1000);
    await after(v1.uploadedAt);
    const v2 = await put(path, 'second, longer version of the report', 2000);
    await after(v2.uploadedAt);
    expect((await del(path)).status).toBe(204);
    expect((await fetch(`${s.url}/files/${path}`, { headers: s.auth('alice') })).status).toBe(404);

    const list = await versions(path);
    expect(list.path).toBe(path);
    expect(list.items.map((v) => [v.sha256, v.deleted])).toEqual([
      [null, true],
      [sha256('second, longer version of the report'), false],
      [sha256('first version of the report'), false],
    ]);
    expect(list.items[2]).toMatchObject({ version: v1.version, size: 27, mtime: 1000, uploadedAt: v1.uploadedAt });

    const old = await fetch(`${s.url}/files/${path}?version=${v1.version}`, { headers: s.auth('alice') });
    expect(old.status).toBe(200);
    expect(old.headers.get('etag')).toBe(`"${sha256('first version of the report')}"`);
    expect(await sha256Body(old)).toEqual({ sha256: sha256('first version of the report'), size: 27 });
    const ranged = await fetch(`${s.url}/files/${path}?version=${v1.version}`, { headers: { ...s.auth('alice'), Range: 'bytes=6-12' } });
    expect(ranged.status).toBe(206);
    expect(ranged.headers.get('content-range')).toBe('bytes 6-12/27');
    expect(await ranged.text()).toBe('version');
    const notModified = await fetch(`${s.url}/files/${path}?version=${v2.version}`, { headers: { ...s.auth('alice'), 'If-None-Match': `"${v2.sha256}"` } });
    expect(notModified.status).toBe(304);
    const head = await fetch(`${s.url}/files/${path}?version=${v2.version}`, { method: 'HEAD', headers: s.auth('alice') });
    expect(head.headers.get('content-length')).toBe('36');

    // A deletion, an unknown id, another path's version: 404.
    for (const v of [list.items[0]?.version, '999999999', 'abc']) {
      expect((await fetch(`${s.url}/files/${path}?version=${v}`, { headers: s.auth('alice') })).status).toBe(404);
    }
    expect((await fetch(`${s.url}/files/alice/h/other.txt?version=${v1.version}`, { headers: s.auth('alice') })).status).toBe(404);
  });

  it('pages newest first with an opaque cursor; no path is a 400; another namespace is a 403', async () => {
    const path = 'alice/h/paged.txt';
    let last = 0;
    for (let i = 0; i < 5; i++) last = (await put(path, `content ${i}`, 1000 + i)).uploadedAt;
    await after(last);
    const first = await json<{ items: Version[]; nextCursor: string }>(`versions?path=${path}&limit=2`);
    expect(first.items.map((v) => v.mtime)).toEqual([1004, 1003]);
    const rest = await json<{ items: Version[]; nextCursor: string | null }>(`versions?path=${path}&limit=10&cursor=${first.nextCursor}`);
    expect(rest.items.map((v) => v.mtime)).toEqual([1002, 1001, 1000]);
    expect(rest.nextCursor).toBeNull();
    expect((await api('versions')).status).toBe(400);
    expect((await api(`versions?path=${path}&cursor=zz`)).status).toBe(400);
    expect((await api(`versions?path=${path}`, 'bob')).status).toBe(403);
    expect((await api(`versions?path=${path}`, 'root')).status).toBe(200);
    expect((await fetch(`${s.url}/files/${path}?version=${first.items[1]?.version}`, { headers: s.auth('bob') })).status).toBe(403);
  });

  it('the same content and mtime again adds no version', async () => {
    const path = 'alice/h/same.txt';
    await put(path, 'same', 5);
    await put(path, 'same', 5);
    expect((await versions(path)).items).toHaveLength(1);
    await put(path, 'same', 6);
    expect((await versions(path)).items).toHaveLength(2);
  });
});

describe('the tree at a time, the trash, restore', () => {
  it('?at= shows each path as it was (ms or ISO 8601); not a time is a 400', async () => {
    const a1 = await put('alice/t/a.txt', 'a one');
    await put('alice/t/b.txt', 'b one');
    const t1 = await after(Math.max(a1.uploadedAt, Date.now()));
    await put('alice/t/a.txt', 'a two');
    await del('alice/t/b.txt');
    await put('alice/t/c.txt', 'c one');
    const then = await listAt('alice/t/', t1);
    expect(then.map((i) => [i.path, i.sha256])).toEqual([
      ['alice/t/a.txt', sha256('a one')],
      ['alice/t/b.txt', sha256('b one')],
    ]);
    expect(then[0]?.version).toBe(a1.version);
    expect((await listAt('alice/t/', new Date(t1).toISOString())).map((i) => i.path)).toEqual(['alice/t/a.txt', 'alice/t/b.txt']);
    // A time without a zone is UTC, whatever the server's zone (Node reads TZ when it changes).
    const zone = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata';
    try {
      expect((await listAt('alice/t/', new Date(t1).toISOString().slice(0, -1))).map((i) => i.path)).toEqual(['alice/t/a.txt', 'alice/t/b.txt']);
    } finally {
      if (zone === undefined) delete process.env.TZ;
      else process.env.TZ = zone;
    }
    expect((await listAt('alice/t/')).map((i) => i.path)).toEqual(['alice/t/a.txt', 'alice/t/c.txt']);
    expect(await listAt('alice/t/', 0)).toEqual([]);
    for (const bad of ['yesterday', '2026-13-45', '-5', '']) expect((await api(`files?prefix=alice/t/&at=${bad}`)).status).toBe(400);
    expect((await api(`files?prefix=alice/t/&at=${t1}`, 'bob')).status).toBe(403);
  });

  it('?deleted=true is the trash; restoring a version brings the file back as a new version', async () => {
    const gone = await put('alice/trash/gone.txt', 'deleted content', 4242);
    await after(gone.uploadedAt);
    expect((await del('alice/trash/gone.txt')).status).toBe(204);
    const trash = (await json<{ items: Item[] }>('files?prefix=alice/trash/&deleted=true')).items;
    expect(trash).toHaveLength(1);
    expect(trash[0]).toMatchObject({ path: 'alice/trash/gone.txt', sha256: sha256('deleted content'), mtime: 4242, version: gone.version });
    expect(trash[0]?.deletedAt).toBeGreaterThanOrEqual(gone.uploadedAt);
    expect((await api('files?prefix=alice/&deleted=true&at=5')).status).toBe(400);

    expect((await restore({ path: 'alice/trash/gone.txt', version: gone.version }, 'bob')).status).toBe(403);
    expect((await restore({ path: 'alice/trash/gone.txt', version: gone.version }, 'alice', 'text/plain')).status).toBe(415);
    expect((await restore({ path: 'alice/trash/gone.txt', version: '12345678' })).status).toBe(404);
    expect((await restore({ path: 'alice/trash/gone.txt' })).status).toBe(400);
    const r = await restore({ path: 'alice/trash/gone.txt', version: gone.version });
    expect(r.status).toBe(201);
    const back = await fetch(`${s.url}/files/alice/trash/gone.txt`, { headers: s.auth('alice') });
    expect(await back.text()).toBe('deleted content');
    expect((await json<{ items: Item[] }>('files?prefix=alice/trash/&deleted=true')).items).toEqual([]);
    const history = await versions('alice/trash/gone.txt');
    expect(history.items.map((v) => v.deleted)).toEqual([false, true, false]);
    expect(history.items[0]?.mtime).toBe(4242);
  });

  it('rolls a folder back to a moment (changed, deleted and created paths), and the rollback can be undone', async () => {
    await put('alice/roll/keep.txt', 'keep', 1);
    await put('alice/roll/change.txt', 'before', 2);
    await put('alice/roll/sub/remove.txt', 'will be deleted', 3);
    const before = await after(Date.now());
    await put('alice/roll/change.txt', 'ENCRYPTED garbage', 20);
    await del('alice/roll/sub/remove.txt');
    await put('alice/roll/new.txt', 'created later', 30);
    await put('alice/rollother.txt', 'outside the folder', 40);
    const changed = await after(Date.now());

    const r = await restore({ prefix: 'alice/roll', at: before });
    expect(r.status).toBe(200);
    expect(await r.json()).toMatchObject({ prefix: 'alice/roll/', restored: 2, deleted: 1, unchanged: 1, failed: 0 });
    const now = await listAt('alice/roll/');
    const snapshot = await listAt('alice/roll/', before);
    expect(now.map((i) => [i.path, i.sha256, i.mtime])).toEqual(snapshot.map((i) => [i.path, i.sha256, i.mtime]));
    expect(now.map((i) => i.path)).toEqual(['alice/roll/change.txt', 'alice/roll/keep.txt', 'alice/roll/sub/remove.txt']);
    expect(await (await fetch(`${s.url}/files/alice/roll/sub/remove.txt`, { headers: s.auth('alice') })).text()).toBe('will be deleted');
    // Outside the prefix nothing moved; the created file is in the trash, not gone.
    expect((await listAt('alice/rollother.txt')).map((i) => i.path)).toEqual(['alice/rollother.txt']);
    expect((await json<{ items: Item[] }>('files?prefix=alice/roll/&deleted=true')).items.map((i) => i.path)).toEqual(['alice/roll/new.txt']);

    // Undo: back to the moment after the changes.
    await after(Date.now());
    const undo = await restore({ prefix: 'alice/roll/', at: changed });
    expect(await undo.json()).toMatchObject({ restored: 2, deleted: 1, unchanged: 1 });
    expect((await listAt('alice/roll/')).map((i) => i.path)).toEqual(['alice/roll/change.txt', 'alice/roll/keep.txt', 'alice/roll/new.txt']);
    expect((await restore({ prefix: 'alice/roll', at: before }, 'bob')).status).toBe(403);
    expect((await restore({ prefix: 'alice/roll', at: 'noon' })).status).toBe(400);
  });

  it('/api/stats splits current from history bytes', async () => {
    const st = await json<{ logicalBytes: number; historyBytes: number; versions: number; deleted: number }>('stats');
    expect(st.historyBytes).toBeGreaterThan(0);
    expect(st.versions).toBeGreaterThan(st.deleted);
  });
});

describe('retention on the sweeper (injected clock)', () => {
  it('prunes old versions on server upload times and frees their blobs; current content stays', async () => {
    const path = 'bob/ret/file.txt';
    const v1 = await put(path, 'old content one', 1, 'bob');
    await after(v1.uploadedAt);
    const v2 = await put(path, 'old content two', 2, 'bob');
    await after(v2.uploadedAt);
    const v3 = await put(path, 'current content', 3, 'bob');
    await put('bob/ret/deleted.txt', 'deleted long ago', 4, 'bob');
    await del('bob/ret/deleted.txt', 'bob');
    const blobFile = (sha: string) => join(s.dataDir, 'blobs', sha.slice(0, 2), sha.slice(2, 4), sha);
    expect(existsSync(blobFile(v1.sha256))).toBe(true);

    const deps = s.server.deps;
    const pruner = (now: number) =>
      new Pruner({
        catalog: deps.catalog,
        clock: () => now,
        log: (l) => s.logs.push(l),
        policy: { keepAllMs: 3600_000, keepDailyMs: 0, keepWeeklyMs: 0 },
        release: (sha) => releaseBlob(deps, sha),
      });
    // Within keep-all: nothing goes.
    expect((await pruner(Date.now() + 60_000).pruneOnce()).versions).toBe(0);
    // Two hours on: the superseded versions go, their bytes too; so does the deleted file's history.
    const r = await pruner(Date.now() + 2 * 3600_000).pruneOnce();
    expect(r.versions).toBeGreaterThanOrEqual(4); // other tests' history on this server goes too
    expect(r.blobs).toBeGreaterThanOrEqual(3);
    expect((await fetch(`${s.url}/api/versions?path=${path}`, { headers: s.auth('bob') }).then((x) => x.json())).items.map((v: Version) => v.version)).toEqual([v3.version]);
    expect(existsSync(blobFile(v1.sha256))).toBe(false);
    expect(existsSync(blobFile(v3.sha256))).toBe(true);
    expect((await fetch(`${s.url}/files/${path}?version=${v1.version}`, { headers: s.auth('bob') })).status).toBe(404);
    expect(await (await fetch(`${s.url}/files/${path}`, { headers: s.auth('bob') })).text()).toBe('current content');
    expect((await json<{ items: Item[] }>('files?prefix=bob/ret/&deleted=true', 'bob')).items).toEqual([]);
  });

  it('the ransomware guard stops pruning a namespace with mass overwrites until resumed', async () => {
    const deps = s.server.deps;
    for (let i = 0; i < 10; i++) await put(`root/guard/${i}.txt`, `original ${i}`, 1, 'root');
    for (let i = 0; i < 5; i++) await put(`root/guard/${i}.txt`, `encrypted ${i}`, 2, 'root');
    const lines: string[] = [];
    const pruner = new Pruner({
      catalog: deps.catalog,
      clock: () => Date.now() + 2 * 3600_000,
      log: (l) => lines.push(l),
      policy: { keepAllMs: 0, keepDailyMs: 0, keepWeeklyMs: 0 },
      release: (sha) => releaseBlob(deps, sha),
      // The default guard window is an hour; the clock here is 2 h on, so look back 3 h.
      guard: { windowMs: 3 * 3600_000, minChanged: 5, ratio: 0.3 },
    });
    const held = await pruner.pruneOnce();
    expect(held.held).toContain('root');
    expect(lines.join('\n')).toMatch(/RANSOMWARE GUARD: pruning of namespace root is stopped \(5 of 10 files/);
    expect((await versions('root/guard/0.txt').catch(() => null)) === null).toBe(true); // alice may not read root's
    expect((await json<{ items: Version[] }>('versions?path=root/guard/0.txt', 'root')).items).toHaveLength(2);
    expect(await deps.catalog.getPruneHold('root')).toMatchObject({ heldSince: expect.any(Number) });
    expect(await deps.catalog.resumePruning('root', Date.now() + 2 * 3600_000 + 1)).toBe(true);
    const resumed = await pruner.pruneOnce();
    expect(resumed.held).not.toContain('root');
    expect((await json<{ items: Version[] }>('versions?path=root/guard/0.txt', 'root')).items).toHaveLength(1);
  });
});
