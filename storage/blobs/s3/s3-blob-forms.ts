import { pipeline as pipelineCb, Readable, Transform } from 'node:stream';
import type { BlobForms, BlobLocation, ByteRange, PendingForm, ReadOptions, StoredForm } from '../blob-store.js';
import { hashPlainForm, verified } from '../blob-verify.js';
import { createDecompressor, planRangeRead, takeRange } from '../../hot-cold/codec.js';
import { sliceChecked } from '../../hot-cold/seekable-gzip.js';
import { NotFoundError } from '../../../core/errors.js';
import { ALL_FORMS, conversionStages, formName, formOfSuffix, pendingSuffix, PLAIN, readOrder, sameLocation, SHA256_HEX } from '../form-layout.js';
import type { S3Objects } from './s3-objects.js';

export interface S3BlobFormsOptions {
  objects: S3Objects;
  /** Prefix of blob keys (`<prefix>blobs/`): plain `<sha>`, cold `<sha>.gz` / `<sha>.br`. */
  blobPrefix: string;
  /** Prefix of the swap journal (`<prefix>swaps/`): one empty object per swap in progress. */
  journalPrefix: string;
  /** Where forms that failed their hash are moved (`<prefix>quarantine/`), kept for inspection. */
  quarantinePrefix: string;
  /** A fresh temporary key (under tmp/, swept by cleanupTemp) ending in `suffix`. */
  newTempKey: (suffix: string) => string;
}

/**
 * The stored forms of blobs on S3, with the same protocol as the disk (storage/hot-cold/form-swap.ts):
 * a new form is written under a temporary key, then copied next to the other form, so at every
 * instant at least one complete form exists; readers fall back to the other form when a swap
 * moved the blob between their catalog lookup and their GET. Compression streams through
 * node:zlib (threadpool) between the GET and the upload, never whole in memory.
 */
export class S3BlobForms implements BlobForms {
  constructor(readonly options: S3BlobFormsOptions) {}

  get objects(): S3Objects {
    return this.options.objects;
  }

  keyOf(sha256: string, where: BlobLocation): string {
    return `${this.options.blobPrefix}${formName(sha256, where)}`;
  }

  /** The plain content (or a range) from whichever form is stored, `where` tried first. */
  async read(sha256: string, range?: ByteRange, where?: BlobLocation, options: ReadOptions = {}): Promise<ReadableStream<Uint8Array>> {
    const order = readOrder(where);
    // Twice: a swap may move the blob while we look.
    for (let round = 0; round < 2; round++) {
      for (const loc of order) {
        try {
          const plain = await this.plainStream(sha256, loc, range);
          if (range || !options.verify) return plain;
          return Readable.toWeb(Readable.from(verified(plain as unknown as AsyncIterable<Uint8Array>, sha256, loc), { objectMode: false })) as ReadableStream<Uint8Array>;
        } catch (err) {
          if (!(err instanceof NotFoundError)) throw err;
        }
      }
    }
    throw new NotFoundError(`blob ${sha256} is missing`);
  }

  /** The plain content (or a range) of exactly one form; NotFoundError when it is not there. */
  private async plainStream(sha256: string, loc: BlobLocation, range?: ByteRange): Promise<ReadableStream<Uint8Array>> {
    const key = this.keyOf(sha256, loc);
    if (loc.state === 'hot') return this.objects.get(key, range);
    if (range) {
      // A seekable form: fetch and decompress only the members that hold the range.
      const plan = await this.planRange(key, loc.codec as string, range);
      if (plan) {
        const span = Readable.fromWeb((await this.objects.get(key, plan.compressed)) as never);
        const members = pipelineCb(span, createDecompressor(loc.codec as string), () => {});
        return Readable.toWeb(Readable.from(sliceChecked(members, plan.skip, range.end - range.start + 1), { objectMode: false })) as ReadableStream<Uint8Array>;
      }
    }
    const stored = Readable.fromWeb((await this.objects.get(key)) as never);
    // The callback form: a consumer that stops early destroys the decompressor, which
    // ends the GET; a failing GET reaches the consumer through the decompressor.
    const plain = pipelineCb(stored, createDecompressor(loc.codec as string), () => {});
    // A compressed stream cannot be entered in the middle: decompress up to the range.
    const out = range ? Readable.from(takeRange(plain, range.start, range.end), { objectMode: false }) : plain;
    return Readable.toWeb(out) as ReadableStream<Uint8Array>;
  }

  private async planRange(key: string, codec: string, range: ByteRange) {
    let size: number | undefined;
    for await (const o of this.objects.list(key)) if (o.key === key) size = o.size;
    if (size === undefined) throw new NotFoundError(`${key} is missing`);
    const bytes = async (start: number, end: number) => new Uint8Array(await new Response(await this.objects.get(key, { start, end })).arrayBuffer());
    return planRangeRead(codec, { size, bytes }, range.start, range.end);
  }

  async hash(sha256: string, where: BlobLocation): Promise<{ sha256: string; size: number } | { unreadable: string }> {
    return hashPlainForm((await this.plainStream(sha256, where)) as unknown as AsyncIterable<Uint8Array>);
  }

  /** Copies one form under the quarantine prefix, then removes it. Missing is fine. */
  async quarantine(sha256: string, where: BlobLocation): Promise<void> {
    const key = this.keyOf(sha256, where);
    const found = (await this.list(sha256)).find((f) => sameLocation(f, where));
    if (!found) return;
    await this.objects.copy(key, `${this.options.quarantinePrefix}${Date.now()}-${key.slice(this.options.blobPrefix.length)}`, found.storedSize);
    await this.objects.delete(key);
  }

  async convert(sha256: string, from: BlobLocation, to: BlobLocation, options: { signal?: AbortSignal } = {}): Promise<PendingForm> {
    const { signal } = options;
    if (sameLocation(from, to)) throw new Error(`convert ${sha256}: source and target form are the same`);
    let source: Readable;
    try {
      source = Readable.fromWeb((await this.objects.get(this.keyOf(sha256, from))) as never);
    } catch (err) {
      if (err instanceof NotFoundError) throw new NotFoundError(`blob ${sha256} has no ${from.state === 'hot' ? 'plain' : (from.codec ?? '')} form`);
      throw err;
    }
    const { stages, check } = conversionStages(sha256, from, to);
    const key = this.options.newTempKey(pendingSuffix(to));
    let storedSize = 0;
    const count = new Transform({
      transform(chunk: Buffer, _enc, done) {
        storedSize += chunk.byteLength;
        done(null, chunk);
      },
    });
    await this.objects.uploadThrough(key, source, [...stages, count], signal);
    try {
      check();
    } catch (err) {
      await this.objects.delete(key).catch(() => {});
      throw err;
    }
    return { id: key, sha256, state: to.state, codec: to.state === 'hot' ? null : to.codec, storedSize };
  }

  async install(pending: PendingForm): Promise<void> {
    await this.objects.copy(pending.id, this.keyOf(pending.sha256, pending), pending.storedSize);
    // A leftover temporary copy is harmless: cleanupTemp() takes it later.
    await this.objects.delete(pending.id).catch(() => {});
  }

  async discard(pending: PendingForm): Promise<void> {
    await this.objects.delete(pending.id).catch(() => {});
  }

  async delete(sha256: string, where: BlobLocation): Promise<void> {
    await this.objects.delete(this.keyOf(sha256, where));
  }

  async deleteAll(sha256: string): Promise<void> {
    await this.objects.deleteMany(ALL_FORMS.map((l) => this.keyOf(sha256, l)));
  }

  async list(sha256: string): Promise<StoredForm[]> {
    const plain = this.keyOf(sha256, PLAIN);
    const found: StoredForm[] = [];
    for await (const o of this.objects.list(plain)) {
      const where = formOfSuffix(o.key.slice(plain.length));
      if (where) found.push({ ...where, storedSize: o.size });
    }
    // Plain first, then codecs in their known order, as the disk store lists them.
    const rank = (f: StoredForm) => ALL_FORMS.findIndex((l) => sameLocation(l, f));
    return found.sort((a, b) => rank(a) - rank(b));
  }

  async exists(sha256: string): Promise<boolean> {
    if (await this.objects.exists(this.keyOf(sha256, PLAIN))) return true;
    return (await this.list(sha256)).length > 0;
  }

  // --- swap journal ---

  async beginSwap(sha256: string): Promise<void> {
    await this.objects.putEmpty(`${this.options.journalPrefix}${sha256}`);
  }

  async endSwap(sha256: string): Promise<void> {
    await this.objects.delete(`${this.options.journalPrefix}${sha256}`);
  }

  async unfinishedSwaps(): Promise<string[]> {
    const out: string[] = [];
    for await (const o of this.objects.list(this.options.journalPrefix)) {
      const name = o.key.slice(this.options.journalPrefix.length);
      if (SHA256_HEX.test(name)) out.push(name);
    }
    return out;
  }
}
