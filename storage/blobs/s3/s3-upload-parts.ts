import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AppendOptions, TempBlob, UploadParts } from '../blob-store.js';
import { ChecksumMismatchError, ConflictError, NotFoundError, TooLargeError } from '../../../core/errors.js';
import type { S3Objects } from './s3-objects.js';

const PART_ID = /^[A-Za-z0-9_-]{1,128}$/;
const MARKER = '.created';
const OFFSET_DIGITS = 16;

export interface Segment {
  key: string;
  start: number;
  size: number;
}

export interface AppendPlan {
  /** Bytes held contiguously from 0 (what the part "is"). */
  held: number;
  /** Segments to remove first: from `offset` on, or not part of the contiguous run. */
  drop: string[];
  /** The recorded offset falls inside a segment: we never return such an offset. */
  splits: boolean;
}

/**
 * Which stored segments make up a part and what an append at `offset` must remove first (pure).
 * Segments are sorted by start; a run of segments each starting where the last ended is the part.
 */
export function planAppend(segments: readonly Segment[], offset: number): AppendPlan {
  let held = 0;
  const drop: string[] = [];
  let splits = false;
  for (const s of [...segments].sort((a, b) => a.start - b.start)) {
    if (s.start !== held || s.start >= offset) {
      drop.push(s.key);
      continue;
    }
    if (s.start + s.size > offset) splits = true;
    held += s.size;
  }
  return { held, drop, splits };
}

/** Segment key suffix: the offset, zero-padded so that key order is offset order. */
export function segmentName(offset: number): string {
  return String(offset).padStart(OFFSET_DIGITS, '0');
}

export interface S3UploadPartsOptions {
  objects: S3Objects;
  /** Key prefix of all parts (`<prefix>parts/`). */
  prefix: string;
  /** Hashes a stream into a temporary object (the store's writeTemp). */
  writeTemp: (body: Readable) => Promise<TempBlob>;
}

/**
 * Resumable-upload parts on S3, which cannot append: a part is a marker object plus one object
 * per append (`<prefix><id>/<offset>`), each complete once its request ends. Finishing streams
 * the segments in order through the hash into a temporary object (one read and one write of
 * the data; S3 has no server-side concatenation of small objects), then drops the part.
 */
export class S3UploadParts implements UploadParts {
  readonly objects: S3Objects;
  readonly prefix: string;
  readonly #writeTemp: (body: Readable) => Promise<TempBlob>;

  constructor(options: S3UploadPartsOptions) {
    this.objects = options.objects;
    this.prefix = options.prefix;
    this.#writeTemp = options.writeTemp;
  }

  #dir(id: string): string {
    if (!PART_ID.test(id)) throw new NotFoundError('no such upload part');
    return `${this.prefix}${id}/`;
  }

  /** Whether the part exists, and its segments. */
  async #scan(id: string): Promise<{ exists: boolean; segments: Segment[] }> {
    const dir = this.#dir(id);
    let exists = false;
    const segments: Segment[] = [];
    for await (const o of this.objects.list(dir)) {
      const name = o.key.slice(dir.length);
      if (name === MARKER) exists = true;
      else if (/^\d+$/.test(name)) segments.push({ key: o.key, start: Number(name), size: o.size });
    }
    return { exists, segments };
  }

  async #existing(id: string): Promise<Segment[]> {
    const { exists, segments } = await this.#scan(id);
    if (!exists) throw new NotFoundError(`upload part ${id} is missing`);
    return segments;
  }

  async create(id: string): Promise<void> {
    const marker = this.#dir(id) + MARKER;
    if (await this.objects.exists(marker)) throw new ConflictError(`upload part ${id} already exists`);
    await this.objects.putEmpty(marker);
  }

  async size(id: string): Promise<number> {
    return planAppend(await this.#existing(id), Number.POSITIVE_INFINITY).held;
  }

  async append(id: string, offset: number, body: ReadableStream<Uint8Array> | null, options: AppendOptions = {}): Promise<number> {
    const plan = planAppend(await this.#existing(id), offset);
    if (plan.held < offset) throw new ConflictError(`upload part ${id} holds ${plan.held} bytes, fewer than the recorded offset ${offset}`);
    if (plan.splits) throw new ConflictError(`upload part ${id}: offset ${offset} falls inside a stored segment`);
    await this.objects.deleteMany(plan.drop);
    if (!body) return offset;

    const key = this.#dir(id) + segmentName(offset);
    const hash = options.sha256 ? createHash('sha256') : undefined;
    const { maxBytes, signal } = options;
    let size = 0;
    let brokeOff = false;
    // The body ending early (client gone, signal) is not a failure: what arrived is kept.
    async function* chunks(): AsyncGenerator<Uint8Array> {
      const reader = body!.getReader();
      let onAbort: (() => void) | undefined;
      const aborted = new Promise<'aborted'>((res) => {
        onAbort = () => res('aborted');
        if (signal?.aborted) res('aborted');
        else signal?.addEventListener('abort', onAbort, { once: true });
      });
      try {
        for (;;) {
          let next: ReadableStreamReadResult<Uint8Array> | 'aborted';
          try {
            next = await Promise.race([reader.read(), aborted]);
          } catch {
            next = 'aborted';
          }
          if (next === 'aborted') {
            brokeOff = true;
            void reader.cancel().catch(() => {});
            return;
          }
          if (next.done) return;
          size += next.value.byteLength;
          if (maxBytes !== undefined && size > maxBytes) {
            throw new TooLargeError(`the body goes past the upload's length (${maxBytes} bytes were left)`);
          }
          hash?.update(next.value);
          yield next.value;
        }
      } finally {
        if (onAbort) signal?.removeEventListener('abort', onAbort);
      }
    }
    await this.objects.upload(key, Readable.from(chunks(), { objectMode: false }));
    const keep = size > 0 && !(hash && brokeOff);
    if (keep && hash && hash.digest('hex') !== options.sha256) {
      await this.objects.delete(key);
      throw new ChecksumMismatchError();
    }
    if (!keep) {
      // Nothing arrived, or a checksummed chunk broke off and cannot be verified.
      await this.objects.delete(key);
      return offset;
    }
    return offset + size;
  }

  async finish(id: string): Promise<TempBlob> {
    const segments = await this.#existing(id);
    const plan = planAppend(segments, Number.POSITIVE_INFINITY);
    const chain = segments.filter((s) => !plan.drop.includes(s.key)).sort((a, b) => a.start - b.start);
    const objects = this.objects;
    async function* concatenated(): AsyncGenerator<Uint8Array> {
      for (const s of chain) yield* (await objects.get(s.key)) as unknown as AsyncIterable<Uint8Array>;
    }
    const temp = await this.#writeTemp(Readable.from(concatenated(), { objectMode: false }));
    await this.delete(id);
    return temp;
  }

  async delete(id: string): Promise<void> {
    const dir = this.#dir(id);
    const keys: string[] = [];
    for await (const o of this.objects.list(dir)) keys.push(o.key);
    // The marker last: a crash half-way leaves a part that still exists, and can be deleted again.
    await this.objects.deleteMany(keys.filter((k) => !k.endsWith(MARKER)));
    await this.objects.deleteMany(keys.filter((k) => k.endsWith(MARKER)));
  }
}
