import { createHash } from 'node:crypto';
import { fsync, readdirSync } from 'node:fs';
import { mkdtemp, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SMALL_BODY_BYTES } from '../../core/sizes.js';
import type { TempBlob } from '../../storage/blobs/blob-store.js';
import { DiskBlobStore } from '../../storage/blobs/disk/disk-blob-store.js';
import { blobStoreContract, damaged } from './blob-store-contract.js';

blobStoreContract(
  'DiskBlobStore',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-contract-'));
    const store = new DiskBlobStore({ root, durable: false });
    await store.init();
    return {
      store,
      async damage(sha256, where, how) {
        const path = store.forms.pathOf(sha256, where);
        await writeFile(path, damaged(await readFile(path), how));
      },
      close: () => rm(root, { recursive: true, force: true }),
    };
  },
  { largeSize: 12 * 1024 * 1024 + 123 },
);

describe('DiskBlobStore blob folders', () => {
  it('a folder it created and then lost (removed behind its back) is created again at the next commit', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-folders-'));
    try {
      const store = new DiskBlobStore({ root, durable: true });
      await store.init();
      const body = () => new Blob(['the same content twice']).stream() as ReadableStream<Uint8Array>;
      const first = await store.writeTemp(body());
      await store.commit(first);
      await rm(store.dirOf(first.sha256), { recursive: true });
      const again = await store.writeTemp(body());
      await store.commit(again);
      expect(await readFile(store.plainPath(again.sha256), 'utf8')).toBe('the same content twice');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('DiskBlobStore blob folders made by the placer (issue 16, sixth round)', () => {
  it('a small logged blob lands in its folder; folders lost behind the placer\'s back, and blobs/ itself, are made again', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-placer-'));
    const store = new DiskBlobStore({ root, durable: true });
    try {
      await store.init();
      const put = async (text: string) => {
        const temp = await store.writeTemp(new Blob([text]).stream() as ReadableStream<Uint8Array>, { deferSync: true });
        expect(await store.commit(temp)).toEqual({ stored: true });
        expect(await readFile(store.plainPath(temp.sha256), 'utf8')).toBe(text);
        return temp.sha256;
      };
      const first = await put('placed once');
      await rm(store.dirOf(first), { recursive: true });
      await store.delete(first);
      expect(await put('placed once')).toBe(first);
      await rm(store.blobDir, { recursive: true });
      await put('placed once');
      await put('and another');
    } finally {
      await store.close();
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('DiskBlobStore small bodies (written at once, issue 16.2)', () => {
  /** A body of `size` bytes in chunks of `chunk`, like a socket delivers them. */
  function chunked(size: number, chunk: number): { stream: ReadableStream<Uint8Array>; bytes: Buffer } {
    const bytes = Buffer.alloc(size);
    for (let i = 0; i < size; i++) bytes[i] = (i * 7 + 3) & 0xff;
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= size) return c.close();
        c.enqueue(new Uint8Array(bytes.subarray(at, Math.min(size, at + chunk))));
        at += chunk;
      },
    });
    return { stream, bytes };
  }

  it.each([
    [0, 1],
    [1, 1],
    [4096, 4096],
    [SMALL_BODY_BYTES - 1, 1000],
    [SMALL_BODY_BYTES, 16 * 1024],
    [SMALL_BODY_BYTES + 1, 16 * 1024],
    [3 * SMALL_BODY_BYTES + 5, 64 * 1024],
  ])('a body of %i bytes in chunks of %i is stored whole, with its hash', async (size, chunk) => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-small-'));
    try {
      const store = new DiskBlobStore({ root, durable: true });
      await store.init();
      const { stream, bytes } = chunked(size, chunk);
      const temp = await store.writeTemp(stream, { maxBytes: 1 << 30 });
      expect(temp.size).toBe(size);
      expect(temp.sha256).toBe(createHash('sha256').update(bytes).digest('hex'));
      await store.commit(temp);
      expect((await readFile(store.plainPath(temp.sha256))).equals(bytes)).toBe(true);
      expect(await readdir(store.tmpDir)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });

  it('a small body over maxBytes, or aborted, leaves no temporary file', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-small-'));
    try {
      const store = new DiskBlobStore({ root, durable: true });
      await store.init();
      await expect(store.writeTemp(chunked(5000, 1000).stream, { maxBytes: 4999 })).rejects.toThrow(/maximum size of 4999/);
      const abort = new AbortController();
      abort.abort(new Error('client went away'));
      await expect(store.writeTemp(chunked(100, 10).stream, { signal: abort.signal })).rejects.toThrow(/went away/);
      expect(await readdir(store.tmpDir)).toEqual([]);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});

describe('DiskBlobStore deferred syncs (issue 16, third round)', () => {
  const openFds = () => readdirSync('/proc/self/fd').length;
  const bodyOf = (size: number) => new Blob([Buffer.alloc(size, 7)]).stream() as ReadableStream<Uint8Array>;
  /** Durable by default; small deferred temps of a durable store go to the blob log (below), so the background creation of their files is seen without. */
  async function withStore(fn: (store: DiskBlobStore, root: string) => Promise<void>, durable = true): Promise<void> {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-defer-'));
    try {
      const store = new DiskBlobStore({ root, durable });
      await store.init();
      await fn(store, root);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  it.runIf(process.platform === 'linux')('a deferred fsync runs on the descriptor the temp was written through, which is closed after it', () =>
    withStore(async (store, root) => {
      const fds = openFds();
      // Larger than SMALL_BODY_BYTES (written in batches; a small one is created in the background, below).
      const size = SMALL_BODY_BYTES + 1000;
      const temp = await store.writeTemp(bodyOf(size), { deferSync: true });
      // Moved away: a sync that opened the temp again by its path would fail (ENOENT).
      const moved = join(root, `moved-${size}`);
      await rename(temp.id, moved);
      await store.syncTemps([temp]);
      expect((await readFile(moved)).byteLength).toBe(size);
      expect(openFds()).toBe(fds);
    }));

  it.runIf(process.platform === 'linux')('small deferred temps are created in the background: syncTemps and commit wait for them, discard leaves nothing behind', () =>
    withStore(async (store) => {
      const fds = openFds();
      // Each discarded the moment it is written, before its file may exist: none is created after its removal.
      for (let i = 0; i < 40; i++) await store.discard(await store.writeTemp(bodyOf(100 + i), { deferSync: true }));
      // More at once than are created at a time (the rest wait for a place).
      const temps = [
        ...Array(40),
        ...(await Promise.all(Array.from({ length: 40 }, (_, i) => store.writeTemp(bodyOf(140 + i), { deferSync: true })))),
      ] as TempBlob[];
      await store.syncTemps(temps.slice(40, 60));
      for (const t of temps.slice(40, 60)) expect((await readFile(t.id)).byteLength).toBe(t.size);
      // Committed without syncTemps: the commit waits for the file.
      for (const t of temps.slice(60)) await store.commit(t);
      for (const t of temps.slice(60)) expect((await readFile(store.plainPath(t.sha256))).byteLength).toBe(t.size);
      await Promise.all(temps.slice(40, 60).map((t) => store.discard(t)));
      expect(await readdir(store.tmpDir)).toEqual([]);
      expect(openFds()).toBe(fds);
    }, false));

  it('a small temp whose background creation fails fails syncTemps and its commit, and leaves no file', () =>
    withStore(async (store) => {
      // tmp/ is a file now: creating anything in it fails (ENOTDIR).
      await rm(store.tmpDir, { recursive: true });
      await writeFile(store.tmpDir, 'not a folder');
      const a = await store.writeTemp(bodyOf(10), { deferSync: true });
      const b = await store.writeTemp(bodyOf(20), { deferSync: true });
      await expect(store.syncTemps([a])).rejects.toThrow(/ENOTDIR/);
      await expect(store.commit(b)).rejects.toThrow(/ENOTDIR/);
      expect(await store.has(b.sha256)).toBe(false);
      await rm(store.tmpDir);
      await store.init();
      expect(await readdir(store.tmpDir)).toEqual([]);
    }, false));

  it.runIf(process.platform === 'linux')('durable: a small deferred temp goes to the blob log, not to tmp/; its file is made from the log when it is committed; closed, the store leaves no descriptor open', () =>
    withStore(async (store) => {
      const fds = openFds();
      const temps = await Promise.all(Array.from({ length: 30 }, (_, i) => store.writeTemp(bodyOf(10 + i), { deferSync: true })));
      expect(await readdir(store.tmpDir)).toEqual([]);
      await store.syncTemps(temps);
      for (const t of temps.slice(0, 10)) await store.discard(t);
      // Committed side by side (as a batch commits): placed together, byte for byte.
      expect(await Promise.all(temps.slice(10).map((t) => store.commit(t, undefined, { deferSync: true })))).toEqual(temps.slice(10).map(() => ({ stored: true })));
      await store.syncCommits(temps.slice(10).map((t) => t.sha256));
      for (const t of temps.slice(10)) expect(await readFile(store.plainPath(t.sha256))).toEqual(Buffer.alloc(t.size, 7));
      for (const t of temps.slice(0, 10)) expect(await store.has(t.sha256)).toBe(false);
      // A commit without syncTemps first waits for the log's sync; content already stored is dropped.
      const again = await store.writeTemp(bodyOf(20), { deferSync: true });
      expect(await store.commit(again)).toEqual({ stored: false });
      expect(await readdir(store.tmpDir)).toEqual([]);
      await store.close();
      expect(await readdir(join(store.root, 'blob-log'))).toEqual([]);
      expect(openFds()).toBe(fds);
    }));

  it('durable: a small temp whose placement fails fails its commit, leaves nothing, and does not hold back the log\'s checkpoint', () =>
    withStore(async (store) => {
      const temp = await store.writeTemp(bodyOf(33), { deferSync: true });
      await store.syncTemps([temp]);
      // tmp/ is a file now: the placer cannot write the blob's file there (ENOTDIR).
      await rm(store.tmpDir, { recursive: true });
      await writeFile(store.tmpDir, 'not a folder');
      await expect(store.commit(temp)).rejects.toThrow(/ENOTDIR/);
      expect(await store.has(temp.sha256)).toBe(false);
      await rm(store.tmpDir);
      await store.init();
      // Given up, the record no longer keeps its segment: the checkpoint deletes it.
      await store.blobLog?.checkpoint();
      expect(await readdir(join(store.root, 'blob-log'))).toEqual([]);
      // And the next small temp is placed as usual.
      const next = await store.writeTemp(bodyOf(34), { deferSync: true });
      expect(await store.commit(next)).toEqual({ stored: true });
      expect((await readFile(store.plainPath(next.sha256))).byteLength).toBe(34);
      await store.close();
    }));

  it('durable: when the blob log\'s sync fails, a small PUT\'s commit fails and leaves no file (its placement ran beside the sync); the next upload gets a new segment', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-logfail-'));
    let failing = true;
    const store = new DiskBlobStore({
      root,
      durable: true,
      log: {
        dataSync: async (fd) => {
          if (failing) throw Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' });
          await new Promise<void>((resolve, reject) => fsync(fd, (err) => (err ? reject(err) : resolve())));
        },
      },
    });
    try {
      await store.init();
      const temp = await store.writeTemp(bodyOf(41), { deferSync: true });
      await expect(store.commit(temp)).rejects.toThrow(/EIO/);
      expect(await store.has(temp.sha256)).toBe(false);
      expect(await readdir(store.tmpDir)).toEqual([]);
      failing = false;
      const next = await store.writeTemp(bodyOf(42), { deferSync: true });
      expect(await store.commit(next)).toEqual({ stored: true });
      expect((await readFile(store.plainPath(next.sha256))).byteLength).toBe(42);
      // The failed segment is given up and checkpointed with the good one: no log is left.
      await store.blobLog?.checkpoint();
      expect(await readdir(join(root, 'blob-log'))).toEqual([]);
    } finally {
      await store.close();
      await rm(root, { recursive: true, force: true });
    }
  });

  it.runIf(process.platform === 'linux')('a large deferred temp discarded or committed before syncTemps leaves no descriptor open; a commit waits for its sync', () =>
    withStore(async (store, root) => {
      const fds = openFds();
      const dropped = await store.writeTemp(bodyOf(SMALL_BODY_BYTES + 100), { deferSync: true });
      await store.discard(dropped);
      const kept = await store.writeTemp(bodyOf(SMALL_BODY_BYTES + 200), { deferSync: true });
      expect(await store.commit(kept)).toEqual({ stored: true });
      expect((await readFile(store.plainPath(kept.sha256))).byteLength).toBe(SMALL_BODY_BYTES + 200);
      expect(openFds()).toBe(fds);
      expect(await readdir(store.tmpDir)).toEqual([]);
      // Nothing is left to take: syncing either again falls back to the path (gone) and fails loudly.
      await expect(store.syncTemps([kept])).rejects.toThrow(/ENOENT/);
    }));
});

describe('DiskBlobStore new blob folders are durable entries too', () => {
  const sha = (s: string) => createHash('sha256').update(s).digest('hex');
  /** The first content `${tag} ${i}` whose SHA-256 passes `ok`. */
  function contentWhere(tag: string, ok: (h: string) => boolean): string {
    for (let i = 0; ; i++) if (ok(sha(`${tag} ${i}`))) return `${tag} ${i}`;
  }
  const first = sha('first');
  /** The first content over SMALL_BODY_BYTES tagged `tag` whose SHA-256 passes `ok`. */
  function bigWhere(tag: string, ok: (h: string) => boolean): string {
    const pad = 'x'.repeat(SMALL_BODY_BYTES);
    for (let i = 0; ; i++) if (ok(sha(`${tag} ${i} ${pad}`))) return `${tag} ${i} ${pad}`;
  }

  it('a commit that created `ab` or `ab/cd` also syncs the folder that gained it, before it answers; a failed sync is retried by the next commit', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-parents-'));
    try {
      let synced: string[] = [];
      let failing: string | undefined;
      const store = new DiskBlobStore({
        root,
        durable: true,
        syncDir: async (dir) => {
          if (dir === failing) throw new Error(`EIO: sync of ${dir}`);
          synced.push(dir);
        },
      });
      await store.init();
      const blobs = store.blobDir;
      const put = async (text: string, deferSync = false) => {
        synced = [];
        const temp = await store.writeTemp(new Blob([text]).stream() as ReadableStream<Uint8Array>, { deferSync });
        await store.commit(temp, undefined, { deferSync });
        if (deferSync) await store.syncCommits([temp.sha256]);
        return { dir: store.dirOf(temp.sha256), ab: store.dirOf(temp.sha256).slice(0, -3), synced: [...synced].sort() };
      };
      // New ab and ab/cd: the blob's folder, ab (gained cd) and blobs/ (gained ab).
      const a = await put('first');
      expect(a.synced).toEqual([blobs, a.ab, a.dir].sort());
      // Same ab, a new cd: ab gained it; blobs/ did not change.
      const b = await put(contentWhere('b', (h) => h.slice(0, 2) === first.slice(0, 2) && h.slice(2, 4) !== first.slice(2, 4)));
      expect(b.ab).toBe(a.ab);
      expect(b.synced).toEqual([b.ab, b.dir].sort());
      // Into a folder that exists: only that folder.
      const c = await put(contentWhere('c', (h) => h.slice(0, 4) === first.slice(0, 4)));
      expect(c.synced).toEqual([a.dir]);
      // The batch path (deferred syncs, then syncCommits) does the same for a file too big for
      // the blob log; a small one syncs no blob folder (the log holds it until its checkpoint),
      // only the log's folder, which gained a segment.
      const newAb = (h: string) => h.slice(0, 2) !== first.slice(0, 2);
      const dText = bigWhere('d', newAb);
      const d = await put(dText, true);
      expect(d.synced).toEqual([blobs, d.ab, d.dir].sort());
      const notD = (h: string) => newAb(h) && h.slice(0, 2) !== sha(dText).slice(0, 2);
      const small = await put(contentWhere('s', notD), true);
      expect(small.synced).toEqual([join(root, 'blob-log')]);
      // blobs/ cannot be synced: that commit fails; the next one syncs it.
      failing = blobs;
      await expect(put(contentWhere('e', (h) => notD(h) && h.slice(0, 2) !== sha(contentWhere('s', notD)).slice(0, 2)))).rejects.toThrow(/EIO/);
      failing = undefined;
      const f = await put(contentWhere('f', (h) => h.slice(0, 4) === first.slice(0, 4)));
      expect(f.synced).toContain(blobs);
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
