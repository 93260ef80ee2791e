import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, constants, existsSync, fdatasync, openSync } from 'node:fs';
import { mkdir, open, readdir, rm } from 'node:fs/promises';
import { dirname } from 'node:path';
import { promisify } from 'node:util';
import { writeAllSync } from './batched-writer.js';
import { SMALL_BODY_BYTES } from '../../../core/sizes.js';

const datasyncFd = promisify(fdatasync);
/** 'CBL1', then the content's size (u32, big-endian) and its SHA-256 (32 bytes); the content follows. */
const MAGIC = 0x43424c31;
const HEADER_BYTES = 40;
/** A segment is sealed once it holds this much (it is also sealed `checkpointMs` after its first record). */
const SEGMENT_BYTES = 64 << 20;
/** Records are gathered up to this many bytes before they are written (sync writes them at once). */
const WRITE_BATCH_BYTES = 256 * 1024;
/** How long a failed checkpoint waits before it is tried again. */
const RETRY_MS = 5_000;

export interface BlobLogOptions {
  /** Folder of the log's segments (`<data>/blob-log`), on the blobs' filesystem. */
  dir: string;
  /** The blob folder the checkpoint makes durable (`<data>/blobs`): syncfs of its filesystem. */
  blobDir: string;
  /** fsync of a folder: the log's, once per new segment; the blobs' folders when syncfs is not to be had. */
  syncDir: (dir: string) => Promise<void>;
  /** fsync of a file by path (the fallback checkpoint). */
  syncFile: (path: string) => Promise<void>;
  /** A segment is sealed this long after its first record, and checkpointed once its blobs are in place (default 1 s). */
  checkpointMs?: number;
  /** Flushes the whole filesystem that holds `path` (default: `sync -f`, which is syncfs(2)). */
  syncFilesystem?: (path: string) => Promise<void>;
  log?: (line: string) => void;
  /** Called before a checkpointed segment is deleted (the placer closes what it holds open of it). */
  onRetire?: (segment: string) => void;
  /** fdatasync of a segment's descriptor (tests make it fail); the real one by default. */
  dataSync?: (fd: number) => Promise<void>;
}

/** What a record in the log stands for until its blob is in place: see BlobLog.append. */
export interface LogTicket {
  readonly segment: Segment;
  /** Bytes of the segment up to the end of this record: a sync that covers them makes the record durable. */
  readonly end: number;
  /** Where the content starts in the segment file, and its size. */
  readonly offset: number;
  readonly size: number;
}

/** One record found in a segment at start-up. */
export interface LogRecord {
  sha256: string;
  bytes: Uint8Array;
}

interface Segment {
  readonly path: string;
  readonly fd: number;
  /** The fsync of the log's folder that makes the segment's own entry durable. */
  readonly entrySynced: Promise<void>;
  /** Bytes appended, written or not. */
  written: number;
  /** Appended but not yet written: a write per WRITE_BATCH_BYTES, or at the next sync. */
  buffered: Uint8Array[];
  bufferedBytes: number;
  synced: number;
  syncing: Promise<void> | null;
  /** Records whose blob is neither renamed into place nor given up yet. */
  unsettled: number;
  /** No more records: waiting for its checkpoint. */
  sealed: boolean;
  /** Plain paths of the blobs put in place from its records (the fallback checkpoint fsyncs them). */
  readonly placed: string[];
  /** A write or sync failed: the segment takes no more records and fails every later sync. */
  failed?: Error;
}

/**
 * A write-ahead log for small uploads (a batch's files, a small PUT). Each small blob's bytes are
 * appended to the current segment, and one fdatasync of the segment makes a whole batch durable
 * (and every upload appended while it runs); the blob files themselves are created and renamed
 * into place without an fsync each (storage/blobs/disk/blob-placer.ts). A
 * checkpoint then makes them durable all at once: syncfs(2) of the blobs' filesystem (`sync -f`),
 * or, where that fails, an fsync of each file and folder in the background. Only then is the
 * segment deleted. So a batch of 256 files costs two syncs (this log's and the catalog's) instead
 * of one per file and folder, and a power cut loses nothing: start-up (storage/blobs/log-replay.ts)
 * puts back from the log every blob the catalog names whose stored form is gone or torn.
 *
 * A segment is checkpointed only once every record in it is settled (its blob renamed into
 * place, or given up), so a checkpoint never deletes the only durable copy of a blob that is
 * renamed into place after it.
 */
export class BlobLog {
  readonly dir: string;
  readonly #options: BlobLogOptions;
  readonly #checkpointMs: number;
  readonly #syncFilesystem: (path: string) => Promise<void>;
  #current: Segment | null = null;
  readonly #sealed: Segment[] = [];
  #checkpointing: Promise<void> | null = null;
  #again = false;
  #retry: NodeJS.Timeout | null = null;
  #seq = 0;
  #warned = false;
  #closed = false;
  #failures = 0;

  constructor(options: BlobLogOptions) {
    this.dir = options.dir;
    this.#options = options;
    this.#checkpointMs = options.checkpointMs ?? 1_000;
    this.#syncFilesystem = options.syncFilesystem ?? syncFilesystem;
  }

  async init(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
  }

  /**
   * Appends one blob's bytes (SMALL_BODY_BYTES at most; the chunks are kept, not copied, until
   * written) to the current segment. Records are written together, WRITE_BATCH_BYTES at a time
   * or at the next sync, with one write on this thread (small writes to the page cache cost less
   * here than a thread-pool round trip). The ticket must be settled exactly once: after the blob
   * is renamed into place, or when it is given up.
   */
  append(sha256: string, chunks: readonly Uint8Array[], size: number): LogTicket {
    if (size > SMALL_BODY_BYTES) throw new RangeError(`the blob log takes blobs of up to ${SMALL_BODY_BYTES} bytes`);
    const seg = this.#current ?? this.#openSegment();
    const header = Buffer.alloc(HEADER_BYTES);
    header.writeUInt32BE(MAGIC, 0);
    header.writeUInt32BE(size, 4);
    header.write(sha256, 8, 'hex');
    seg.buffered.push(header, ...chunks);
    seg.bufferedBytes += HEADER_BYTES + size;
    const offset = seg.written + HEADER_BYTES;
    seg.written += HEADER_BYTES + size;
    seg.unsettled++;
    const ticket = { segment: seg, end: seg.written, offset, size };
    if (seg.bufferedBytes >= WRITE_BATCH_BYTES) this.#write(seg);
    if (seg.written >= SEGMENT_BYTES) this.#seal(seg);
    return ticket;
  }

  /** Writes what is buffered. A failure fails the segment: a torn record ends what start-up reads of it. */
  #write(seg: Segment): void {
    if (seg.bufferedBytes === 0 || seg.failed) return;
    const chunks = seg.buffered;
    seg.buffered = [];
    seg.bufferedBytes = 0;
    try {
      writeAllSync(seg.fd, chunks);
    } catch (err) {
      this.#fail(seg, err as Error);
    }
  }

  /** Writes the ticket's record (and any gathered before it) to the segment file now, without a sync. */
  written(ticket: LogTicket): void {
    this.#write(ticket.segment);
    if (ticket.segment.failed) throw ticket.segment.failed;
  }

  /** Resolves once every ticket's record is durable: one fdatasync per segment for all records written so far. */
  async sync(tickets: readonly LogTicket[]): Promise<void> {
    const ends = new Map<Segment, number>();
    for (const t of tickets) ends.set(t.segment, Math.max(ends.get(t.segment) ?? 0, t.end));
    await Promise.all(Array.from(ends, ([seg, end]) => this.#syncTo(seg, end)));
  }

  /** The ticket's blob is renamed into place at `placed` (undefined: given up, nothing placed). */
  settle(ticket: LogTicket, placed?: string): void {
    const seg = ticket.segment;
    if (placed !== undefined) seg.placed.push(placed);
    seg.unsettled--;
    if (seg.sealed && seg.unsettled === 0) this.#kick();
  }

  /** Segments not yet checkpointed (tests and /metrics look). */
  get pendingSegments(): number {
    return this.#sealed.length + (this.#current ? 1 : 0);
  }

  /** Checkpoints that could not flush since start (each keeps its segments for the next try). */
  get checkpointFailures(): number {
    return this.#failures;
  }

  /** Seals the current segment and checkpoints every settled one now. */
  async checkpoint(): Promise<void> {
    if (this.#current) this.#seal(this.#current);
    this.#kick();
    while (this.#checkpointing) await this.#checkpointing;
  }

  /**
   * Stops taking records and checkpoints what is settled (waiting up to `waitMs` for the rest).
   * A segment left over is put back at the next start-up, as after a crash.
   */
  async close(waitMs = 10_000): Promise<void> {
    this.#closed = true;
    if (this.#retry) clearTimeout(this.#retry);
    const until = Date.now() + waitMs;
    await this.checkpoint();
    while (this.#sealed.length > 0 && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 20));
      await this.checkpoint();
    }
  }

  /** Every segment file in the folder now, oldest first (start-up: before any record is appended). */
  async segmentFiles(): Promise<string[]> {
    const names = await readdir(this.dir).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return [] as string[];
      throw err;
    });
    return names.filter((n) => n.endsWith('.log')).sort().map((n) => `${this.dir}/${n}`);
  }

  /**
   * The records of a segment left by an earlier run, in order, up to the first that is torn (a
   * crash mid-append) or does not hash to its name. Read a record at a time.
   */
  async *records(path: string): AsyncGenerator<LogRecord> {
    const fh = await open(path, 'r');
    try {
      const header = Buffer.alloc(HEADER_BYTES);
      for (let pos = 0; ; ) {
        const { bytesRead } = await fh.read(header, 0, HEADER_BYTES, pos);
        if (bytesRead < HEADER_BYTES || header.readUInt32BE(0) !== MAGIC) return;
        const size = header.readUInt32BE(4);
        if (size > SMALL_BODY_BYTES) return;
        const sha256 = header.toString('hex', 8, HEADER_BYTES);
        const bytes = Buffer.alloc(size);
        const body = size > 0 ? (await fh.read(bytes, 0, size, pos + HEADER_BYTES)).bytesRead : 0;
        if (body < size || createHash('sha256').update(bytes).digest('hex') !== sha256) return;
        yield { sha256, bytes };
        pos += HEADER_BYTES + size;
      }
    } finally {
      await fh.close();
    }
  }

  /** Deletes segments left by an earlier run once what was put back from them is durable. */
  async retire(paths: readonly string[]): Promise<void> {
    if (paths.length === 0) return;
    await this.#syncFilesystem(this.#options.blobDir);
    for (const p of paths) await rm(p, { force: true });
  }

  #openSegment(): Segment {
    if (this.#closed) throw new Error('the blob log is closed');
    const path = `${this.dir}/${Date.now().toString(36).padStart(9, '0')}-${process.pid}-${(this.#seq++).toString(36)}.log`;
    const fd = openSync(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
    const entrySynced = this.#options.syncDir(this.dir);
    entrySynced.catch(() => {});
    const seg: Segment = { path, fd, entrySynced, written: 0, buffered: [], bufferedBytes: 0, synced: 0, syncing: null, unsettled: 0, sealed: false, placed: [] };
    this.#current = seg;
    // Infinity (tests): sealed only by checkpoint() or close(), as a power cut would find it.
    if (Number.isFinite(this.#checkpointMs)) setTimeout(() => this.#seal(seg), this.#checkpointMs).unref();
    return seg;
  }

  #seal(seg: Segment): void {
    if (seg.sealed) return;
    seg.sealed = true;
    if (this.#current === seg) this.#current = null;
    this.#sealed.push(seg);
    if (seg.unsettled === 0) this.#kick();
  }

  #fail(seg: Segment, err: Error): void {
    seg.failed ??= err;
    this.#seal(seg);
  }

  async #syncTo(seg: Segment, end: number): Promise<void> {
    for (;;) {
      if (seg.failed) throw seg.failed;
      if (seg.synced >= end) return;
      if (seg.syncing) {
        await seg.syncing.catch(() => {});
        continue;
      }
      this.#write(seg);
      if (seg.failed) throw seg.failed;
      const target = seg.written;
      seg.syncing = (async () => {
        try {
          await Promise.all([(this.#options.dataSync ?? datasyncFd)(seg.fd), seg.entrySynced]);
          seg.synced = target;
        } catch (err) {
          // After a failed fsync the kernel may have dropped the pages: this segment is not to be trusted.
          this.#fail(seg, err as Error);
          throw err;
        } finally {
          seg.syncing = null;
        }
      })();
    }
  }

  /** Starts a checkpoint of the settled sealed segments, or asks the running one to look again. */
  #kick(): void {
    if (this.#checkpointing) {
      this.#again = true;
      return;
    }
    this.#checkpointing = this.#runCheckpoints().finally(() => {
      this.#checkpointing = null;
    });
  }

  async #runCheckpoints(): Promise<void> {
    do {
      this.#again = false;
      const ready = this.#sealed.filter((s) => s.unsettled === 0);
      if (ready.length === 0) return;
      try {
        // Every blob of these segments is renamed into place: one flush makes them all durable.
        await this.#flushPlaced(ready);
      } catch (err) {
        this.#failures++;
        this.#options.log?.(`blob log: checkpoint failed (${(err as Error).message}); the log is kept and tried again`);
        if (!this.#closed) this.#retry ??= setTimeout(() => ((this.#retry = null), this.#kick()), RETRY_MS).unref();
        return;
      }
      for (const seg of ready) {
        // A sync given up on (its batch failed) may still run on the descriptor.
        await seg.syncing?.catch(() => {});
        closeSync(seg.fd);
        this.#options.onRetire?.(seg.path);
        this.#sealed.splice(this.#sealed.indexOf(seg), 1);
        // A deletion lost to a power cut only replays blobs that are in place already.
        await rm(seg.path, { force: true });
      }
    } while (this.#again);
  }

  async #flushPlaced(segments: readonly Segment[]): Promise<void> {
    if (segments.every((s) => s.placed.length === 0)) return;
    try {
      await this.#syncFilesystem(this.#options.blobDir);
      return;
    } catch (err) {
      if (!this.#warned) {
        this.#warned = true;
        this.#options.log?.(`blob log: syncfs is not available (${(err as Error).message}); small files are synced one by one`);
      }
    }
    const files = segments.flatMap((s) => s.placed);
    // Each file, its `ab/cd` folder, `ab` and `blobs/` (a folder created for it is an entry in its parent).
    const dirs = new Set<string>();
    for (const f of files) for (let d = dirname(f), i = 0; i < 3; i++, d = dirname(d)) dirs.add(d);
    // A blob deleted since (retention, a failed batch's take-back) needs no sync.
    const gone = (err: NodeJS.ErrnoException) => {
      if (err.code !== 'ENOENT') throw err;
    };
    await Promise.all(files.map((f) => this.#options.syncFile(f).catch(gone)));
    await Promise.all(Array.from(dirs, (d) => this.#options.syncDir(d).catch(gone)));
  }
}

/** coreutils' sync where it usually is (a search of PATH costs an exec attempt per entry), else by PATH; found at the first checkpoint. */
let syncCommand: string | undefined;

/** syncfs(2) of the filesystem holding `path`, by coreutils' `sync -f` (Node has no binding for it). */
export function syncFilesystem(path: string): Promise<void> {
  const command = (syncCommand ??= ['/usr/bin/sync', '/bin/sync'].find((p) => existsSync(p)) ?? 'sync');
  return new Promise((resolve, reject) => {
    const child = spawn(command, ['-f', path], { stdio: 'ignore' });
    child.once('error', reject);
    child.once('exit', (code, signal) => (code === 0 ? resolve() : reject(new Error(`sync -f exited with ${signal ?? code}`))));
  });
}
