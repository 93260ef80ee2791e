import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { pipeline, type Readable } from 'node:stream';
import PQueue from 'p-queue';
import { chooseTransport, decideAfterHash, decideFromStat, sameStat, type LocalStat } from './change-detect.js';
import type { Clock } from './clock.js';
import { displayName, displayText } from './display-name.js';
import { CancelledError, FileChangedError, HttpStatusError, isGoneError } from './errors.js';
import { BATCH_BYTES, BATCH_FILES, backupBatch } from './batch-upload.js';
import { assertContentUnchanged, checkingStage, hashFile } from './hashing.js';
import { expectStatus, type HttpClient } from './http.js';
import { encodeRemotePath, relativeKey, remotePath } from './remote-path.js';
import { withRetry, type RetryPolicy } from './retry.js';
import type { StateDb, Via } from './state-db.js';
import { throttle, type TokenBucket } from './token-bucket.js';
import { tusUpload, type TusContext } from './tus-upload.js';

/** Files above this go through tus (when the server offers it): a break costs little. */
export const TUS_THRESHOLD = 8 * 1024 * 1024;
/** Bytes per tus PATCH. */
export const TUS_CHUNK = 8 * 1024 * 1024;
/**
 * Files this big or bigger try POST /api/link before sending bytes: by default every file (the
 * contract: instant upload whenever the server holds the content). Raising it trades a round
 * trip per small file for re-sending small duplicates (the server stores them once either way).
 */
export const LINK_MIN_BYTES = 0;
/** A file that keeps changing while we send it is tried this often, then left for later. */
const MAX_ROUNDS = 3;

export interface UploadContext {
  http: HttpClient;
  db: StateDb;
  namespace: string;
  prefix: string[];
  settleMs: number;
  clock: Clock;
  retry: RetryPolicy;
  /** The one shared `--limit-rate` bucket, absent when unlimited. */
  bucket?: TokenBucket;
  /** Whether the server offers tus; re-detected each pass. */
  tus: boolean;
  tusThreshold: number;
  tusChunk: number;
  /** Files this big or bigger try POST /api/link before sending bytes. */
  linkMinBytes: number;
  /** Files up to this size go in batches (POST /api/batch) instead of one PUT each; -1: never. */
  batchFileMaxBytes: number;
  signal: AbortSignal;
  /** A file is about to be sent (for the progress display), then its body bytes as they leave. */
  onSending?: (size: number) => void;
  onBytes?: (n: number) => void;
  /** Retries and resumptions, for the log. */
  note?: (line: string) => void;
}

export interface FileRef {
  segments: string[];
  abs: string;
  size: number;
  mtimeMs: number;
  /** Send it even if the state DB says the server has it (the server's listing says otherwise). */
  force?: boolean;
}

export type Outcome =
  | { kind: 'unchanged' }
  /** Metadata changed, content did not: recorded without sending. */
  | { kind: 'same' }
  | { kind: 'deferred'; retryAtMs: number }
  | { kind: 'gone' }
  | {
      kind: 'sent';
      via: Exclude<Via, 'same'>;
      size: number;
      /** Body bytes this run sent (0 for a link; less than size for a resumed upload). */
      sent: number;
      resumedFrom?: number;
      /** The file changed again after it was sent: look again at this time. */
      recheckAtMs?: number;
    }
  | { kind: 'failed'; message: string }
  /** Cancelled while it was being read or sent; `sent` body bytes had left by then. */
  | { kind: 'interrupted'; sent: number };

export async function statOf(abs: string): Promise<LocalStat | undefined> {
  try {
    const st = await stat(abs);
    return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined;
  } catch (err) {
    if (isGoneError(err)) return undefined;
    throw err;
  }
}

export function mtimeHeader(mtimeMs: number): number {
  return Math.max(0, Math.floor(mtimeMs));
}

/** Base64 SHA-256 for Content-Digest (RFC 9530) from hex. */
export function digestHeader(sha256Hex: string): string {
  return `sha-256=:${Buffer.from(sha256Hex, 'hex').toString('base64')}:`;
}

/** POST /api/link: true when the server recorded the file from content it already holds. */
async function tryLink(ctx: UploadContext, remote: string, sha256: string, mtimeMs: number): Promise<boolean> {
  const body = JSON.stringify({ path: remote, sha256, mtime: mtimeHeader(mtimeMs) });
  const res = await ctx.http.request('POST', 'api/link', {
    headers: { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(body)) },
    body,
    signal: ctx.signal,
  });
  if (res.status === 404) return false;
  expectStatus(res, [200, 201], 'POST', '/api/link');
  return true;
}

/** PUT /files/<path>: the body streamed from disk through the hash check and the rate limiter. */
async function putFile(ctx: UploadContext, f: FileRef, remote: string, sha256: string): Promise<number> {
  const path = `files/${encodeRemotePath(remote)}`;
  let body: Readable | string = '';
  if (f.size > 0) {
    const stages: NodeJS.ReadWriteStream[] = [
      checkingStage({ hash: createHash('sha256'), expectedBytes: f.size, expectedSha256: sha256, onBytes: ctx.onBytes }),
    ];
    if (ctx.bucket) stages.push(throttle(ctx.bucket, ctx.signal));
    // `end` keeps a growing file from sending more than Content-Length announced.
    const source = createReadStream(f.abs, { start: 0, end: f.size - 1, highWaterMark: 256 * 1024 });
    body = (pipeline as (...s: unknown[]) => Readable)(source, ...stages, () => undefined);
  }
  const res = await ctx.http.request('PUT', path, {
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(f.size),
      'Content-Digest': digestHeader(sha256),
      'X-File-Mtime': String(mtimeHeader(f.mtimeMs)),
    },
    body,
    signal: ctx.signal,
  });
  // A digest or length mismatch is our file changing under us, not a bad request: check.
  if (res.status === 400) await assertContentUnchanged(f.abs, f.size, sha256, ctx.signal);
  expectStatus(res, [200, 201], 'PUT', `/${path}`);
  return f.size;
}

/** Sends one hashed file: link by hash first, else PUT or tus, each retried on network/5xx. */
async function send(ctx: UploadContext, f: FileRef, key: string, remote: string, sha256: string): Promise<Extract<Outcome, { kind: 'sent' }>> {
  const retry = {
    policy: ctx.retry,
    clock: ctx.clock,
    signal: ctx.signal,
    onRetry: (err: unknown, attempt: number, ms: number) =>
      ctx.note?.(`retry     ${displayName(key)}: ${displayText((err as Error).message)} (attempt ${attempt + 1} in ${(ms / 1000).toFixed(1)}s)`),
  };
  if (f.size >= ctx.linkMinBytes && (await withRetry(() => tryLink(ctx, remote, sha256, f.mtimeMs), retry))) {
    return { kind: 'sent', via: 'link', size: f.size, sent: 0 };
  }
  if (chooseTransport(f.size, ctx.tus, ctx.tusThreshold) === 'tus') {
    let furthest = -1;
    let furthestAtLastTry = -1;
    const tctx: TusContext = {
      http: ctx.http,
      db: ctx.db,
      chunkBytes: ctx.tusChunk,
      throttle: ctx.bucket ? () => throttle(ctx.bucket as TokenBucket, ctx.signal) : undefined,
      onBytes: ctx.onBytes,
      onResume: (offset) => ctx.note?.(`resume    ${displayName(key)} from byte ${offset} of ${f.size}`),
      onOffset: (offset) => (furthest = Math.max(furthest, offset)),
      now: ctx.clock.now,
      signal: ctx.signal,
    };
    let sent = 0;
    let resumedFrom: number | undefined;
    await withRetry(async () => {
      const r = await tusUpload(tctx, { key, remotePath: remote, abs: f.abs, size: f.size, mtimeMs: f.mtimeMs, sha256 });
      sent += r.sent;
      resumedFrom ??= r.resumedFrom;
    }, {
      ...retry,
      // A connection that keeps dropping while the upload advances is not a dead server.
      progressed: () => {
        const moved = furthest > furthestAtLastTry;
        furthestAtLastTry = furthest;
        return moved;
      },
    });
    return { kind: 'sent', via: 'tus', size: f.size, sent, resumedFrom };
  }
  const sent = await withRetry(() => putFile(ctx, f, remote, sha256), retry);
  return { kind: 'sent', via: 'put', size: f.size, sent };
}

export function failureMessage(err: unknown): string {
  if (err instanceof HttpStatusError) return `server refused: ${err.status} ${err.serverMessage}`;
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EBUSY' || code === 'EPERM' || code === 'EACCES') {
    return `cannot read (${code}: locked or not permitted); tried again next pass`;
  }
  return (err as Error).message ?? String(err);
}

/**
 * Backs up one file: decide from metadata, hash, record-or-link-or-send, then check the file did
 * not change meanwhile. A record is written only after the server confirmed the content.
 */
export async function backupFile(outer: UploadContext, file: FileRef): Promise<Outcome> {
  // Files still waiting in the queue when the pass is stopped were never in flight.
  if (outer.signal.aborted) throw new CancelledError();
  let sentNow = 0;
  const ctx: UploadContext = {
    ...outer,
    onBytes: (n) => {
      sentNow += n;
      outer.onBytes?.(n);
    },
  };
  const key = relativeKey(file.segments);
  const remote = remotePath(ctx.namespace, ctx.prefix, file.segments);
  let current: LocalStat = { size: file.size, mtimeMs: file.mtimeMs };
  let lastSent: Extract<Outcome, { kind: 'sent' }> | undefined;
  try {
    for (let round = 0; round < MAX_ROUNDS; round++) {
      if (round > 0) {
        const now = await statOf(file.abs);
        if (!now) return lastSent ?? { kind: 'gone' };
        current = now;
      }
      // A forced file ignores its record until it has been sent once.
      const record = file.force && !lastSent ? undefined : ctx.db.getFile(key);
      const first = decideFromStat(current, record, remote, ctx.clock.now(), ctx.settleMs);
      if (first.action === 'unchanged') return lastSent ?? { kind: 'unchanged' };
      if (first.action === 'defer') return lastSent ? { ...lastSent, recheckAtMs: first.retryAtMs } : { kind: 'deferred', retryAtMs: first.retryAtMs };

      const snapshot = { ...file, ...current };
      let sha256: string;
      try {
        sha256 = await hashFile(file.abs, current.size, ctx.signal);
        if (!sameStat(current, await statOf(file.abs))) continue;
      } catch (err) {
        if (err instanceof FileChangedError) continue;
        throw err;
      }

      let via: Via;
      if (decideAfterHash(sha256, record, remote).action === 'record') {
        via = 'same';
      } else {
        try {
          ctx.onSending?.(current.size);
          lastSent = await send(ctx, snapshot, key, remote, sha256);
        } catch (err) {
          if (err instanceof FileChangedError) continue;
          throw err;
        }
        via = lastSent.via;
      }
      // The server holds exactly these bytes, which were the file at `current`.
      ctx.db.putFile({ path: key, remotePath: remote, size: current.size, mtimeMs: current.mtimeMs, sha256, via, confirmedAt: ctx.clock.now() });
      if (sameStat(current, await statOf(file.abs))) return lastSent ?? { kind: 'same' };
    }
    // Still changing after several tries: it is being written; come back after it settles.
    const retryAtMs = ctx.clock.now() + Math.max(ctx.settleMs, 1000);
    return lastSent ? { ...lastSent, recheckAtMs: retryAtMs } : { kind: 'deferred', retryAtMs };
  } catch (err) {
    if (err instanceof CancelledError || ctx.signal.aborted) return { kind: 'interrupted', sent: sentNow };
    if (isGoneError(err)) return lastSent ?? { kind: 'gone' };
    return { kind: 'failed', message: failureMessage(err) };
  }
}

interface Slot {
  /** A newer look at the file, reported while it was waiting or being sent. */
  again?: FileRef;
  done: ((o: Outcome, f: FileRef) => void)[];
}

/**
 * The upload queue: `--concurrency` requests at once, a bounded backlog (the scanner waits
 * instead of piling up 100k pending tasks), and never the same file twice at once (a watch event
 * for a file being sent is remembered and handled right after). Small files gather into batches
 * (BATCH_FILES files or BATCH_BYTES bytes, or whatever is there when the queue is asked to go
 * idle); each batch is one task of the queue.
 */
export class Uploader {
  readonly queue: PQueue;
  private readonly active = new Map<string, Slot>();
  private pending: { key: string; file: FileRef; slot: Slot }[] = [];
  private pendingBytes = 0;
  /** The server answered a batch with 404: one request per file from now on. */
  private batchRefused = false;

  constructor(
    private readonly ctx: () => UploadContext,
    readonly concurrency: number,
  ) {
    this.queue = new PQueue({ concurrency });
  }

  /** Queues `file`; `done` hears its outcome. Resolves once queued (not once sent). */
  async submit(file: FileRef, done: (o: Outcome, f: FileRef) => void): Promise<void> {
    await this.queue.onSizeLessThan(this.concurrency * 2);
    const key = relativeKey(file.segments);
    const running = this.active.get(key);
    if (running) {
      running.again = file;
      running.done.push(done);
      return;
    }
    const slot: Slot = { done: [done] };
    this.active.set(key, slot);
    if (!this.batchRefused && file.size <= this.ctx().batchFileMaxBytes) {
      this.pending.push({ key, file, slot });
      this.pendingBytes += file.size;
      if (this.pending.length >= BATCH_FILES || this.pendingBytes >= BATCH_BYTES) this.sendPending();
      return;
    }
    void this.queue
      .add(async () => {
        try {
          await this.follow(slot, file);
        } finally {
          // In the same tick as the last check of `again`: no later request is lost.
          this.active.delete(key);
        }
      })
      .catch(() => undefined);
  }

  /** Backs up `next`, then whatever was reported for the same file meanwhile, one at a time. */
  private async follow(slot: Slot, next: FileRef | undefined): Promise<void> {
    while (next) {
      const current: FileRef = next;
      const listeners = slot.done;
      slot.again = undefined;
      slot.done = [];
      const outcome = await backupFile(this.ctx(), current);
      for (const l of listeners) l(outcome, current);
      if (outcome.kind === 'interrupted') break;
      next = slot.again;
    }
  }

  /** Turns the gathered small files into one batch task. */
  private sendPending(): void {
    const items = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    if (items.length === 0) return;
    // Stopped: like the queued tasks the stop clears, files that waited for a batch were never in flight.
    if (this.ctx().signal.aborted) {
      for (const it of items) this.active.delete(it.key);
      return;
    }
    void this.queue
      .add(async () => {
        try {
          // The newest look at each file counts (reported while it waited); its listeners all hear.
          const taken = items.map((it) => {
            const file = it.slot.again ?? it.file;
            const listeners = it.slot.done;
            it.slot.again = undefined;
            it.slot.done = [];
            return { ...it, file, listeners };
          });
          const outcomes = await backupBatch(
            this.ctx(),
            taken.map((t) => t.file),
            (f) => backupFile(this.ctx(), f),
            () => (this.batchRefused = true),
          );
          for (const [i, t] of taken.entries()) {
            const outcome = outcomes[i];
            // Stopped before it was started: nobody hears of it, as with a queued single file.
            if (!outcome) continue;
            for (const l of t.listeners) l(outcome, t.file);
            if (outcome.kind !== 'interrupted') await this.follow(t.slot, t.slot.again);
          }
        } finally {
          for (const it of items) this.active.delete(it.key);
        }
      })
      .catch(() => undefined);
  }

  /** Resolves once everything submitted so far is done (a partly filled batch is sent now). */
  async onIdle(): Promise<void> {
    this.sendPending();
    await this.queue.onIdle();
  }
}
