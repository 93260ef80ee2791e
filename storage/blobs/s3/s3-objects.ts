import { PassThrough, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
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
  PutObjectCommand,
  UploadPartCopyCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { ByteRange } from '../blob-store.js';
import { NotFoundError } from '../../../core/errors.js';
import { classifyS3Error, fromS3Error } from './s3-errors.js';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

export interface S3ObjectsOptions {
  client: S3Client;
  bucket: string;
  /** Multipart part size (at least 5 MiB). Smaller bodies go up in one PutObject. Default 8 MiB. */
  partSize?: number;
  /** Parts in flight per upload; memory per upload is about partSize x (queueSize + 1). Default 4. */
  queueSize?: number;
  /** Larger objects are copied with a multipart copy (S3's CopyObject stops at 5 GiB). */
  maxSingleCopyBytes?: number;
  /** Part size of that multipart copy. Default 1 GiB. */
  copyPartSize?: number;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: number;
}

/** Byte ranges of a multipart copy: `size` bytes in parts of `partSize` (last one shorter). */
export function copyPartRanges(size: number, partSize: number): ByteRange[] {
  if (!(partSize > 0)) throw new RangeError('partSize must be positive');
  const out: ByteRange[] = [];
  for (let start = 0; start < size; start += partSize) out.push({ start, end: Math.min(size, start + partSize) - 1 });
  return out;
}

/** The range of a `Content-Range: bytes a-b/n` answer; undefined when absent or unparsable. */
export function parseContentRange(value: string | undefined): ByteRange | undefined {
  const m = /^bytes (\d+)-(\d+)\/(?:\d+|\*)$/.exec(value ?? '');
  return m ? { start: Number(m[1]), end: Number(m[2]) } : undefined;
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

/** `bytes=a-b` for a Range or CopySourceRange header. */
export function rangeHeader(r: ByteRange): string {
  return `bytes=${r.start}-${r.end}`;
}

/** CopySource value: bucket and key, each path segment percent-encoded. */
export function copySource(bucket: string, key: string): string {
  return `${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
}

/**
 * The handful of object operations the S3 stores are built from, with S3 failures turned into
 * our typed errors. Keys are full keys (prefix included).
 */
export class S3Objects {
  readonly client: S3Client;
  readonly bucket: string;
  readonly partSize: number;
  readonly queueSize: number;
  readonly maxSingleCopyBytes: number;
  readonly copyPartSize: number;

  constructor(options: S3ObjectsOptions) {
    this.client = options.client;
    this.bucket = options.bucket;
    this.partSize = Math.max(5 * MiB, options.partSize ?? 8 * MiB);
    this.queueSize = options.queueSize ?? 4;
    this.maxSingleCopyBytes = options.maxSingleCopyBytes ?? 5 * GiB;
    this.copyPartSize = options.copyPartSize ?? GiB;
  }

  /**
   * Streams `body` to `key` (one PutObject when short, else a multipart upload). The object
   * appears only when complete. On failure nothing is left under `key` (as far as the server
   * lets us abort) and the body's own error, if it failed first, is what is thrown.
   */
  async upload(key: string, body: Readable, signal?: AbortSignal): Promise<void> {
    let bodyError: unknown;
    body.once('error', (err) => (bodyError ??= err));
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: key, Body: body },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    const onAbort = () => {
      bodyError ??= signal?.reason;
      body.destroy();
      void upload.abort();
    };
    if (signal?.aborted) onAbort();
    signal?.addEventListener('abort', onAbort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      // Whoever feeds the body must stop; a single PutObject may have landed before the
      // failure was noticed.
      body.destroy();
      await this.delete(key).catch(() => {});
      throw bodyError ?? fromS3Error(err, `writing ${key}`);
    } finally {
      signal?.removeEventListener('abort', onAbort);
    }
  }

  /**
   * Streams `source` through `stages` (hashing, compressing...) into `key`. Resolves once both
   * the streams and the upload are done; on any failure the object is gone and the streams'
   * own error (the body's, a stage's) is thrown in preference to the upload's.
   */
  async uploadThrough(key: string, source: Readable, stages: NodeJS.ReadWriteStream[], signal?: AbortSignal): Promise<void> {
    const out = new PassThrough();
    const [piped, uploaded] = await Promise.allSettled([pipeline([source, ...stages, out], { signal }), this.upload(key, out, signal)]);
    if (piped.status === 'fulfilled' && uploaded.status === 'fulfilled') return;
    await this.delete(key).catch(() => {});
    throw piped.status === 'rejected' ? piped.reason : (uploaded as PromiseRejectedResult).reason;
  }

  /** An empty object (markers). */
  async putEmpty(key: string): Promise<void> {
    await this.#call(`writing ${key}`, () => this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: key, Body: new Uint8Array(0) })));
  }

  /** The object's bytes (or a range), as a Web stream. NotFoundError when missing. */
  async get(key: string, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    let res;
    try {
      res = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(range ? { Range: rangeHeader(range) } : {}) }));
    } catch (err) {
      if (classifyS3Error(err) === 'not-found') throw new NotFoundError(`${key} is missing`);
      throw fromS3Error(err, `reading ${key}`);
    }
    if (!res.Body) throw new Error(`reading ${key}: object storage sent no body`);
    const body = res.Body.transformToWebStream() as ReadableStream<Uint8Array>;
    if (!range) return body;
    // Some S3-compatible servers widen certain ranges (s3rver sends everything for "bytes=0-0"):
    // cut what we asked for out of what came.
    const got = parseContentRange(res.ContentRange) ?? { start: 0, end: Number.MAX_SAFE_INTEGER };
    if (got.start === range.start && got.end === range.end) return body;
    if (got.start > range.start || got.end < range.end) {
      await body.cancel();
      throw new Error(`reading ${key}: asked for ${rangeHeader(range)}, got ${res.ContentRange}`);
    }
    return body.pipeThrough(sliceStream({ start: range.start - got.start, end: range.end - got.start }));
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: key }));
      return true;
    } catch (err) {
      if (classifyS3Error(err) === 'not-found') return false;
      throw fromS3Error(err, `looking up ${key}`);
    }
  }

  /** Missing is not an error. */
  async delete(key: string): Promise<void> {
    await this.#call(`deleting ${key}`, () => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key })));
  }

  /** Deletes any number of keys, 1000 per request (the S3 limit); returns how many went. */
  async deleteMany(keys: readonly string[]): Promise<number> {
    let removed = 0;
    for (let i = 0; i < keys.length; i += 1000) {
      const batch = keys.slice(i, i + 1000);
      const res = await this.#call('deleting objects', () =>
        this.client.send(new DeleteObjectsCommand({ Bucket: this.bucket, Delete: { Objects: batch.map((Key) => ({ Key })), Quiet: true } })),
      );
      removed += batch.length - (res.Errors?.length ?? 0);
    }
    return removed;
  }

  /** Every object under `prefix`, in key order, a page at a time. */
  async *list(prefix: string): AsyncGenerator<ListedObject> {
    let token: string | undefined;
    do {
      const page = await this.#call(`listing ${prefix}`, () =>
        this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token })),
      );
      for (const o of page.Contents ?? []) {
        if (o.Key) yield { key: o.Key, size: o.Size ?? 0, lastModified: o.LastModified?.getTime() ?? 0 };
      }
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
  }

  /** Server-side copy; past S3's single-copy limit, a multipart copy of `copyPartSize` parts. */
  async copy(from: string, to: string, size: number): Promise<void> {
    const source = copySource(this.bucket, from);
    try {
      if (size <= this.maxSingleCopyBytes) {
        await this.client.send(new CopyObjectCommand({ Bucket: this.bucket, Key: to, CopySource: source }));
        return;
      }
      await this.#multipartCopy(source, to, size);
    } catch (err) {
      throw fromS3Error(err, `copying ${from} to ${to}`);
    }
  }

  async #multipartCopy(source: string, to: string, size: number): Promise<void> {
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

  /** Aborts unfinished multipart uploads under `prefix` started at or before `cutoff`. */
  async abortUploads(prefix: string, cutoff: number): Promise<number> {
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
        // Some S3-compatible servers (s3rver) cannot list uploads: nothing we can clean there.
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

  /** Runs one S3 call, turning its failure into our typed errors. */
  async #call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw fromS3Error(err, what);
    }
  }
}
