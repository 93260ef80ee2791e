import { createHash, type Hash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { stat, truncate, writeFile } from 'node:fs/promises';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CancelledError, IntegrityError, NetworkError } from './errors.js';
import { hashFile, hashFileRange } from './hashing.js';
import type { HttpClient } from './http.js';
import { resumeOffset } from './restore-plan.js';
import { throttle, type TokenBucket } from './token-bucket.js';

export interface DownloadContext {
  http: HttpClient;
  bucket?: TokenBucket;
  signal: AbortSignal;
  /** Bytes received (for progress), as they arrive. */
  onBytes(n: number): void;
}

export interface DownloadJob {
  /** `/files/...` URL path (percent-encoded), with `?version=` when one is named. */
  url: string;
  size: number;
  sha256: string;
  /** The partial file: kept between attempts and runs, complete and verified when this returns. */
  partPath: string;
}

export interface DownloadResult {
  /** Body bytes received by this call. */
  received: number;
  /** Where it started (bytes already in the partial file), 0 for a fresh download. */
  resumedFrom: number;
}

async function sizeOf(path: string): Promise<number | undefined> {
  return (await stat(path).catch(() => undefined))?.size;
}

/**
 * Brings `partPath` to the whole content of `job`, resuming from what it already holds with a
 * Range request (`If-Range` on the SHA-256, so changed content comes whole instead). The bytes
 * are hashed as they are written, the partial part re-hashed from disk first: what is returned
 * is verified end to end. Anything short or different throws, the partial kept only when sound.
 */
export async function downloadToPart(ctx: DownloadContext, job: DownloadJob): Promise<DownloadResult> {
  const have = await sizeOf(job.partPath);
  if (have === undefined && job.size === 0) await writeFile(job.partPath, '');
  const from = resumeOffset(have ?? 0, job.size);
  if (from === 'check') {
    if ((await hashFile(job.partPath, job.size, ctx.signal)) === job.sha256) return { received: 0, resumedFrom: job.size };
    await truncate(job.partPath, 0);
    return fetchInto(ctx, job, 0);
  }
  return fetchInto(ctx, job, from);
}

async function fetchInto(ctx: DownloadContext, job: DownloadJob, from: number): Promise<DownloadResult> {
  const headers: Record<string, string> = { 'Accept-Encoding': 'identity' };
  if (from > 0) {
    headers.Range = `bytes=${from}-`;
    headers['If-Range'] = `"${job.sha256}"`;
  }
  const res = await ctx.http.open('GET', job.url, [200, 206], { headers, signal: ctx.signal });
  let start = from;
  if (res.status === 200) {
    start = 0;
  } else if (!String(res.headers['content-range'] ?? '').startsWith(`bytes ${from}-`)) {
    res.body.destroy();
    throw new IntegrityError(`the server answered another range (${String(res.headers['content-range'])}) than asked (from ${from})`);
  }
  const etag = res.headers.etag;
  if (etag !== undefined && etag !== `"${job.sha256}"`) {
    res.body.destroy();
    throw new IntegrityError(`the server holds other content now (ETag ${etag}); run the restore again to take the new listing`);
  }

  const hash = start > 0 ? await hashFileRange(job.partPath, 0, start, ctx.signal) : createHash('sha256');
  let received = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _enc, callback) {
      hash.update(chunk);
      received += chunk.byteLength;
      ctx.onBytes(chunk.byteLength);
      callback(null, chunk);
    },
  });
  // 'r+' at the offset keeps what is there (the file exists: it was just hashed); 'w' starts over.
  const out = createWriteStream(job.partPath, { flags: start > 0 ? 'r+' : 'w', start, flush: true });
  const stages: (Readable | Transform)[] = [res.body, ...(ctx.bucket ? [throttle(ctx.bucket, ctx.signal)] : []), counter];
  try {
    await pipeline([...stages, out]);
  } catch (err) {
    throw classify(err, ctx.signal, job.url);
  }
  return verify(job, hash, start, received);
}

async function verify(job: DownloadJob, hash: Hash, start: number, received: number): Promise<DownloadResult> {
  const total = start + received;
  if (total < job.size) throw new NetworkError(`${job.url}: the connection ended after ${total} of ${job.size} bytes`);
  const digest = hash.digest('hex');
  if (total !== job.size || digest !== job.sha256) {
    // Not the content asked for: never kept, so the next try starts clean.
    await truncate(job.partPath, 0).catch(() => undefined);
    throw new IntegrityError(total !== job.size ? `received ${total} bytes, expected ${job.size}` : `SHA-256 ${digest} is not the expected ${job.sha256}`);
  }
  return { received, resumedFrom: start };
}

/** A broken body is network trouble (retried, resumed); a local write error is the disk's. */
function classify(err: unknown, signal: AbortSignal, url: string): unknown {
  if (signal.aborted) return new CancelledError();
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ECONNRESET' || e.code === 'ETIMEDOUT' || e.code === 'EPIPE' || e.code === 'ECONNABORTED' || e.message === 'aborted') {
    return new NetworkError(`${url}: ${e.message}`, e.code);
  }
  return err;
}
