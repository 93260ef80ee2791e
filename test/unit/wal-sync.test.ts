/**
 * Durable commits with the WAL synced off the main thread (storage/catalog/sqlite/wal-sync.ts):
 * nothing a commit wrote is answered, to its writer or to a reader, before an fdatasync of the
 * WAL that began after it has ended; commits made during one sync share the next; a failed sync
 * fails its waiters and the next commit syncs again. The syncs are held by the test (the
 * catalog's `dataSync` seam) and released by hand.
 */
import { fstatSync, statSync } from 'node:fs';
import { sql } from 'drizzle-orm';
import { describe, expect, it } from 'vitest';
import { tempCatalogFile } from '../helpers/temp-catalog.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import type { DataSync } from '../../storage/catalog/sqlite/wal-sync.js';

const SHA = (i: number) => i.toString(16).padStart(64, '0');
const tempFile = () => tempCatalogFile('wal-sync');

/** A dataSync that holds every call until the test ends it. */
function heldSyncs() {
  const calls: { fd: number; done: (err: NodeJS.ErrnoException | null) => void }[] = [];
  const sync: DataSync = (fd, done) => void calls.push({ fd, done });
  return { sync, calls };
}

/** A durable catalog on a temp file whose WAL syncs the test holds; afterwards every held sync is ended and the catalog closed. */
async function withHeldCatalog(fn: (catalog: SqliteCatalog, held: ReturnType<typeof heldSyncs>, file: string) => Promise<void>): Promise<void> {
  const file = tempFile();
  const held = heldSyncs();
  const catalog = new SqliteCatalog({ file, dataSync: held.sync });
  try {
    await fn(catalog, held, file);
  } finally {
    for (const c of held.calls) c.done(null);
    await catalog.close();
  }
}

/** Lets the event loop run a few turns (timers, immediates, the thread pool). */
const turns = (n = 5) => new Promise<void>((r) => setTimeout(r, 5 * n));

/** Whether a promise has settled, without waiting for it. */
function watch<T>(p: Promise<T>) {
  const state = { settled: false, value: undefined as T | undefined, error: undefined as unknown };
  p.then(
    (v) => Object.assign(state, { settled: true, value: v }),
    (e) => Object.assign(state, { settled: true, error: e }),
  );
  return state;
}

const put = (c: SqliteCatalog, i: number) => c.putFile({ path: `alice/f${i}.txt`, sha256: SHA(i), size: 1, mtime: null, now: 1 + i });

describe('WalSync: durable commits', () => {
  it('answers a write and a later read only after an fdatasync of the WAL file that began after the commit', () =>
    withHeldCatalog(async (catalog, held, file) => {
      const write = watch(put(catalog, 1));
      await turns();
      // Committed (another connection would see it), not yet answered: its sync is held.
      expect(held.calls.length).toBe(1);
      expect(write.settled).toBe(false);
      // The sync is of the WAL file itself.
      const { fd } = held.calls[0] as { fd: number };
      expect(fstatSync(fd).ino).toBe(statSync(`${file}-wal`).ino);
      // A read now sees the row, so it too waits until the row is durable.
      const read = watch(catalog.listFiles({ prefix: 'alice/', limit: 10 }));
      await turns();
      expect(read.settled).toBe(false);
      held.calls[0]?.done(null);
      await turns();
      expect(write.settled && write.error === undefined).toBe(true);
      expect(read.settled && (read.value as unknown[]).length).toBe(1);
      // Nothing owed: a read goes on at once, with no sync.
      await catalog.listFiles({ prefix: 'alice/', limit: 10 });
      expect(held.calls.length).toBe(1);
    }));

  it('lets commits made while a sync runs share the next one, and answers them after it', () =>
    withHeldCatalog(async (catalog, held) => {
      const first = watch(put(catalog, 0));
      await turns();
      expect(held.calls.length).toBe(1);
      // Five more commit (one group or several) while the first sync is held.
      const more = Array.from({ length: 5 }, (_, i) => watch(put(catalog, i + 1)));
      await turns();
      expect(held.calls.length).toBe(1);
      held.calls[0]?.done(null);
      await turns();
      expect(first.settled).toBe(true);
      // Their frames may have been written after the first sync began: they wait for a second.
      expect(more.some((m) => m.settled)).toBe(false);
      expect(held.calls.length).toBe(2);
      held.calls[1]?.done(null);
      await turns();
      expect(more.every((m) => m.settled && m.error === undefined)).toBe(true);
      expect(held.calls.length).toBe(2);
    }));

  it('fails the writes waiting for a failed sync, then refuses every write (503) and still serves reads', () =>
    withHeldCatalog(async (catalog, held) => {
      await Promise.all([watch(put(catalog, 0)), turns()]);
      held.calls[0]?.done(null);
      await turns();
      const write = watch(put(catalog, 1));
      await turns();
      held.calls[1]?.done(Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      await turns();
      expect(write.settled).toBe(true);
      expect((write.error as NodeJS.ErrnoException).code).toBe('EIO');
      // A later sync could succeed without the pages the failed one lost: nothing more is committed.
      await expect(put(catalog, 2)).rejects.toMatchObject({ kind: 'storage-unavailable', message: expect.stringMatching(/restarted/) });
      await expect(catalog.driver.run(sql`delete from files`)).rejects.toMatchObject({ kind: 'storage-unavailable' });
      expect(held.calls.length).toBe(2);
      // Reads go on, without waiting for a sync that will not come.
      expect((await catalog.listFiles({ prefix: 'alice/', limit: 10 })).map((f) => f.path)).toContain('alice/f0.txt');
      expect((await catalog.listFiles({ prefix: 'alice/', limit: 10 })).map((f) => f.path)).not.toContain('alice/f2.txt');
    }));

  it('a write outside a transaction, `returning` rows or not, is a commit of its own: answered after its sync', () =>
    withHeldCatalog(async (catalog, held) => {
      const create = watch(catalog.driver.run(sql`create table t (k text primary key)`));
      await turns();
      expect(create.settled).toBe(false);
      held.calls[0]?.done(null);
      await turns();
      expect(create.settled).toBe(true);
      const returning = watch(catalog.driver.all(sql`insert into t values ('a') returning k`));
      await turns();
      expect(held.calls.length).toBe(2);
      expect(returning.settled).toBe(false);
      held.calls[1]?.done(null);
      await turns();
      expect(returning.value).toEqual([{ k: 'a' }]);
    }));

  it('never syncs with durable off, and syncs for real by default (the file is there after a reopen)', async () => {
    const held = heldSyncs();
    const fast = new SqliteCatalog({ file: tempFile(), durable: false, dataSync: held.sync });
    await put(fast, 1);
    await fast.close();
    expect(held.calls.length).toBe(0);
    const file = tempFile();
    const real = new SqliteCatalog({ file });
    await Promise.all([put(real, 1), put(real, 2)]);
    await real.close();
    const reopened = new SqliteCatalog({ file });
    expect((await reopened.listFiles({ prefix: 'alice/', limit: 10 })).map((f) => f.path)).toEqual(['alice/f1.txt', 'alice/f2.txt']);
    await reopened.close();
  });
});
