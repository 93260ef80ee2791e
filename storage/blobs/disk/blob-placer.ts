import { once } from 'node:events';
import { Worker } from 'node:worker_threads';

/** One small blob to put in place from its record in the blob log. */
export interface Placement {
  /** The log segment holding the bytes, and where they start in it. */
  segment: string;
  offset: number;
  size: number;
  /** A fresh path in tmp/ (written, then renamed). */
  tmp: string;
  /** The blob's plain path (`blobs/ab/cd/<sha256>`); its folder is created when missing. */
  to: string;
}

/** A failure in the worker, as far as it crosses the thread boundary. */
interface PlaceFailure {
  code?: string;
  message: string;
}

/**
 * The worker's code: plain CommonJS with node builtins only, run with `eval` so that it needs no
 * file of its own next to the bundled server (tsx, tsc's dist/ and the bundle alike).
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const fs = require('node:fs');
const { dirname } = require('node:path');
const NEW_FILE = fs.constants.O_CREAT | fs.constants.O_EXCL | fs.constants.O_WRONLY;
const segments = new Map();
function segmentFd(path) {
  let fd = segments.get(path);
  if (fd === undefined) {
    fd = fs.openSync(path, 'r');
    segments.set(path, fd);
  }
  return fd;
}
// One buffer for every placement (blobs in the log are 64 KiB at most): no garbage per file.
let scratch = Buffer.allocUnsafe(64 * 1024);
// The blob folders (ab and ab/cd) this thread made or found: a new folder is made with one
// mkdir each, not found missing by a failed rename first (most blobs of a young store need one).
const known = new Set();
function makeDir(dir) {
  try {
    fs.mkdirSync(dir);
  } catch (err) {
    if (err.code !== 'EEXIST') throw err;
  }
  known.add(dir);
}
function ensureFolder(dir) {
  if (known.has(dir)) return;
  const parent = dirname(dir);
  try {
    if (!known.has(parent)) makeDir(parent);
    makeDir(dir);
  } catch (err) {
    // blobs/ itself is gone: everything up to the folder is made again.
    if (err.code !== 'ENOENT') throw err;
    fs.mkdirSync(dir, { recursive: true });
    known.add(dir);
  }
}
function place(p) {
  if (scratch.length < p.size) scratch = Buffer.allocUnsafe(p.size);
  const bytes = scratch;
  for (let got = 0; got < p.size; ) {
    const n = fs.readSync(segmentFd(p.segment), bytes, got, p.size - got, p.offset + got);
    if (n === 0) throw new Error('the blob log segment ends before the record does');
    got += n;
  }
  const fd = fs.openSync(p.tmp, NEW_FILE, 0o600);
  try {
    for (let put = 0; put < p.size; ) put += fs.writeSync(fd, bytes, put, p.size - put);
  } catch (err) {
    fs.closeSync(fd);
    fs.rmSync(p.tmp, { force: true });
    throw err;
  }
  fs.closeSync(fd);
  try {
    ensureFolder(dirname(p.to));
    try {
      fs.renameSync(p.tmp, p.to);
    } catch (err) {
      // A folder removed behind this thread's back: made again.
      if (err.code !== 'ENOENT') throw err;
      fs.mkdirSync(dirname(p.to), { recursive: true });
      fs.renameSync(p.tmp, p.to);
    }
  } catch (err) {
    fs.rmSync(p.tmp, { force: true });
    throw err;
  }
}
parentPort.on('message', (m) => {
  if (m.close) {
    for (const fd of segments.values()) fs.closeSync(fd);
    segments.clear();
    parentPort.close();
    return;
  }
  if (m.forget !== undefined) {
    const fd = segments.get(m.forget);
    if (fd !== undefined) fs.closeSync(fd);
    segments.delete(m.forget);
    return;
  }
  const failures = m.items.map((p) => {
    try {
      place(p);
      return null;
    } catch (err) {
      return { code: err.code, message: err.message };
    }
  });
  parentPort.postMessage({ id: m.id, failures });
});
`;

/** A worker idle this long is stopped (a thread and its heap are some megabytes of RSS). */
const IDLE_MS = 10_000;

interface Waiting {
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Creates the files of small logged blobs (a batch's, a PUT's) on a worker thread, from their records in the blob
 * log: read back (from the page cache), written to tmp/, renamed into place, folders created as
 * needed. Every placement asked for in one event-loop turn goes in one message, so a batch of 256
 * files costs the main thread two messages instead of some 1,000 file system calls and thread-pool
 * round trips. No fsync: the log holds the bytes until its checkpoint (storage/blobs/disk/blob-log.ts).
 */
export class BlobPlacer {
  #worker: Worker | null = null;
  #queue: { placement: Placement; waiting: Waiting }[] = [];
  #scheduled = false;
  #seq = 0;
  #idle: NodeJS.Timeout | null = null;
  /** Messages sent and not yet answered, with the worker each went to (an idle one may be closing while a new one works). */
  readonly #inFlight = new Map<number, { worker: Worker; waiting: Waiting[] }>();

  /** Resolves once the blob is in place; rejects with an Error carrying the system call's `code`. */
  place(placement: Placement): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ placement, waiting: { resolve, reject } });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#flush());
      }
    });
  }

  /** The worker closes what it holds open of a segment (before the segment is deleted). */
  forget(segment: string): void {
    this.#worker?.postMessage({ forget: segment });
  }

  /** Stops the worker once it has closed its descriptors (the ones it opened are the process's). */
  async close(): Promise<void> {
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    const worker = this.#worker;
    if (!worker) return;
    this.#worker = null;
    const exited = once(worker, 'exit');
    worker.postMessage({ close: true });
    const late = setTimeout(() => void worker.terminate(), 5_000);
    await exited;
    clearTimeout(late);
  }

  #flush(): void {
    this.#scheduled = false;
    const queue = this.#queue;
    this.#queue = [];
    if (queue.length === 0) return;
    const id = this.#seq++;
    if (this.#idle) clearTimeout(this.#idle);
    this.#idle = null;
    const worker = this.#started();
    this.#inFlight.set(id, { worker, waiting: queue.map((q) => q.waiting) });
    worker.ref();
    worker.postMessage({ id, items: queue.map((q) => q.placement) });
  }

  #started(): Worker {
    if (this.#worker) return this.#worker;
    const worker = new Worker(WORKER_SOURCE, { eval: true });
    worker.on('message', (m: { id: number; failures: (PlaceFailure | null)[] }) => {
      const waiting = this.#inFlight.get(m.id)?.waiting ?? [];
      this.#inFlight.delete(m.id);
      waiting.forEach((w, i) => {
        const f = m.failures[i];
        if (!f) w.resolve();
        else w.reject(Object.assign(new Error(f.message), { code: f.code }));
      });
      if (![...this.#inFlight.values()].some((sent) => sent.worker === worker)) {
        worker.unref();
        if (worker === this.#worker) this.#idle ??= setTimeout(() => void this.close(), IDLE_MS).unref();
      }
    });
    const fail = (err: Error) => {
      // A worker that died takes its own placements with it: each fails, the next one starts a new worker.
      if (this.#worker === worker) this.#worker = null;
      for (const [id, sent] of this.#inFlight) {
        if (sent.worker !== worker) continue;
        this.#inFlight.delete(id);
        for (const w of sent.waiting) w.reject(err);
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`the blob placer's worker exited (${code})`)));
    this.#worker = worker;
    return worker;
  }
}
