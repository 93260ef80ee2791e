import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsV2Command,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BlobLocation, BlobStore, ByteRange, TempBlob, WriteOptions } from './blob-store.js';
import { NotFoundError, TooLargeError } from './errors.js';
import { classifyS3Error, fromS3Error } from './s3-errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface S3BlobStoreOptions {
  client: S3Client;
  bucket: string;
  /** Prefix of every key this store uses ('' or ending in '/'), so stores can share a bucket. */
  prefix?: string;
  /** Multipart part size (at least 5 MiB). Smaller bodies go up in one PutObject. Default 8 MiB. */
  partSize?: number;
  /** Parts in flight per write; memory per write is about partSize x (queueSize + 1). Default 4. */
  queueSize?: number;
  /**
   * cleanupTemp() removes temporary objects and multipart uploads only when older than this:
   * other server instances on the same bucket may still be writing theirs. Default 24 h.
   */
  tempGraceMs?: number;
  /** Larger blobs are committed with a multipart copy (S3's CopyObject stops at 5 GiB). */
  maxSingleCopyBytes?: number;
  /** Part size of that multipart copy. Default 1 GiB. */
  copyPartSize?: number;
  clock?: () => number;
}

/** Byte ranges of a multipart copy: `size` bytes in parts of `partSize` (last one shorter). */
export function copyPartRanges(size: number, partSize: number): ByteRange[] {
  if (!(partSize > 0)) throw new RangeError('partSize must be positive');
  const out: ByteRange[] = [];
  for (let start = 0; start < size; start += partSize) out.push({ start, end: Math.min(size, start + partSize) - 1 });
  return out;
}

/** Passes on only bytes [start, end] of what flows through, then ends the stream. */
export function sliceStream(range: ByteRange): TransformStream<Uint8Array, Uint8Array> {
  let pos = 0;
  return new TransformStream({
    transform(chunk, controller) {
      const from = Math.max(range.start - pos, 0);
      const to = Math.min(range.end + 1 - pos, chunk.byteLength);
      pos += chunk.byteLength;
      if (to > from) controller.enqueue(chunk.subarray(from, to));
      if (pos > range.end) controller.terminate();
    },
  });
}

/** The range of a `Content-Range: bytes a-b/n` answer; undefined when absent or unparsable. */
export function parseContentRange(value: string | undefined): ByteRange | undefined {
  const m = /^bytes (\d+)-(\d+)\/(?:\d+|\*)$/.exec(value ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]) } : undefined;
}

/** `bytes=a-b` for a Range or CopySourceRange header. */
export function rangeHeader(r: ByteRange): string {
  return `bytes=${r.start}-${r.end}`;
}

/** CopySource value: bucket and key, each path segment percent-encoded. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * Blobs as S3 objects: `<prefix>blobs/<sha256>` for the plain form. A write streams into a
 * (multipart) upload under `<prefix>tmp/...` while hashing; commit copies it server-side to its
 * content-addressed key and deletes the temporary object. A copy becomes visible only when it is
 * complete, so readers never see a torn blob; a crash leaves at most a `tmp/` object or an
 * unfinished multipart upload, which cleanupTemp() removes once older than `tempGraceMs`.
 */
export class S3BlobStore implements BlobStore {
  readonly client: S3Client;
  readonly bucket: string;
  readonly prefix: string;
  readonly partSize: number;
  readonly queueSize: number;
  readonly tempGraceMs: number;
  readonly maxSingleCopyBytes: number;
  readonly copyPartSize: number;
  readonly clock: () => number;

  constructor(options: S3BlobStoreOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.prefix = options.prefix ?? '';
    if (this.prefix !== '' && !this.prefix.endsWith('/')) throw new RangeError('S3 key prefix must end with "/"');
    this.partSize = Math.max(5 * MiB, options.partSize ?? 8 * MiB);
    this.queueSize = options.queueSize ?? 4;
    this.tempGraceMs = options.tempGraceMs ?? 24 * 60 * 60 * 1000;
    this.maxSingleCopyBytes = options.maxSingleCopyBytes ?? 5 * GiB;
    this.copyPartSize = options.copyPartSize ?? GiB;
    this.clock = options.clock ?? Date.now;
  }

  blobKey(sha256: string): string {
    return `${this.prefix}blobs/${sha256}`;
  }

  get tempPrefix(): string {
    return `${this.prefix}tmp/`;
  }

  newTempKey(): string {
    return `${this.tempPrefix}${this.clock().toString(36)}-${randomBytes(9).toString('base64url')}`;
  }

  async writeTemp(body: ReadableStream<Uint8Array> | null, options: WriteOptions = {}): Promise<TempBlob> {
    const key = this.newTempKey();
    const hash = createHash('sha256');
    let size = 0;
    // The first failure of the body itself (too large, client gone): reported instead of
    // whatever the upload's clean-up said after it.
    let failure: unknown;
    const { maxBytes, signal } = options;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      if (!body) return;
      try {
        for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
          signal?.throwIfAborted();
          size += chunk.byteLength;
          if (maxBytes !== undefined && size > maxBytes) throw new TooLargeError(`upload exceeds the maximum size of ${maxBytes} bytes`);
          hash.update(chunk);
          yield chunk;
        }
      } catch (err) {
        failure ??= err;
        throw err;
      }
    }
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: Readable.from(chunks(), { objectMode: false }) },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const onAbort = () => {
      failure ??= signal?.reason;
      void upload.abort();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      // A single PutObject may have landed before the failure was noticed.
      await this.#deleteKey(key).catch(() => {});
      throw failure ?? fromS3Error(err, 'writing a temporary object');
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
    return { id: key, sha256: hash.digest('hex'), size };
  }

  async commit(temp: TempBlob): Promise<{ stored: boolean }> {
    if (await this.has(temp.sha256)) {
      await this.discard(temp);
      return { stored: false };
    }
    try {
      await this.#copy(temp.id, this.blobKey(temp.sha256), temp.size);
    } catch (err) {
      await this.discard(temp);
      throw fromS3Error(err, `committing blob ${temp.sha256}`);
    }
    await this.discard(temp);
    return { stored: true };
  }

  async discard(temp: TempBlob): Promise<void> {
    // Only ever temporary keys: a forged id must not delete a blob.
    if (!temp.id.startsWith(this.tempPrefix)) return;
    await this.#deleteKey(temp.id).catch(() => {});
  }

  async read(sha256: string, range?: ByteRange, _where?: BlobLocation): Promise<ReadableStream<Uint8Array>> {
    return this.#readKey(this.blobKey(sha256), range, `blob ${sha256}`);
  }

  async has(sha256: string): Promise<boolean> {
    return this.#exists(this.blobKey(sha256));
  }

  async delete(sha256: string): Promise<void> {
    await this.#deleteKey(this.blobKey(sha256));
  }

  async cleanupTemp(): Promise<number> {
    const cutoff = this.clock() - this.tempGraceMs;
    let removed = 0;
    let token: string | undefined;
    do {
      const page = await this.#call('listing temporary objects', () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: this.tempPrefix, ContinuationToken: token })),
      );
      const old = (page.Contents ?? []).filter((o) => o.Key && (o.LastModified?.getTime() ?? 0) <= cutoff).map((o) => o.Key as string);
      removed += await this.#deleteKeys(old);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    removed += await this.#abortOldUploads(this.tempPrefix, cutoff);
    return removed;
  }

  // --- helpers ---

  async #abortOldUploads(prefix: string, cutoff: number): Promise<number> {
    let removed = 0;
    let keyMarker: string | undefined;
    let uploadIdMarker: string | undefined;
    for (;;) {
      let page;
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({ Bucket: this.bucket, Prefix: prefix, KeyMarker: keyMarker, UploadIdMarker: uploadIdMarker }),
        );
      } catch (err) {
        // Some S3-compatible servers (s3rver) cannot list uploads; their parts are their problem.
        if ((err as { name?: string }).name === 'NotImplemented') return removed;
        throw fromS3Error(err, 'listing multipart uploads');
      }
      for (const u of page.Uploads ?? []) {
        if (!u.Key || !u.UploadId || (u.Initiated?.getTime() ?? 0) > cutoff) continue;
        await this.client
          .send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: u.Key, UploadId: u.UploadId }))
          .then(() => removed++)
          .catch(() => {});
      }
      if (!page.IsTruncated) return removed;
      keyMarker = page.NextKeyMarker;
      uploadIdMarker = page.NextUploadIdMarker;
    }
  }

  async #readKey(key: string, range: ByteRange | undefined, what: string): Promise<ReadableStream<Uint8Array>> {
    let res;
    try {
      res = await this.client.send(
        new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: rangeHeader(range) } : {}) }),
      );
    } catch (err) {
      if (classifyS3Error(err) === 'not-found') throw new NotFoundError(`${what} is missing`);
      throw fromS3Error(err, `reading ${what}`);
    }
    if (!res.Body) throw new Error(`reading ${what}: object storage sent no body`);
    const body = res.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    if (!range) return body;
    // Some S3-compatible servers widen certain ranges (s3rver sends everything for "bytes=0-0"):
    // cut what we asked for out of what came.
    const got = parseContentRange(res.ContentRange) ?? { start: 0, end: Number.MAX_SAFE_INTEGER };
    if (got.start === range.start && got.end === range.end) return body;
    if (got.start > range.start || got.end < range.end) {
      await body.cancel();
      throw new Error(`reading ${what}: asked for ${rangeHeader(range)}, got ${res.ContentRange}`);
    }
    return body.pipeThrough(sliceStream({ start: range.start - got.start, end: range.end - got.start }));
  }

  async #exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (classifyS3Error(err) === 'not-found') return false;
      throw fromS3Error(err, `looking up ${key}`);
    }
  }

  async #deleteKey(key: string): Promise<void> {
    await this.#call(`deleting ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  /** Deletes up to any number of keys, 1000 per request (the S3 limit). */
  async #deleteKeys(keys: string[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await this.#call('deleting temporary objects', () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      removed += batch.length - (res.Errors?.length ?? 0);
    }
    return removed;
  }

  /** Server-side copy; past S3's single-copy limit, a multipart copy of `copyPartSize` parts. */
  async #copy(from: string, to: string, size: number): Promise<void> {
    const source = copySource(this.bucket, from);
    if (size <= this.maxSingleCopyBytes) {
      await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
      return;
    }
    const { UploadId } = await this.client.send(new CreateMultipartUploadCommand({ Bucket: this.bucket, Key: to }));
    try {
      const parts: { PartNumber: number; ETag: string }[] = [];
      for (const [i, r] of copyPartRanges(size, this.copyPartSize).entries()) {
        const res = await this.client.send(
          new UploadPartCopyCommand({ Bucket: this.bucket, Key: to, UploadId, PartNumber: i + 1, CopySource: source, CopySourceRange: rangeHeader(r) }),
        );
        parts.push({ PartNumber: i + 1, ETag: res.CopyPartResult?.ETag ?? '' });
      }
      await this.client.send(new CompleteMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId, MultipartUpload: { Parts: parts } }));
    } catch (err) {
      await this.client.send(new AbortMultipartUploadCommand({ Bucket: this.bucket, Key: to, UploadId })).catch(() => {});
      throw err;
    }
  }

  /** Runs one S3 call, turning its failure into our typed errors. */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw fromS3Error(err, what);
    }
  }
}
