import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { mkdir, open, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { AppendOptions, TempBlob, UploadParts } from '../blob-store.js';
import { ChecksumMismatchError, ConflictError, InsufficientStorageError, NotFoundError, TooLargeError } from '../../../core/errors.js';

const PART_ID = /^[A-Za-z0-9_-]{1,128}$/;

export interface DiskUploadPartsOptions {
  /** Folder of the parts: `<data>/uploads` (not `tmp/`, which is wiped at start-up). */
  dir: string;
  /** fsync after every append, so a recorded offset never runs ahead of the bytes on disk. */
  durable: boolean;
  /** Maps a full disk to InsufficientStorageError. */
  isDiskFull: (err: unknown) => boolean;
}

/**
 * Upload parts of resumable uploads as plain files `uploads/<id>`, written at explicit
 * positions: DiskBlobStore.parts. A finished part is renamed
 * straight into the blob tree by DiskBlobStore.commit (same filesystem).
 */
export class DiskUploadParts implements UploadParts {
  constructor(readonly options: DiskUploadPartsOptions) {}

  pathOf(id: string): string {
    if (!PART_ID.test(id)) throw new NotFoundError('no such upload part');
    return join(this.options.dir, id);
  }

  async create(id: string): Promise<void> {
    const path = this.pathOf(id);
    await mkdir(this.options.dir, { recursive: true });
    try {
      const fh = await open(path, constants.O_CREAT | constants.O_EXCL | constants.O_WRONLY, 0o600);
      await fh.close();
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new ConflictError(`upload part ${id} already exists`);
      if (this.options.isDiskFull(err)) throw new InsufficientStorageError();
      throw err;
    }
  }

  async append(id: string, offset: number, body: ReadableStream<Uint8Array> | null, options: AppendOptions = {}): Promise<number> {
    const fh = await this.#openExisting(id, 'r+');
    let position = offset;
    let touched = false;
    try {
      const { size } = await fh.stat();
      if (size < offset) throw new ConflictError(`upload part ${id} holds ${size} bytes, fewer than the recorded offset ${offset}`);
      touched = true;
      // Bytes past the recorded offset come from a request that died before its offset was recorded.
      if (size > offset) await fh.truncate(offset);
      const hash = options.sha256 === undefined ? undefined : createHash('sha256');
      const broken = await pump(body, options, async (chunk) => {
        if (options.maxBytes !== undefined && position - offset + chunk.byteLength > options.maxBytes) {
          throw new TooLargeError(`the body goes past the upload's length (${options.maxBytes} bytes were left)`);
        }
        hash?.update(chunk);
        let done = 0;
        while (done < chunk.byteLength) {
          const { bytesWritten } = await fh.write(chunk, done, chunk.byteLength - done, position);
          done += bytesWritten;
          position += bytesWritten;
        }
      });
      if (hash) {
        // A chunk with a checksum is all or nothing: a broken-off one cannot be verified.
        if (broken) {
          await fh.truncate(offset);
          position = offset;
        } else if (hash.digest('hex') !== options.sha256) {
          throw new ChecksumMismatchError();
        }
      }
      if (this.options.durable) await fh.sync();
      return position;
    } catch (err) {
      if (touched) await fh.truncate(offset).catch(() => {});
      if (this.options.isDiskFull(err)) throw new InsufficientStorageError();
      throw err;
    } finally {
      await fh.close().catch(() => {});
    }
  }

  async size(id: string): Promise<number> {
    try {
      return (await stat(this.pathOf(id))).size;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`upload part ${id} is missing`);
      throw err;
    }
  }

  /** Hashes the part in one pass; the returned temp object is the part file itself. */
  async finish(id: string): Promise<TempBlob> {
    const fh = await this.#openExisting(id, 'r');
    const hash = createHash('sha256');
    let size = 0;
    try {
      for await (const chunk of fh.createReadStream({ highWaterMark: 1 << 20, autoClose: false })) {
        hash.update(chunk as Buffer);
        size += (chunk as Buffer).byteLength;
      }
    } finally {
      await fh.close().catch(() => {});
    }
    return { id: this.pathOf(id), sha256: hash.digest('hex'), size };
  }

  async delete(id: string): Promise<void> {
    if (!PART_ID.test(id)) return;
    await rm(this.pathOf(id), { force: true });
  }

  async #openExisting(id: string, flags: 'r' | 'r+'): Promise<FileHandle> {
    try {
      return await open(this.pathOf(id), flags);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new NotFoundError(`upload part ${id} is missing`);
      throw err;
    }
  }
}

/**
 * Feeds `body` to `sink` chunk by chunk. Resolves true when the body broke off (stream error,
 * or `signal` aborted) and false when it ended; errors from `sink` are thrown.
 */
export async function pump(
  body: ReadableStream<Uint8Array> | null,
  options: { signal?: AbortSignal },
  sink: (chunk: Uint8Array) => Promise<void>,
): Promise<boolean> {
  if (!body) return options.signal?.aborted ?? false;
  const reader = body.getReader();
  const stop = () => void reader.cancel().catch(() => {});
  options.signal?.addEventListener('abort', stop, { once: true });
  if (options.signal?.aborted) stop();
  try {
    for (;;) {
      let next: ReadableStreamReadResult<Uint8Array>;
      try {
        next = await reader.read();
      } catch {
        return true;
      }
      if (next.done) return options.signal?.aborted ?? false;
      await sink(next.value);
    }
  } catch (err) {
    stop();
    throw err;
  } finally {
    options.signal?.removeEventListener('abort', stop);
  }
}
