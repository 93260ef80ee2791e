import { createHash, hash, type Hash } from 'node:crypto';
import { closeSync, constants, createReadStream, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { Transform } from 'node:stream';
import type { LocalStat } from './change-detect.js';
import { FileChangedError, isGoneError } from './errors.js';

/**
 * Files up to this size are read in one go with synchronous calls: what one chunk of the read
 * streams (256 KiB) would hold anyway. Where a promise-based fs call costs ~50 us of main-thread
 * CPU, open + read + fstat + close in sync calls cost a fraction of a stream's four round trips.
 */
export const SMALL_FILE_BYTES = 256 * 1024;

/** For synchronous opens: a path that is (or became) a FIFO must not block the event loop (no O_NONBLOCK on Windows). */
export const READ_NONBLOCKING = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0);

/**
 * A file's size and mtime now, from one synchronous stat (undefined: gone, a folder on its path
 * is now a file, or not a regular file). Other errors (EACCES) are thrown.
 */
export function statNow(abs: string): LocalStat | undefined {
  try {
    const st = statSync(abs);
    return st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined;
  } catch (err) {
    if (isGoneError(err)) return undefined;
    throw err;
  }
}

export interface SmallRead {
  /** Bytes read into the buffer from offset 0: fewer than asked when the file shrank. */
  read: number;
  /** The file right after the read, from the open descriptor (undefined: not a regular file); only when asked. */
  stat?: LocalStat;
}

/**
 * Reads bytes [0, size) of a small file (size <= SMALL_FILE_BYTES) into `into` with synchronous
 * calls: open, read, fstat (when `withStat`, to compare with the scan's size and mtime: a change
 * during the read shows there), close. Throws what open and read throw (ENOENT, EACCES); a path that
 * is no longer a regular file reads as 0 bytes with no stat.
 * An empty file is not opened (an unreadable empty file is still backed up, as by the stream).
 */
export function readSmallFile(abs: string, size: number, into: Buffer, withStat: boolean): SmallRead {
  if (size === 0) return withStat ? { read: 0, stat: statNow(abs) } : { read: 0 };
  const fd = openSync(abs, READ_NONBLOCKING);
  try {
    let read = 0;
    try {
      while (read < size) {
        const n = readSync(fd, into, read, size - read, read);
        if (n === 0) break;
        read += n;
      }
    } catch (err) {
      // No longer a regular file (a FIFO: ESPIPE, a folder: EISDIR): no bytes of the file there.
      if (!fstatSync(fd).isFile()) return { read: 0, stat: undefined };
      throw err;
    }
    if (!withStat) return { read };
    const st = fstatSync(fd);
    return { read, stat: st.isFile() ? { size: st.size, mtimeMs: st.mtimeMs } : undefined };
  } finally {
    closeSync(fd);
  }
}

/** Where small files are read to be hashed: one buffer, used by one synchronous read at a time. */
let hashBuffer: Buffer | undefined;

/**
 * SHA-256 (hex) of a small file of `size` bytes, read in one go (readSmallFile), and the file's
 * stat right after the read. FileChangedError when it is shorter than `size`.
 */
export function hashSmallFile(abs: string, size: number): { sha256: string; stat: LocalStat | undefined } {
  hashBuffer ??= Buffer.allocUnsafe(SMALL_FILE_BYTES);
  const { read, stat } = readSmallFile(abs, size, hashBuffer, true);
  if (read !== size) throw shorter(abs);
  return { sha256: hash('sha256', hashBuffer.subarray(0, size), 'hex'), stat };
}

function shorter(abs: string): FileChangedError {
  return new FileChangedError(`${abs}: shorter than expected: it changed while being read`);
}

/** Adds bytes [start, end) of a file to `into` (a new SHA-256 by default), streamed; fails if the file is shorter. */
export async function hashFileRange(abs: string, start: number, end: number, signal?: AbortSignal, into: Hash = createHash('sha256')): Promise<Hash> {
  if (end <= start) return into;
  let read = 0;
  const stream = createReadStream(abs, { start, end: end - 1, highWaterMark: 256 * 1024, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    into.update(chunk);
    read += chunk.byteLength;
  }
  if (read !== end - start) throw shorter(abs);
  return into;
}

/** SHA-256 (hex) of a whole file of `size` bytes. */
export async function hashFile(abs: string, size: number, signal?: AbortSignal): Promise<string> {
  return (await hashFileRange(abs, 0, size, signal)).digest('hex');
}

export interface CheckingStageOptions {
  /** The running hash the passing bytes are added to. */
  hash: Hash;
  /** Bytes that must pass; fewer means the file shrank under us. */
  expectedBytes: number;
  /** When set, the final digest must equal it: else the file changed while being sent. */
  expectedSha256?: string;
  onBytes?: (n: number) => void;
}

/**
 * A pass-through stage of an upload body that hashes and counts what is sent. It fails the body
 * (and so the request, before the server commits it) when the bytes are not the ones announced.
 */
export function checkingStage(options: CheckingStageOptions): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      seen += chunk.byteLength;
      options.hash.update(chunk);
      options.onBytes?.(chunk.byteLength);
      callback(null, chunk);
    },
    flush(callback) {
      if (seen !== options.expectedBytes) {
        return callback(new FileChangedError(`read ${seen} of ${options.expectedBytes} bytes: the file changed while being sent`));
      }
      if (options.expectedSha256 !== undefined && options.hash.copy().digest('hex') !== options.expectedSha256) {
        return callback(new FileChangedError('the content changed while being sent'));
      }
      callback();
    },
  });
}

/**
 * After the server refused our bytes (digest or length mismatch): was it our file changing under
 * us? Throws FileChangedError if so; returns normally when the file still hashes as announced.
 */
export async function assertContentUnchanged(abs: string, size: number, sha256: string, signal?: AbortSignal): Promise<void> {
  let now: string;
  try {
    now = await hashFile(abs, size, signal);
  } catch (err) {
    if (err instanceof FileChangedError) throw err;
    return;
  }
  if (now !== sha256) throw new FileChangedError('the content changed while being sent');
}
