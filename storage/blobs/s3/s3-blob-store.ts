import { createHash, randomBytes } from 'node:crypto';
import { Readable, Transform } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { AppendOptions, BlobLocation, BodySource, BlobStore, ByteRange, KnownBlob, PendingForm, ReadOptions, StoredForm, TempBlob, WriteOptions } from '../blob-store.js';
import { checkedCommit, quarantineIfCorrupt } from '../blob-verify.js';
import { TooLargeError } from '../../../core/errors.js';
import { S3BlobForms } from './s3-blob-forms.js';
import { S3Inventory } from './s3-inventory.js';
import { S3Objects } from './s3-objects.js';
import { S3UploadParts } from './s3-upload-parts.js';

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
  clock?: () => number;
}

/**
 * Blobs as S3 objects. Key layout under `prefix`:
 *   blobs/<sha256>       plain (hot) form      blobs/<sha256>.gz   compressed (cold) form
 *   tmp/<time>-<random>  temporary objects     parts/<id>/...      resumable-upload parts
 *   swaps/<sha256>       hot/cold swap journal  quarantine/<time>-<name>  forms that failed their hash
 * A write streams into a (multipart) upload under tmp/ while hashing; commit copies it
 * server-side to its content-addressed key and deletes the temporary object. A copy becomes
 * visible only when complete, so readers never see a torn blob; a crash leaves at most a tmp/
 * object or an unfinished multipart upload, which cleanupTemp() removes once older than
 * `tempGraceMs`.
 */
export class S3BlobStore implements BlobStore {
  readonly objects: S3Objects;
  readonly prefix: string;
  readonly tempGraceMs: number;
  readonly clock: () => number;
  readonly forms: S3BlobForms;
  readonly parts: S3UploadParts;
  readonly inventory: S3Inventory;

  constructor(options: S3BlobStoreOptions) {
    this.prefix = options.prefix ?? '';
    if (this.prefix !== '' && !this.prefix.endsWith('/')) throw new RangeError('S3 key prefix must end with "/"');
    this.objects = new S3Objects(options);
    this.tempGraceMs = options.tempGraceMs ?? 24 * 60 * 60 * 1000;
    this.clock = options.clock ?? Date.now;
    this.forms = new S3BlobForms({
      objects: this.objects,
      blobPrefix: `${this.prefix}blobs/`,
      journalPrefix: `${this.prefix}swaps/`,
      quarantinePrefix: `${this.prefix}quarantine/`,
      newTempKey: (suffix) => this.newTempKey(suffix),
    });
    this.parts = new S3UploadParts({ objects: this.objects, prefix: `${this.prefix}parts/`, writeTemp: (body) => this.#writeTemp(body) });
    this.inventory = new S3Inventory({
      objects: this.objects,
      forms: this.forms,
      prefixes: { blobs: `${this.prefix}blobs/`, tmp: this.tempPrefix, parts: `${this.prefix}parts/`, quarantine: `${this.prefix}quarantine/` },
    });
  }

  get bucket(): string {
    return this.objects.bucket;
  }

  blobKey(sha256: string): string {
    return this.forms.keyOf(sha256, { state: 'hot', codec: null });
  }

  get tempPrefix(): string {
    return `${this.prefix}tmp/`;
  }

  newTempKey(suffix = ''): string {
    return `${this.tempPrefix}${this.clock().toString(36)}-${randomBytes(9).toString('base64url')}${suffix}`;
  }

  async writeTemp(body: BodySource | null, options: WriteOptions = {}): Promise<TempBlob> {
    const { maxBytes, signal } = options;
    async function* chunks(): AsyncGenerator<Uint8Array> {
      if (!body) return;
      let size = 0;
      for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
        signal?.throwIfAborted();
        size += chunk.byteLength;
        if (maxBytes !== undefined && size > maxBytes) throw new TooLargeError(`upload exceeds the maximum size of ${maxBytes} bytes`);
        yield chunk;
      }
    }
    return this.#writeTemp(Readable.from(chunks(), { objectMode: false }), signal);
  }

  /** Hashes and counts `body` on its way into a new temporary object. */
  async #writeTemp(body: Readable, signal?: AbortSignal): Promise<TempBlob> {
    const key = this.newTempKey();
    const hash = createHash('sha256');
    let size = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        size += chunk.byteLength;
        done(null, chunk);
      },
    });
    await this.objects.uploadThrough(key, body, [count], signal);
    return { id: key, sha256: hash.digest('hex'), size };
  }

  commit(temp: TempBlob, known?: KnownBlob): Promise<{ stored: boolean; healed?: string }> {
    return checkedCommit(this.forms, { install: (t) => this.#install(t), discard: (t) => this.discard(t) }, temp, known);
  }

  /** S3 writes are durable once acknowledged: nothing left to sync. */
  async syncTemps(): Promise<void> {}

  async syncCommits(): Promise<void> {}

  async #install(temp: TempBlob): Promise<void> {
    try {
      await this.objects.copy(temp.id, this.blobKey(temp.sha256), temp.size);
    } finally {
      await this.discard(temp);
    }
  }

  async discard(temp: TempBlob): Promise<void> {
    // Only ever temporary keys: a forged id must not delete a blob.
    if (!temp.id.startsWith(this.tempPrefix)) return;
    await this.objects.delete(temp.id).catch(() => {});
  }

  async read(sha256: string, range?: ByteRange, where?: BlobLocation, options?: ReadOptions): Promise<ReadableStream<Uint8Array>> {
    return this.forms.read(sha256, range, where, options);
  }

  quarantine(sha256: string, where: BlobLocation): Promise<boolean> {
    return quarantineIfCorrupt(this.forms, sha256, where);
  }

  /** Whether any form of the blob is stored. */
  async has(sha256: string): Promise<boolean> {
    return this.forms.exists(sha256);
  }

  async delete(sha256: string): Promise<void> {
    await this.forms.deleteAll(sha256);
  }

  async cleanupTemp(): Promise<number> {
    const cutoff = this.clock() - this.tempGraceMs;
    const old: string[] = [];
    for await (const o of this.objects.list(this.tempPrefix)) if (o.lastModified <= cutoff) old.push(o.key);
    return (await this.objects.deleteMany(old)) + (await this.objects.abortUploads(this.tempPrefix, cutoff));
  }
}
