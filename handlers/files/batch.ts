import { Hono } from 'hono';
import type { TempBlob } from '../../storage/blobs/blob-store.js';
import { AppError, BadRequestError, DigestMismatchError, TooLargeError, UnsupportedMediaTypeError } from '../../core/errors.js';
import { assertWrite, type Principal } from '../auth.js';
import { BrokenFrameError, FrameReader } from './batch-frames.js';
import { commitFiles } from '../../core/commit.js';
import type { AppDeps } from '../../core/deps.js';
import { statusOf } from '../http/error-response.js';
import { fileJson, viewerOf } from './file-view.js';
import { parseContentLength } from '../http/headers.js';
import { parseDecodedPath, type FilePath } from '../../core/path.js';
import { assertReserveHeld } from '../http/reserve.js';
import { isSha256 } from '../../core/sha.js';

/** The media type of a batch body (not one a cross-site form can send). */
export const BATCH_CONTENT_TYPE = 'application/vnd.cloud-backup.batch';
/** Files in one batch at most. */
export const BATCH_MAX_FILES = 1000;
/** Bytes of one batch body at most, header lines included. */
export const BATCH_MAX_BYTES = 32 * 1024 * 1024;
/** Largest file a batch carries: bigger ones go by PUT or tus. */
export const BATCH_FILE_MAX_BYTES = 1024 * 1024;

/** One entry's outcome in the answer, in the order the entries came. */
export type BatchResult =
  | ({ status: 200 | 201; changed: boolean } & ReturnType<typeof fileJson>)
  | { path: unknown; status: number; error: string };

interface Header {
  path: unknown;
  size: number;
  mtime: unknown;
  sha256: unknown;
}

/** A header line as JSON with a usable size; anything less breaks the frame (where does the next file start?). */
function parseHeader(line: string, index: number): Header {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    throw new BrokenFrameError(`header ${index + 1} is not JSON`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new BrokenFrameError(`header ${index + 1} is not a JSON object`);
  const h = value as Record<string, unknown>;
  if (typeof h.size !== 'number' || !Number.isSafeInteger(h.size) || h.size < 0) {
    throw new BrokenFrameError(`header ${index + 1} has no size (a whole number of bytes)`);
  }
  return { path: h.path, size: h.size, mtime: h.mtime, sha256: h.sha256 };
}

/** What is wrong with one entry (its bytes are then skipped), or its checked path, sha256 and mtime. */
function checkEntry(h: Header, principal: Principal, seen: Set<string>, maxFile: number): AppError | { fp: FilePath; sha256: string; mtime: number | null } {
  try {
    if (typeof h.path !== 'string') throw new BadRequestError('path must be a string');
    const fp = parseDecodedPath(h.path);
    assertWrite(principal, fp.namespace);
    if (h.size > maxFile) throw new TooLargeError(`${h.size} bytes is over the batch limit of ${maxFile} bytes per file: send it by PUT`);
    if (typeof h.sha256 !== 'string' || !isSha256(h.sha256.toLowerCase())) throw new BadRequestError('sha256 must be 64 hex digits');
    const mtime = h.mtime ?? null;
    if (mtime !== null && (typeof mtime !== 'number' || !Number.isSafeInteger(mtime) || mtime < 0)) {
      throw new BadRequestError('mtime must be milliseconds since the epoch');
    }
    if (seen.has(fp.path)) throw new BadRequestError('the path appears twice in this batch');
    seen.add(fp.path);
    return { fp, sha256: h.sha256.toLowerCase(), mtime: mtime as number | null };
  } catch (err) {
    if (err instanceof AppError) return err;
    throw err;
  }
}

function refused(path: unknown, err: AppError): BatchResult {
  return { path, status: statusOf(err), error: err.message };
}

/**
 * POST /api/batch: many small files in one request (docs/uploads.md). Each file is streamed
 * into a temporary blob and verified against its sha256 as it arrives; a refused entry is
 * skipped and answered, the others go on. Once the body is read whole, every verified file is
 * committed at once (grouped fsyncs, one catalog transaction). A body that breaks off or is
 * not framed, or that is over the batch limits, commits nothing.
 */
export function batchRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  app.post('/batch', async (c) => {
    const principal = c.get('principal');
    const type = c.req.header('content-type') ?? '';
    if (!new RegExp(`^${BATCH_CONTENT_TYPE.replace(/\./g, '\\.')}\\s*(;|$)`, 'i').test(type)) {
      throw new UnsupportedMediaTypeError(`POST /api/batch needs Content-Type: ${BATCH_CONTENT_TYPE}`);
    }
    const declared = parseContentLength(c.req.header('content-length'));
    if (declared !== undefined && declared > BATCH_MAX_BYTES) {
      throw new TooLargeError(`a batch of ${declared} bytes is over the limit of ${BATCH_MAX_BYTES} bytes: send fewer files per batch`);
    }
    await assertReserveHeld(deps);
    const maxFile = Math.min(BATCH_FILE_MAX_BYTES, deps.config.maxUploadBytes);
    const body = c.req.raw.body;
    if (!body) throw new BadRequestError('the batch is empty: no files in the body');
    const frames = new FrameReader(body);
    const signal = c.req.raw.signal;
    const results: (BatchResult | undefined)[] = [];
    const accepted: { index: number; path: string; temp: TempBlob; mtime: number | null }[] = [];
    const seen = new Set<string>();
    let bytes = 0;
    try {
      for (;;) {
        const line = await frames.header();
        if (line === null) break;
        const index = results.length;
        if (index >= BATCH_MAX_FILES) throw new TooLargeError(`more than ${BATCH_MAX_FILES} files in one batch: nothing was stored; send fewer per batch`);
        const h = parseHeader(line, index);
        bytes += frames.headerBytes + h.size;
        if (bytes > BATCH_MAX_BYTES) throw new TooLargeError(`the batch is over ${BATCH_MAX_BYTES} bytes: nothing was stored; send fewer files per batch`);
        const entry = checkEntry(h, principal, seen, maxFile);
        if (entry instanceof AppError) {
          await frames.skip(h.size);
          results.push(refused(h.path, entry));
          continue;
        }
        const temp = await deps.blobs.writeTemp(frames.content(h.size), { maxBytes: h.size, signal, deferSync: true });
        if (temp.sha256 !== entry.sha256) {
          await deps.blobs.discard(temp);
          results.push(refused(h.path, new DigestMismatchError('the content does not match its sha256: this file was not stored')));
          continue;
        }
        accepted.push({ index, path: entry.fp.path, temp, mtime: entry.mtime });
        results.push(undefined);
      }
      if (results.length === 0) throw new BadRequestError('the batch is empty: no files in the body');
      // One sync for the lot: the disk store's blob log takes the small files with one fdatasync,
      // and a larger file's fsync started as soon as it was written.
      await deps.blobs.syncTemps(accepted.map((a) => a.temp));
    } catch (err) {
      await frames.cancel();
      await Promise.all(accepted.map((a) => deps.blobs.discard(a.temp)));
      throw err;
    }
    const committed = accepted.length ? await commitFiles(deps, accepted) : [];
    let stored = 0;
    const viewer = viewerOf(principal, deps);
    committed.forEach((r, i) => {
      const a = accepted[i];
      if (!a) return;
      if (r instanceof AppError) {
        results[a.index] = refused(a.path, r);
        return;
      }
      stored++;
      results[a.index] = { ...fileJson(viewer, r.entry), status: r.created ? 201 : 200, changed: r.changed };
    });
    const all = results as BatchResult[];
    c.header('Cache-Control', 'no-store');
    return c.json({ stored, refused: all.length - stored, results: all }, 200);
  });

  return app;
}
