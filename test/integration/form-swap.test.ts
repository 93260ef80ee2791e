import { createReadStream, existsSync } from 'node:fs';
import { readdir, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AccessTracker } from '../../storage/hot-cold/access-tracker.js';
import type { BlobLocation } from '../../storage/blobs/blob-store.js';
import type { Catalog } from '../../storage/catalog/catalog.js';
import { DiskBlobStore } from '../../storage/blobs/disk/disk-blob-store.js';
import { compressBlob, promoteBlob, repairSwaps, type SwapContext } from '../../storage/hot-cold/form-swap.js';
import { makePolicy } from '../../storage/hot-cold/hot-cold-policy.js';
import { KeyedMutex } from '../../storage/locks/keyed-mutex.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { Sweeper } from '../../storage/hot-cold/sweeper.js';
import { sha256Body, writeRandomFile, writeTextFile } from '../helpers/bytes.js';
import { waitFor } from '../helpers/wait.js';
import { makeDataDir } from '../helpers/server.js';

const PLAIN: BlobLocation = { state: 'hot', codec: null };
const GZIP: BlobLocation = { state: 'cold', codec: 'gzip' };
const MB = 1024 * 1024;

/** A real disk store and SQLite catalog in a temp dir, with a clock the test moves. */
describe('stored-form swaps on disk + SQLite', () => {
  let dir: string;
  let blobs: DiskBlobStore;
  let catalog: SqliteCatalog;
  let now: number;
  let ctx: SwapContext;
  let logs: string[];
  const policy = makePolicy(1000);

  beforeEach(async () => {
    dir = await makeDataDir();
    blobs = new DiskBlobStore({ root: dir });
    await blobs.init();
    catalog = new SqliteCatalog({ file: join(dir, 'catalog.sqlite') });
    now = 1_000_000;
    logs = [];
    ctx = { blobs, catalog, locks: new KeyedMutex(), clock: () => now, log: (l) => logs.push(l) };
  });
  afterEach(async () => {
    await catalog.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** Stores a local file as `path` the way a PUT does. */
  async function store(path: string, file: string): Promise<string> {
    const temp = await blobs.writeTemp(Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>);
    await blobs.commit(temp);
    await catalog.putFile({ path, sha256: temp.sha256, size: temp.size, mtime: null, now });
    return temp.sha256;
  }
  async function text(name: string, size = 2 * MB): Promise<{ sha: string; file: string }> {
    const file = join(dir, `${name}.src`);
    await writeTextFile(file, size);
    return { sha: await store(`alice/${name}`, file), file };
  }
  const readSha = async (sha: string, where?: BlobLocation) => sha256Body(new Response(await blobs.read(sha, undefined, where)));

  it('compresses, reads in both directions, and promotes back', async () => {
    const { sha } = await text('a.txt');
    now += 1000;
    const out = await compressBlob(ctx, sha, { codec: 'gzip', policy });
    expect(out.kind).toBe('compressed');
    expect(await blobs.forms.list(sha)).toEqual([{ ...GZIP, storedSize: (await catalog.getBlob(sha))?.storedSize }]);
    expect(await catalog.getBlob(sha)).toMatchObject({ state: 'cold', codec: 'gzip' });
    // A reader that still believes the blob is hot falls back to the compressed form.
    expect((await readSha(sha, PLAIN)).sha256).toBe(sha);
    expect(await promoteBlob(ctx, sha)).toBe(true);
    expect(await blobs.forms.list(sha)).toEqual([{ ...PLAIN, storedSize: 2 * MB }]);
    expect(await catalog.getBlob(sha)).toMatchObject({ state: 'hot', codec: null, storedSize: 2 * MB, lastAccess: now });
    expect((await readSha(sha, GZIP)).sha256).toBe(sha);
    expect(await blobs.forms.unfinishedSwaps()).toEqual([]);
  });

  it('skips a blob read after it was queued, and one deleted while it was being compressed', async () => {
    const { sha } = await text('a.txt');
    now += 1000;
    // Read, but the read is still waiting in the tracker's batch.
    expect((await compressBlob(ctx, sha, { codec: 'gzip', policy, lastSeen: () => now })).kind).toBe('skipped');
    expect(await catalog.getBlob(sha)).toMatchObject({ state: 'hot' });

    // Purged and freed (as releaseBlob does, under the lock) while the compressed copy is being written.
    const compressing = compressBlob(ctx, sha, { codec: 'gzip', policy });
    await catalog.purge('alice/a.txt');
    await ctx.locks.run(sha, async () => {
      if (await catalog.deleteBlobIfUnreferenced(sha)) await blobs.delete(sha);
    });
    const out = await compressing.catch((err: Error) => ({ kind: `threw ${err.name}` }));
    expect(['skipped', 'threw NotFoundError']).toContain(out.kind);
    expect(await blobs.forms.list(sha)).toEqual([]);
    expect(await blobs.forms.unfinishedSwaps()).toEqual([]);
  });

  it('marks a blob that does not shrink enough as incompressible and keeps it plain', async () => {
    const file = join(dir, 'noise.src');
    await writeRandomFile(file, MB);
    const sha = await store('alice/noise.bin', file);
    now += 1000;
    expect(await compressBlob(ctx, sha, { codec: 'gzip', policy })).toMatchObject({ kind: 'incompressible', plainSize: MB });
    expect(await catalog.getBlob(sha)).toMatchObject({ state: 'hot', incompressible: true, storedSize: MB });
    expect(await blobs.forms.list(sha)).toEqual([{ ...PLAIN, storedSize: MB }]);
    expect(await catalog.listCompressionCandidates({ cutoff: now, minSize: 0, limit: 10 })).toEqual([]);
  });

  describe('start-up repair of swaps a crash interrupted', () => {
    /** Puts a compressed copy next to the plain form, as a swap does right after forms.install. */
    async function bothForms(sha: string): Promise<number> {
      const pending = await blobs.forms.convert(sha, PLAIN, GZIP);
      await blobs.forms.beginSwap(sha);
      await blobs.forms.install(pending);
      return pending.storedSize;
    }

    it('compression crashed before the catalog update: keeps plain, drops the compressed copy', async () => {
      const { sha } = await text('a.txt');
      await bothForms(sha);
      expect(await repairSwaps(ctx)).toEqual({ swaps: 1, dropped: 1, corrected: 0 });
      expect(await blobs.forms.list(sha)).toEqual([{ ...PLAIN, storedSize: 2 * MB }]);
      expect(await catalog.getBlob(sha)).toMatchObject({ state: 'hot' });
      expect((await readSha(sha)).sha256).toBe(sha);
      expect(await blobs.forms.unfinishedSwaps()).toEqual([]);
    });

    it('compression crashed after the catalog update: keeps the compressed form, drops plain', async () => {
      const { sha } = await text('a.txt');
      const stored = await bothForms(sha);
      await catalog.updateBlob(sha, { state: 'cold', codec: 'gzip', storedSize: stored });
      expect(await repairSwaps(ctx)).toEqual({ swaps: 1, dropped: 1, corrected: 0 });
      expect(await blobs.forms.list(sha)).toEqual([{ ...GZIP, storedSize: stored }]);
      expect((await readSha(sha, GZIP)).sha256).toBe(sha);
    });

    it('a compressed form the catalog names with another size is in doubt: plain wins', async () => {
      const { sha } = await text('a.txt');
      const stored = await bothForms(sha);
      await catalog.updateBlob(sha, { state: 'cold', codec: 'gzip', storedSize: stored + 1 });
      expect(await repairSwaps(ctx)).toEqual({ swaps: 1, dropped: 1, corrected: 1 });
      expect(await catalog.getBlob(sha)).toMatchObject({ state: 'hot', codec: null, storedSize: 2 * MB });
      expect(await blobs.forms.list(sha)).toEqual([{ ...PLAIN, storedSize: 2 * MB }]);
    });

    it('catalog hot but only the compressed form left: corrects the catalog', async () => {
      const { sha } = await text('a.txt');
      const stored = await bothForms(sha);
      await blobs.forms.delete(sha, PLAIN);
      expect(await repairSwaps(ctx)).toEqual({ swaps: 1, dropped: 0, corrected: 1 });
      expect(await catalog.getBlob(sha)).toMatchObject({ state: 'cold', codec: 'gzip', storedSize: stored });
      expect((await readSha(sha)).sha256).toBe(sha);
    });

    it('catalog cold but only the plain form left: corrects the catalog', async () => {
      const { sha } = await text('a.txt');
      await blobs.forms.beginSwap(sha);
      await catalog.updateBlob(sha, { state: 'cold', codec: 'gzip', storedSize: 123 });
      expect(await repairSwaps(ctx)).toEqual({ swaps: 1, dropped: 0, corrected: 1 });
      expect(await catalog.getBlob(sha)).toMatchObject({ state: 'hot', codec: null, storedSize: 2 * MB });
    });

    it('touches nothing that is not journaled (strays are fsck business)', async () => {
      const { sha } = await text('a.txt');
      const pending = await blobs.forms.convert(sha, PLAIN, GZIP);
      await blobs.forms.install(pending);
      expect(await repairSwaps(ctx)).toEqual({ swaps: 0, dropped: 0, corrected: 0 });
      expect(await blobs.forms.list(sha)).toEqual([
        { ...PLAIN, storedSize: 2 * MB },
        { ...GZIP, storedSize: pending.storedSize },
      ]);
    });
  });

  it('refuses to promote a compressed form that does not decompress to its SHA-256', async () => {
    const { sha } = await text('a.txt');
    now += 1000;
    await compressBlob(ctx, sha, { codec: 'gzip', policy });
    // Same size, other content: a gzip of different bytes in place of the real one.
    const other = await text('b.txt', MB);
    const fake = await blobs.forms.convert(other.sha, PLAIN, GZIP);
    await rm(blobs.forms.pathOf(sha, GZIP));
    await rename(fake.id, blobs.forms.pathOf(sha, GZIP));
    await expect(promoteBlob(ctx, sha)).rejects.toThrow(/corrupt/);
    expect(await catalog.getBlob(sha)).toMatchObject({ state: 'cold' });
    expect(existsSync(blobs.forms.pathOf(sha, PLAIN))).toBe(false);
  });

  it('concurrent readers of a cold blob share one promotion', async () => {
    const { sha } = await text('a.txt', 8 * MB);
    now += 1000;
    await compressBlob(ctx, sha, { codec: 'gzip', policy });
    const sweeper = new Sweeper({ ...ctx, hotTimeMs: 1000, intervalMs: 60_000, concurrency: 1 });
    try {
      const first = sweeper.promote(sha);
      const second = sweeper.promote(sha);
      expect(second).toBe(first);
      expect(await first).toBe(true);
      // Once done, a late caller finds nothing left to do.
      expect(await sweeper.promote(sha)).toBe(false);
      expect(await catalog.getBlob(sha)).toMatchObject({ state: 'hot' });
    } finally {
      await sweeper.stop();
    }
  });

  it('a sweep compresses what the policy selects and reports it', async () => {
    const a = await text('a.txt');
    const b = await text('b.txt', 3 * MB);
    await writeFile(join(dir, 'tiny.src'), 'tiny');
    const tiny = await store('alice/tiny.txt', join(dir, 'tiny.src'));
    now += 1000;
    const sweeper = new Sweeper({ ...ctx, hotTimeMs: 1000, intervalMs: 60_000, concurrency: 2, pageSize: 1 });
    try {
      const r = await sweeper.sweepOnce();
      expect(r).toMatchObject({ candidates: 2, compressed: 2, incompressible: 0, failed: 0, plainBytes: 5 * MB });
      expect(r.savedBytes).toBe(r.plainBytes - r.storedBytes);
      for (const sha of [a.sha, b.sha]) expect((await catalog.getBlob(sha))?.state).toBe('cold');
      expect((await catalog.getBlob(tiny))?.state).toBe('hot');
      expect(logs).toHaveLength(1);
      expect(logs[0]).toMatch(/^sweep: compressed 2 file\(s\) \(5\.2 MB -> .* saved .*\), 0 incompressible, 0 skipped, 0 failed, in \d+ ms$/);
      // Nothing left: a second sweep is silent.
      expect((await sweeper.sweepOnce()).candidates).toBe(0);
      expect(logs).toHaveLength(1);
    } finally {
      await sweeper.stop();
    }
  });

  it('stopping the sweeper aborts a running compression and leaves the blob plain', async () => {
    const { sha } = await text('big.txt', 32 * MB);
    now += 1000;
    const sweeper = new Sweeper({ ...ctx, hotTimeMs: 1000, intervalMs: 60_000, concurrency: 1 });
    const sweep = sweeper.sweepOnce();
    await waitFor('compression under way', async () => (await readdir(blobs.tmpDir)).some((n) => n.endsWith('.gz')), 30_000, 5);
    await sweeper.stop();
    await sweep;
    expect(await blobs.forms.list(sha)).toEqual([{ ...PLAIN, storedSize: 32 * MB }]);
    expect(await catalog.getBlob(sha)).toMatchObject({ state: 'hot' });
    expect(await blobs.cleanupTemp()).toBe(0);
  });
});

describe('AccessTracker', () => {
  it('turns a burst of reads into one catalog write per flush and keeps the latest time', async () => {
    const writes: Map<string, number>[] = [];
    const versionWrites: Map<string, number>[] = [];
    const catalog: Pick<Catalog, 'touchBlobs' | 'touchVersions'> = {
      touchBlobs: async (m) => {
        writes.push(new Map(m));
      },
      touchVersions: async (m) => {
        versionWrites.push(new Map(m));
      },
    };
    let now = 100;
    const cold: string[] = [];
    const t = new AccessTracker({ catalog, clock: () => now, flushMs: 20, onColdRead: (sha) => cold.push(sha) });
    for (let i = 0; i < 50; i++) {
      now++;
      // Content a is held by two files (versions 1 and 2): each file keeps its own reads.
      t.recordRead({ sha256: 'a'.repeat(64), state: i % 2 ? 'hot' : 'cold', version: i < 10 ? '1' : '2' });
      t.recordRead({ sha256: 'b'.repeat(64), state: 'hot', version: '3' });
    }
    expect(t.lastSeen('a'.repeat(64))).toBe(150);
    expect(writes).toHaveLength(0);
    await waitFor('the timed flush', () => writes.length > 0, 5_000, 5);
    expect(writes).toEqual([new Map([['a'.repeat(64), 150], ['b'.repeat(64), 150]])]);
    expect(versionWrites).toEqual([new Map([['1', 110], ['2', 150], ['3', 150]])]);
    expect(t.lastSeen('a'.repeat(64))).toBeUndefined();
    expect(cold).toHaveLength(25);
    now = 200;
    t.recordRead({ sha256: 'a'.repeat(64), state: 'hot', version: '1' });
    await t.stop();
    expect(writes).toHaveLength(2);
    t.recordRead({ sha256: 'c'.repeat(64), state: 'hot', version: '4' });
    expect(t.pendingCount).toBe(0);
  });

  it('keeps the reads of a failed write for the next flush', async () => {
    let fail = true;
    const writes: Map<string, number>[] = [];
    const logs: string[] = [];
    const t = new AccessTracker({
      catalog: {
        touchBlobs: async (m) => {
          if (fail) throw new Error('database is locked');
          writes.push(new Map(m));
        },
        touchVersions: async () => {},
      },
      clock: () => 5,
      flushMs: 10,
      log: (l) => logs.push(l),
    });
    t.recordRead({ sha256: 'a'.repeat(64), state: 'hot', version: '1' });
    await t.flush();
    expect(logs[0]).toMatch(/database is locked/);
    expect(t.lastSeen('a'.repeat(64))).toBe(5);
    fail = false;
    await waitFor('the retried flush', () => writes.length > 0, 5_000, 5);
    expect(writes).toEqual([new Map([['a'.repeat(64), 5]])]);
    await t.stop();
  });
});

describe('SqliteCatalog.listCompressionCandidates', () => {
  it('pages hot, compressible, large-enough blobs by last access', async () => {
    const dir = await makeDataDir();
    const catalog = new SqliteCatalog({ file: join(dir, 'c.sqlite') });
    try {
      const sha = (i: number) => i.toString(16).padStart(64, '0');
      for (let i = 0; i < 10; i++) {
        await catalog.putFile({ path: `alice/f${i}`, sha256: sha(i), size: i * 1000, mtime: null, now: 100 - i });
      }
      await catalog.updateBlob(sha(9), { state: 'cold', codec: 'gzip', storedSize: 10 });
      await catalog.updateBlob(sha(8), { incompressible: true });
      await catalog.touchBlobs(new Map([[sha(7), 1000]]));
      const all: string[] = [];
      let after: { lastAccess: number; sha256: string } | undefined;
      for (;;) {
        const page = await catalog.listCompressionCandidates({ cutoff: 98, minSize: 2000, limit: 2, after });
        all.push(...page.map((b) => b.sha256));
        const last = page[page.length - 1];
        if (!last) break;
        after = { lastAccess: last.lastAccess, sha256: last.sha256 };
      }
      // f2..f6 qualify (size >= 2000, last access <= 98), oldest access first; f7 was read,
      // f8 is incompressible, f9 is cold, f0/f1 are too small.
      expect(all).toEqual([6, 5, 4, 3, 2].map(sha));
      const plan = catalog.sqlite.prepare(`explain query plan select * from blobs where state = 'hot' and last_access <= 98 order by last_access, sha256`).all() as { detail: string }[];
      expect(plan.map((p) => p.detail).join(' ')).toMatch(/blobs_state_access/);
    } finally {
      await catalog.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
