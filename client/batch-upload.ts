import { createReadStream } from 'node:fs';
import { pipeline, Readable } from 'node:stream';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { decideAfterHash, decideFromStat, sameStat, type LocalStat } from './change-detect.js';
import { displayName, displayText } from './display-name.js';
import { CancelledError, FileChangedError, HttpStatusError, isGoneError } from './errors.js';
import { hashFile, hashSmallFile, readSmallFile, SMALL_FILE_BYTES, statNow } from './hashing.js';
import { expectStatus, serverMessage } from './http.js';
import { relativeKey, remotePath } from './remote-path.js';
import { withRetry } from './retry.js';
import { throttle, throttled } from './token-bucket.js';
import { failureMessage, mtimeHeader, type FileRef, type Outcome, type UploadContext } from './uploader.js';

/** The server's per-file limit for POST /api/batch: bigger files go by PUT or tus. */
export const BATCH_FILE_MAX_BYTES = 1024 * 1024;
/** A batch is sent once it holds this many files... */
export const BATCH_FILES = 256;
/** ...or this many bytes of content (well under the server's 1000 files / 32 MiB). */
export const BATCH_BYTES = 8 * 1024 * 1024;
export const BATCH_CONTENT_TYPE = 'application/vnd.cloud-backup.batch';
/** Files read with synchronous calls between two turns of the event loop (sockets, timers, other batches). */
const SYNC_READS_PER_TURN = 32;

/** statNow, with any error (EACCES on a folder above) as "not the file it was". */
function statQuietly(abs: string): LocalStat | undefined {
  try {
    return statNow(abs);
  } catch {
    return undefined;
  }
}

/** A file of the batch, hashed and about to be sent. */
interface Ready {
  i: number;
  file: FileRef;
  key: string;
  remote: string;
  sha256: string;
  stat: LocalStat;
  header: Buffer;
}

interface BatchAnswer {
  results: { status: number; error?: string }[];
}

/**
 * Backs up small files in one POST /api/batch (docs/uploads.md): each is decided from its stat
 * and hash as backupFile does, then every file to send goes in one request. A file that changed
 * on the way, or that the server refused for its hash, goes through `single` (backupFile), which
 * copes with files being written. `unsupported` is told when the server has no batch route;
 * then every file goes through `single`. Outcomes in the order of `files`; when stopped, files
 * never started (not read, not on their way) have none, like queued single files.
 */
export async function backupBatch(
  ctx: UploadContext,
  files: readonly FileRef[],
  single: (f: FileRef) => Promise<Outcome>,
  unsupported: () => void,
): Promise<(Outcome | undefined)[]> {
  const outcomes: (Outcome | undefined)[] = new Array(files.length);
  const later: number[] = [];
  /** Files the batch stored that changed right after: what to report if the retry finds nothing to do. */
  const sentFirst = new Map<number, Outcome>();
  const ready: Ready[] = [];
  /** The file being read now, then (-1) the request being sent: what a stop interrupts. */
  let current = -1;
  let sending = false;
  let syncReads = 0;
  try {
    for (const [i, file] of files.entries()) {
      if (syncReads >= SYNC_READS_PER_TURN) {
        syncReads = 0;
        await nextTurn();
      }
      current = i;
      if (ctx.signal.aborted) throw new CancelledError();
      const key = relativeKey(file.segments);
      const remote = remotePath(ctx.namespace, ctx.prefix, file.segments);
      const stat: LocalStat = { size: file.size, mtimeMs: file.mtimeMs };
      const record = file.force ? undefined : ctx.db.getFile(key);
      const first = decideFromStat(stat, record, remote, ctx.clock.now(), ctx.settleMs);
      if (first.action === 'unchanged') outcomes[i] = { kind: 'unchanged' };
      else if (first.action === 'defer') outcomes[i] = { kind: 'deferred', retryAtMs: first.retryAtMs };
      if (outcomes[i]) continue;
      try {
        // A small file in one synchronous read, its stat from the open file right after; a bigger
        // one streamed, then stat'ed. Either way a change during the read shows as another stat.
        let sha256: string;
        let after: LocalStat | undefined;
        if (stat.size <= SMALL_FILE_BYTES) {
          syncReads++;
          ({ sha256, stat: after } = hashSmallFile(file.abs, stat.size));
        } else {
          sha256 = await hashFile(file.abs, stat.size, ctx.signal);
          after = statNow(file.abs);
        }
        if (!sameStat(stat, after)) {
          later.push(i);
          continue;
        }
        if (decideAfterHash(sha256, record, remote).action === 'record') {
          ctx.db.putFile({ path: key, remotePath: remote, size: stat.size, mtimeMs: stat.mtimeMs, sha256, via: 'same', confirmedAt: ctx.clock.now() });
          outcomes[i] = { kind: 'same' };
          continue;
        }
        const header = Buffer.from(`${JSON.stringify({ path: remote, size: stat.size, mtime: mtimeHeader(stat.mtimeMs), sha256 })}\n`);
        ready.push({ i, file, key, remote, sha256, stat, header });
      } catch (err) {
        if (err instanceof CancelledError || ctx.signal.aborted) throw err;
        if (err instanceof FileChangedError) later.push(i);
        else if (isGoneError(err)) outcomes[i] = { kind: 'gone' };
        else outcomes[i] = { kind: 'failed', message: failureMessage(err) };
      }
    }
    if (ready.length > 0) {
      current = -1;
      sending = true;
      for (const r of ready) ctx.onSending?.(r.stat.size);
      const answer = await sendBatch(ctx, ready);
      if (!answer) {
        unsupported();
        later.push(...ready.map((r) => r.i));
      } else {
        const ok = (n: number) => {
          const status = answer.results[n]?.status;
          return status === 200 || status === 201;
        };
        // What the server confirmed, recorded in one transaction of the state DB.
        ctx.db.putFiles(
          ready.filter((_, n) => ok(n)).map((r) => ({ path: r.key, remotePath: r.remote, size: r.stat.size, mtimeMs: r.stat.mtimeMs, sha256: r.sha256, via: 'put' as const, confirmedAt: ctx.clock.now() })),
        );
        for (const [n, r] of ready.entries()) {
          const result = answer.results[n];
          if (ok(n)) {
            const sent: Outcome = { kind: 'sent', via: 'put', size: r.stat.size, sent: r.stat.size };
            // Changed again after it was read: backupFile sends it again (and again, while it settles).
            if (sameStat(r.stat, statQuietly(r.file.abs))) outcomes[r.i] = sent;
            else {
              sentFirst.set(r.i, sent);
              later.push(r.i);
            }
          } else if (result?.status === 400 && /sha256/.test(result.error ?? '')) {
            // The bytes we sent were not the ones we hashed: the file is being written.
            later.push(r.i);
          } else {
            outcomes[r.i] = { kind: 'failed', message: `server refused: ${result?.status ?? 'no answer'} ${result?.error ?? 'for this file'}` };
          }
        }
      }
    }
  } catch (err) {
    if (!(err instanceof CancelledError) && !ctx.signal.aborted) {
      // The whole request failed for good (retries used up): every file not settled fails with it.
      const message = failureMessage(err);
      return files.map((_, i) => outcomes[i] ?? { kind: 'failed', message });
    }
    const inFlight = new Set(sending ? ready.map((r) => r.i) : [current]);
    return files.map((_, i) => outcomes[i] ?? (inFlight.has(i) ? { kind: 'interrupted', sent: 0 } : undefined));
  }
  for (const i of later.sort((a, b) => a - b)) {
    const file = files[i] as FileRef;
    // As it is now: the scan's size and mtime are what changed.
    const now = statQuietly(file.abs);
    const outcome: Outcome = now ? await single({ ...file, ...now }) : { kind: 'gone' };
    const first = sentFirst.get(i);
    outcomes[i] = first && (outcome.kind === 'unchanged' || outcome.kind === 'same' || outcome.kind === 'gone') ? first : outcome;
  }
  return outcomes;
}

/** POST /api/batch, retried on network trouble and 5xx; undefined when the server has no such route. */
async function sendBatch(ctx: UploadContext, ready: readonly Ready[]): Promise<BatchAnswer | undefined> {
  const length = ready.reduce((n, r) => n + r.header.byteLength + r.stat.size, 0);
  return withRetry(
    async () => {
      const body = Readable.from(frames(ctx, ready));
      const res = await ctx.http.request('POST', 'api/batch', {
        headers: { 'Content-Type': BATCH_CONTENT_TYPE, 'Content-Length': String(length) },
        body,
        signal: ctx.signal,
      });
      // An older server (404, 405) or one with smaller limits (413): one request per file.
      if (res.status === 404 || res.status === 405 || res.status === 413) return undefined;
      expectStatus(res, [200], 'POST', '/api/batch');
      const answer = JSON.parse(res.text) as BatchAnswer;
      if (!Array.isArray(answer.results) || answer.results.length !== ready.length) {
        throw new HttpStatusError(res.status, `the batch answer has ${answer.results?.length} results for ${ready.length} files: ${serverMessage(res)}`, 'POST', '/api/batch');
      }
      return answer;
    },
    {
      policy: ctx.retry,
      clock: ctx.clock,
      signal: ctx.signal,
      onRetry: (err, attempt, ms) => ctx.note?.(`retry     batch of ${ready.length} files from ${displayName(ready[0]?.key ?? '')}: ${displayText((err as Error).message)} (attempt ${attempt + 1} in ${(ms / 1000).toFixed(1)}s)`),
    },
  );
}

/**
 * The framed body: per file its header line, then exactly `size` bytes read from disk (a second
 * read rather than bytes kept from the hash read: a batch holds up to 8 MiB). A file that shrank
 * or vanished since it was hashed is padded with zeros, so the frame holds and the server refuses
 * that file alone (its hash no longer matches).
 */
async function* frames(ctx: UploadContext, ready: readonly Ready[]): AsyncGenerator<Buffer> {
  for (const r of ready) {
    yield r.header;
    let left = r.stat.size;
    if (left > 0) {
      try {
        for await (const chunk of fileContent(ctx, r.file.abs, left)) {
          const part = chunk.byteLength > left ? chunk.subarray(0, left) : chunk;
          left -= part.byteLength;
          ctx.onBytes?.(part.byteLength);
          yield part;
        }
      } catch {
        // Unreadable now: padded below; the server refuses it and it is tried on its own.
      }
    }
    if (left > 0) yield Buffer.alloc(left);
  }
}

/**
 * Bytes [0, size) of a file as they may leave, through --limit-rate when it is set (only content
 * goes through it, as with PUT: the header lines are not file bytes). A small file is read in one
 * synchronous go (at most SMALL_FILE_BYTES held), a bigger one streamed.
 */
function fileContent(ctx: UploadContext, abs: string, size: number): Iterable<Buffer> | AsyncIterable<Buffer> {
  if (size <= SMALL_FILE_BYTES) {
    const data = Buffer.allocUnsafe(size);
    const bytes = data.subarray(0, readSmallFile(abs, size, data, false).read);
    return ctx.bucket ? throttled(ctx.bucket, bytes, ctx.signal) : [bytes];
  }
  const read = createReadStream(abs, { start: 0, end: size - 1, highWaterMark: 256 * 1024 });
  return ctx.bucket ? (pipeline as (...s: unknown[]) => Readable)(read, throttle(ctx.bucket, ctx.signal), () => undefined) : read;
}
