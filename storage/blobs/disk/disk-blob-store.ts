import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, fsync, open as openCb, openSync, renameSync, statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';
import PQueue from 'p-queue';
import { dirname, join } from 'node:path';
import type { AppendOptions, BlobLocation, BodySource, BlobStore, ByteRange, CommitOptions, KnownBlob, PendingForm, ReadOptions, StoredForm, LogReplay, TempBlob, WriteOptions } from '../blob-store.js';
import { checkedCommit, quarantineIfCorrupt } from '../blob-verify.js';
import { BatchedWriter, writeAllSync } from './batched-writer.js';
import { BlobLog, type LogRecord, type LogTicket } from './blob-log.js';
import { BlobPlacer } from './blob-placer.js';
import { DiskBlobForms } from './disk-blob-forms.js';
import { DiskInventory } from './disk-inventory.js';
import { DiskUploadParts } from './disk-upload-parts.js';
import { InsufficientStorageError, TooLargeError } from '../../../core/errors.js';
import { webFromNode } from '../web-from-node.js';
import { SMALL_BODY_BYTES } from '../../../core/sizes.js';

/** A durable upload starts an fdatasync after every this many bytes (see BatchedWriter). */
const SYNC_BEHIND_BYTES = 64 << 20;
/**
 * Small temps of a batch being created in the background at most (see writeTemp): enough to keep
 * the thread pool busy with them, few enough that other file work does not queue behind them.
 */
const BACKGROUND_CREATES = 32;
const openFd = promisify(openCb);
const fsyncFd = promisify(fsync);
const NEW_FILE = constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY;

/** True for the errors a full disk or an exhausted quota produce. */
export function isDiskFull(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT';
}

export interface DiskBlobStoreOptions {
  /** The data directory; blobs go to `<root>/blobs`, temporary objects to `<root>/tmp`. */
  root: string;
  /** fsync files and folders before a commit is reported (default true). */
  durable?: boolean;
  /** fsync of a folder (tests watch which folders are synced); the real one by default. */
  syncDir?: (dir: string) => Promise<void>;
  /**
   * The blob log of small deferred temps, a batch's or a PUT's (storage/blobs/disk/blob-log.ts): checkpoint delay
   * (default 1 s) and the filesystem flush (default syncfs by `sync -f`); tests stop
   * checkpoints with `checkpointMs: Infinity` to leave the log as a power cut would.
   */
  log?: { checkpointMs?: number; syncFilesystem?: (path: string) => Promise<void>; onMessage?: (line: string) => void; dataSync?: (fd: number) => Promise<void> };
}

/**
 * Blobs as files: `blobs/ab/cd/<sha256>` for the plain form, `blobs/ab/cd/<sha256>.gz` for a cold
 * (compressed) one (see DiskBlobForms). Temporary objects live in `tmp/` on the same filesystem,
 * so a commit is one atomic rename. Forms that fail their hash go to `quarantine/`.
 */
export class DiskBlobStore implements BlobStore {
  readonly root: string;
  readonly blobDir: string;
  readonly tmpDir: string;
  readonly durable: boolean;
  /** Parts of resumable uploads in `<root>/uploads` (kept across restarts, unlike tmp/). */
  readonly parts: DiskUploadParts;
  /** Plain and compressed forms of blobs, and the swap journal in `<root>/swaps`. */
  readonly forms: DiskBlobForms;
  readonly inventory: DiskInventory;
  /** One bit per `ab/cd` blob folder (65,536 of them, 8 KiB) that this process knows exists. */
  readonly #knownDirs = new Uint8Array(65_536 / 8);
  /**
   * Temporary objects written with `deferSync` whose fsync already runs on their still-open
   * descriptor (closed once it is done): syncTemps waits for it instead of opening the file again.
   */
  readonly #syncing = new Map<string, Promise<void>>();
  /** Background creations of small temps (a batch's), BACKGROUND_CREATES at a time. */
  readonly #creates = new PQueue({ concurrency: BACKGROUND_CREATES });
  /** Temporary names: a random part per store and a counter (random bytes per name cost a call into OpenSSL each). */
  readonly #tempBase = randomBytes(6).toString('base64url');
  #tempSeq = 0;
  /**
   * Folders that gained an entry when a blob folder was created (`blobs/` for a new `ab`, `ab`
   * for a new `cd`) and are not synced yet: fsync of `ab/cd` makes its own entries durable, not
   * its entry in `ab`. Every durable commit waits until they are synced (#syncParents).
   */
  readonly #unsyncedParents = new Set<string>();
  #parentsSynced: Promise<void> = Promise.resolve();
  readonly #syncDir: (dir: string) => Promise<void>;
  /** The write-ahead log of small deferred temps (durable stores only). */
  readonly blobLog: BlobLog | undefined;
  /** Creates logged blobs' files on a worker thread, from the log. */
  readonly #placer = new BlobPlacer();
  /** Log records of temps not yet renamed into place or discarded, by temp id (such a temp has no file). */
  readonly #tickets = new Map<string, LogTicket>();
  /** Blobs renamed into place from a logged temp by a deferred commit, until its syncCommits: the log holds them, no folder fsync is due. */
  readonly #logged = new Set<string>();
  /** What start-up replays from the blob log after a crash; undefined when not durable. */
  readonly logReplay: LogReplay | undefined;

  constructor(options: DiskBlobStoreOptions) {
    this.root = options.root;
    this.blobDir = join(options.root, 'blobs');
    this.tmpDir = join(options.root, 'tmp');
    this.durable = options.durable ?? true;
    this.#syncDir = options.syncDir ?? syncDir;
    this.parts = new DiskUploadParts({ dir: join(options.root, 'uploads'), durable: this.durable, isDiskFull });
    this.forms = new DiskBlobForms({
      dirOf: (sha) => this.dirOf(sha),
      dirMissing: (sha) => this.#dirMissing(sha),
      newTempPath: (suffix) => this.newTempPath(suffix),
      journalDir: join(options.root, 'swaps'),
      quarantineDir: join(options.root, 'quarantine'),
      durable: this.durable,
      isDiskFull,
      syncDir: this.#syncDir,
    });
    this.inventory = new DiskInventory({ root: options.root, forms: this.forms });
    this.blobLog = this.durable
      ? new BlobLog({
          dir: join(options.root, 'blob-log'),
          blobDir: this.blobDir,
          syncDir: this.#syncDir,
          syncFile,
          checkpointMs: options.log?.checkpointMs,
          syncFilesystem: options.log?.syncFilesystem,
          log: options.log?.onMessage,
          dataSync: options.log?.dataSync,
          onRetire: (segment) => this.#placer.forget(segment),
        })
      : undefined;
    const blobLog = this.blobLog;
    this.logReplay = blobLog && {
      leftovers: () => blobLog.segmentFiles(),
      records: (segment) => blobLog.records(segment),
      restore: (record) => this.#restore(record),
      retire: (segments) => blobLog.retire(segments),
    };
  }

  async init(): Promise<void> {
    await mkdir(this.blobDir, { recursive: true });
    await mkdir(this.tmpDir, { recursive: true });
    await this.blobLog?.init();
  }

  logStatus(): { segments: number; checkpointFailures: number } {
    return { segments: this.blobLog?.pendingSegments ?? 0, checkpointFailures: this.blobLog?.checkpointFailures ?? 0 };
  }

  /** Checkpoints the blob log (the data dir is then left with no log to replay). */
  async close(): Promise<void> {
    await this.blobLog?.close();
    await this.#placer.close();
  }

  /** Folder of a blob's stored forms. */
  dirOf(sha256: string): string {
    // Concatenated, not join()ed: blobDir is normalized and the names are hex.
    return `${this.blobDir}/${sha256.slice(0, 2)}/${sha256.slice(2, 4)}`;
  }

  plainPath(sha256: string): string {
    return `${this.dirOf(sha256)}/${sha256}`;
  }

  /** A fresh path in tmp/ for a temporary object (unique within this store; created with O_EXCL). */
  newTempPath(suffix = ''): string {
    return `${this.tmpDir}/${Date.now().toString(36)}-${this.#tempBase}${(this.#tempSeq++).toString(36)}${suffix}`;
  }

  async writeTemp(body: BodySource | null, options: WriteOptions = {}): Promise<TempBlob> {
    const path = this.newTempPath();
    const hash = createHash('sha256');
    let size = 0;
    let fh: FileHandle | undefined;
    try {
      const chunks = body ? (body as unknown as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]() : undefined;
      const take = (chunk: Uint8Array) => {
        options.signal?.throwIfAborted();
        size += chunk.byteLength;
        if (options.maxBytes !== undefined && size > options.maxBytes) {
          throw new TooLargeError(`upload exceeds the maximum size of ${options.maxBytes} bytes`);
        }
        hash.update(chunk);
      };
      // The first SMALL_BODY_BYTES are gathered: a body that ends within them is written with one
      // write, two thread-pool round trips (open, fsync) instead of five for open, write, flush,
      // fsync and close, each of which costs more than the write of a few KiB itself.
      const head: Uint8Array[] = [];
      let ended = !chunks;
      while (chunks && size <= SMALL_BODY_BYTES) {
        const next = await chunks.next();
        if (next.done) {
          ended = true;
          break;
        }
        take(next.value);
        head.push(next.value);
      }
      options.signal?.throwIfAborted();
      if (ended) {
        // The whole body is here and hashed. Deferred and durable, it goes to the blob log (its
        // file is made when it is committed); deferred and not durable, the file is created and
        // written in the background (syncTemps, commit and discard wait for it), so that a batch
        // goes on to its next file instead of waiting for each new inode in turn.
        const sha256 = hash.digest('hex');
        if (!options.deferSync) await this.#writeSmall(path, head, this.durable);
        else if (this.blobLog) {
          // The log's one fdatasync for every temp written meanwhile stands for this file's fsync;
          // the file is made from the log when it is committed (#install), on the placer's thread.
          this.#tickets.set(path, this.blobLog.append(sha256, head, size));
        } else {
          await this.#creates.onSizeLessThan(1);
          this.#syncLater(path, () => this.#creates.add(() => this.#writeSmall(path, head, false)));
        }
        return { id: path, sha256, size };
      }
      fh = await open(path, NEW_FILE, 0o600);
      // Batched writes overlap with receiving (one awaited write per chunk made them take turns);
      // durable writes sync as they go, so the final fsync does not flush the whole file at once.
      const out = new BatchedWriter(fh, { syncEveryBytes: this.durable ? SYNC_BEHIND_BYTES : undefined });
      for (const chunk of head) await out.write(chunk);
      for (;;) {
        const next = await (chunks as AsyncIterator<Uint8Array>).next();
        if (next.done) break;
        take(next.value);
        await out.write(next.value);
      }
      await out.flush();
      const written = fh;
      fh = undefined;
      await this.#finishTemp(path, options, () => written.sync(), () => written.close());
      return { id: path, sha256: hash.digest('hex'), size };
    } catch (err) {
      await fh?.close().catch(() => {});
      await rm(path, { force: true });
      if (isDiskFull(err)) throw new InsufficientStorageError();
      throw err;
    }
  }

  commit(temp: TempBlob, known?: KnownBlob, options: CommitOptions = {}): Promise<{ stored: boolean; healed?: string }> {
    return checkedCommit(this.forms, { install: (t) => this.#install(t, options.deferSync ?? false), discard: (t) => this.discard(t) }, temp, known);
  }

  async syncTemps(temps: readonly TempBlob[]): Promise<void> {
    const tickets: LogTicket[] = [];
    // A temp may still be being created in the background: waited for (and synced, when durable).
    // A logged one has no file yet: the log's sync makes it durable.
    const files = temps.map((t) => {
      const ticket = this.#tickets.get(t.id);
      if (!ticket) return this.#takeSync(t.id) ?? (this.durable ? syncFile(t.id) : undefined);
      tickets.push(ticket);
      return undefined;
    });
    await Promise.all([...files, tickets.length > 0 ? this.blobLog?.sync(tickets) : undefined]);
  }

  /**
   * A small temp from its gathered bytes: created off the main thread (a new inode can be slow),
   * written with one writev (two thread-pool round trips in all instead of five), fsynced when
   * durable, closed. On failure the partial file is removed and a full disk is
   * InsufficientStorageError, as writeTemp throws it.
   */
  async #writeSmall(path: string, chunks: Uint8Array[], sync: boolean): Promise<void> {
    let fd: number | undefined;
    try {
      fd = await openFd(path, NEW_FILE, 0o600);
      writeAllSync(fd, chunks);
      if (sync) await fsyncFd(fd);
    } catch (err) {
      await rm(path, { force: true }).catch(() => {});
      if (isDiskFull(err)) throw new InsufficientStorageError();
      throw err;
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
  }

  /** A written temp synced (when durable) and closed; with `deferSync` its fsync is left running for syncTemps. */
  async #finishTemp(path: string, options: WriteOptions, sync: () => Promise<void>, close: () => unknown): Promise<void> {
    if (this.durable && options.deferSync) return this.#syncLater(path, () => sync().finally(close));
    try {
      if (this.durable) await sync();
    } finally {
      await close();
    }
  }

  /**
   * A deferred fsync starts at once on the descriptor the temp was written through, then closes
   * it: the file is not opened again by path to be synced (a call of ~100 us per file here).
   * Nothing waits for it until syncTemps (or a commit or discard) takes it.
   */
  #syncLater(id: string, sync: () => Promise<void>): void {
    const done = sync();
    // Observed by whoever takes it; meanwhile no unhandled rejection.
    done.catch(() => {});
    this.#syncing.set(id, done);
  }

  /** The deferred fsync of a temp, if one is running or done and not yet taken. */
  #takeSync(id: string): Promise<void> | undefined {
    const done = this.#syncing.get(id);
    if (done) this.#syncing.delete(id);
    return done;
  }

  /**
   * True when the blob's `ab/cd` folder does not exist, so that no form of it can: one stat of
   * the folder instead of one per possible form, for content whose folder this process has not
   * seen (most new content of a young store). A folder found is remembered.
   */
  #dirMissing(sha256: string): boolean {
    if (this.#dirKnown(sha256)) return false;
    if (!statSync(this.dirOf(sha256), { throwIfNoEntry: false })) return true;
    this.#noteDir(sha256);
    return false;
  }

  #dirKnown(sha256: string): boolean {
    const slot = Number.parseInt(sha256.slice(0, 4), 16);
    return ((this.#knownDirs[slot >> 3] as number) & (1 << (slot & 7))) !== 0;
  }

  #noteDir(sha256: string): void {
    const slot = Number.parseInt(sha256.slice(0, 4), 16);
    this.#knownDirs[slot >> 3] = (this.#knownDirs[slot >> 3] as number) | (1 << (slot & 7));
  }

  async syncCommits(sha256s: readonly string[]): Promise<void> {
    if (!this.durable) return;
    // Blobs put in place from the blob log are durable through it until its checkpoint.
    const rest = sha256s.filter((sha) => !this.#logged.delete(sha));
    if (rest.length === 0) return;
    // The first fsync commits the journal that holds every rename; the others find little left.
    const dirs = new Set(rest.map((sha) => this.dirOf(sha)));
    await Promise.all([this.#syncParents(), ...Array.from(dirs, (dir) => this.#syncDir(dir))]);
  }

  /**
   * Syncs the folders that gained a blob folder since the last call, and waits for any such sync
   * still running: a commit into a folder another commit just created is durable only once the
   * new folder's own entry is. A failed sync leaves its folders to the next call.
   */
  #syncParents(): Promise<void> {
    if (this.#unsyncedParents.size > 0) {
      const dirs = [...this.#unsyncedParents];
      this.#unsyncedParents.clear();
      const before = this.#parentsSynced.catch(() => {});
      const now = Promise.all(dirs.map((d) => this.#syncDir(d))).catch((err: unknown) => {
        for (const d of dirs) this.#unsyncedParents.add(d);
        throw err;
      });
      this.#parentsSynced = Promise.all([before, now]).then(() => {});
    }
    return this.#parentsSynced;
  }

  async #install(temp: TempBlob, deferSync: boolean): Promise<void> {
    const dir = this.dirOf(temp.sha256);
    const ticket = this.#tickets.get(temp.id);
    try {
      const to = this.plainPath(temp.sha256);
      if (ticket && this.blobLog) {
        // The record goes to the file now (the placer reads it back from there); its sync and the
        // placement then run side by side: a file placed before its record is durable is no
        // catalog row's until both are done, and a crash leaves it as garbage at worst (fsck's
        // orphan, or a stored copy the next upload of the content checks and replaces).
        this.blobLog.written(ticket);
        const [synced, placed] = await Promise.allSettled([
          this.blobLog.sync([ticket]),
          this.#placer.place({ segment: ticket.segment.path, offset: ticket.offset, size: ticket.size, tmp: temp.id, to }),
        ]);
        if (synced.status === 'rejected') {
          if (placed.status === 'fulfilled') await rm(to, { force: true });
          throw synced.reason;
        }
        if (placed.status === 'rejected') throw placed.reason;
        this.#noteDir(temp.sha256);
        this.#tickets.delete(temp.id);
        // Only a deferred commit is followed by syncCommits, which takes it out again (a PUT's is not).
        if (deferSync) {
          // A batch that failed after some commits never calls it: bounded, and an entry lost
          // costs no more than a folder fsync that was not needed.
          if (this.#logged.size >= 100_000) this.#logged.clear();
          this.#logged.add(temp.sha256);
        }
        this.blobLog.settle(ticket, to);
        return;
      }
      // A temp committed before syncTemps took its fsync is not made visible before it is synced.
      await this.#takeSync(temp.id);
      await this.#renameIntoFolder(temp.id, to, temp.sha256);
      if (this.durable && !deferSync) await Promise.all([this.#syncDir(dir), this.#syncParents()]);
    } catch (err) {
      await this.discard(temp);
      if (isDiskFull(err)) throw new InsufficientStorageError();
      throw err;
    }
  }

  /**
   * Renames into the blob's folder, creating it only when this process has not seen it yet (a
   * recursive mkdir is two system calls and a thread-pool round trip per commit); a folder removed
   * behind our back shows as ENOENT and is created again.
   */
  async #renameIntoFolder(from: string, to: string, sha256: string): Promise<void> {
    const known = this.#dirKnown(sha256);
    if (!known) await this.#makeFolder(sha256);
    // A rename within one filesystem changes two directory entries: cheaper done here than the
    // thread-pool round trip it would take.
    try {
      renameSync(from, to);
    } catch (err) {
      if (!known || (err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      await this.#makeFolder(sha256);
      await rename(from, to);
    }
    this.#noteDir(sha256);
  }

  /** Creates the blob's `ab/cd` folder (and `ab`) as needed; the folders that gained an entry are kept for the commit's sync. */
  async #makeFolder(sha256: string): Promise<void> {
    const dir = this.dirOf(sha256);
    // The first folder mkdir created, undefined when all were there.
    const first = await mkdir(dir, { recursive: true });
    if (first === undefined || !this.durable) return;
    // Each folder created, from `dir` up to `first`, is a new entry in its parent.
    for (let d = dir; ; d = dirname(d)) {
      this.#unsyncedParents.add(dirname(d));
      if (d === first || d.length <= first.length) break;
    }
  }

  async discard(temp: TempBlob): Promise<void> {
    const ticket = this.#tickets.get(temp.id);
    if (ticket) {
      // Logged: no file was made (a failed placement removed its own); the record is given up.
      this.#tickets.delete(temp.id);
      this.blobLog?.settle(ticket);
      return;
    }
    // A deferred fsync (or background creation) still running is waited for, so that the file
    // is not created after it was removed; its outcome is moot.
    await this.#takeSync(temp.id)?.catch(() => {});
    await rm(temp.id, { force: true }).catch(() => {});
  }

  /**
   * Puts a blob back from a record of the blob log (start-up after a crash): a new plain form,
   * fsynced with its folders, in place of whatever torn file may be there.
   */
  async #restore(record: LogRecord): Promise<void> {
    const temp = await this.writeTemp((async function* () {
      yield record.bytes;
    })());
    if (temp.sha256 !== record.sha256) {
      await this.discard(temp);
      throw new Error(`blob log record of ${record.sha256} hashes to ${temp.sha256}`);
    }
    await this.#install(temp, false);
  }

  async read(sha256: string, range?: ByteRange, where?: BlobLocation, options?: ReadOptions): Promise<ReadableStream<Uint8Array>> {
    return webFromNode(await this.forms.read(sha256, range, where, options));
  }

  quarantine(sha256: string, where: BlobLocation): Promise<boolean> {
    return quarantineIfCorrupt(this.forms, sha256, where);
  }

  /** True when any form (plain or compressed) is stored. */
  has(sha256: string): Promise<boolean> {
    return this.forms.exists(sha256);
  }

  delete(sha256: string): Promise<void> {
    return this.forms.deleteAll(sha256);
  }

  async cleanupTemp(): Promise<number> {
    await mkdir(this.tmpDir, { recursive: true });
    const names = await readdir(this.tmpDir);
    await Promise.all(names.map((n) => rm(join(this.tmpDir, n), { force: true, recursive: true })));
    return names.length;
  }
}

/** fsync a folder so that a rename into it survives a power cut. */
export function syncDir(dir: string): Promise<void> {
  return syncFile(dir);
}

/**
 * fsync a file (or folder) by path: on Linux any descriptor of the inode flushes its data. The
 * inode exists, so opening and closing it are quick calls made here; only the fsync, which waits
 * for the disk, goes to the thread pool.
 */
async function syncFile(path: string): Promise<void> {
  const fd = openSync(path, 'r');
  try {
    await fsyncFd(fd);
  } finally {
    closeSync(fd);
  }
}
