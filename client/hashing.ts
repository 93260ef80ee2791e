import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { Transform } from 'node:stream';
import { FileChangedError } from './errors.js';

/** Adds bytes [start, end) of a file to `into` (a new SHA-256 by default), streamed; fails if the file is shorter. */
export async function hashFileRange(abs: string, start: number, end: number, signal?: AbortSignal, into: Hash = createHash('sha256')): Promise<Hash> {
  if (end <= start) return into;
  let read = 0;
  const stream = createReadStream(abs, { start, end: end - 1, highWaterMark: 256 * 1024, signal });
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    into.update(chunk);
    read += chunk.byteLength;
  }
  if (read !== end - start) throw new FileChangedError(`${abs}: shorter than expected: it changed while being read`);
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
