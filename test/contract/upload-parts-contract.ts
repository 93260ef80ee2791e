import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../storage/blob-store.js';
import { ChecksumMismatchError, ConflictError, NotFoundError, TooLargeError } from '../../storage/errors.js';
import { sha256 } from '../helpers/bytes.js';
import { readAll, streamOf, type BlobStoreFixture } from './blob-store-contract.js';

/** A body that delivers `chunks`, then (with `failAfter`) fails as a dropped connection would. */
function breaking(chunks: Uint8Array[], failAfter: number): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (i === failAfter) controller.error(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
      else controller.enqueue(chunks[i++] as Uint8Array);
    },
  });
}

/** A body that sends `first`, says so, and then never ends (a stalled client). */
function stalled(first: Uint8Array, onSent: () => void): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(first);
        return;
      }
      onSent();
      return new Promise(() => {});
    },
  });
}

/**
 * The upload-part half of the BlobStore contract (resumable uploads), through the interface
 * only: every implementation (disk, S3) runs it. See the method comments in storage/blob-store.ts.
 */
/** Upload parts need no damage hook. */
type PartsFixture = Omit<BlobStoreFixture, 'damage'>;

export function uploadPartsContract(name: string, open: () => Promise<PartsFixture>): void {
  describe(`BlobStore upload parts contract: ${name}`, () => {
    let fx: PartsFixture;
    let store: BlobStore;
    const a = randomBytes(70_000);
    const b = randomBytes(50_000);
    const c = randomBytes(30_000);

    beforeEach(async () => {
      fx = await open();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.close();
    });

    it('appends at exact offsets, hashes the whole part, and commits it like any temporary object', async () => {
      await store.createPartial('up1');
      expect(await store.appendPartial('up1', 0, streamOf(a.subarray(0, 1000), a.subarray(1000)))).toBe(a.length);
      expect(await store.appendPartial('up1', a.length, streamOf(b))).toBe(a.length + b.length);
      expect(await store.partialSize('up1')).toBe(a.length + b.length);
      const whole = Buffer.concat([a, b]);
      const temp = await store.finishPartial('up1');
      expect(temp).toMatchObject({ sha256: sha256(whole), size: whole.length });
      expect(await store.commit(temp)).toEqual({ stored: true });
      expect(sha256(await readAll(await store.read(temp.sha256)))).toBe(sha256(whole));
    });

    it('an empty part (null body) finishes as the empty blob', async () => {
      await store.createPartial('empty');
      expect(await store.appendPartial('empty', 0, null)).toBe(0);
      const temp = await store.finishPartial('empty');
      expect(temp).toMatchObject({ sha256: sha256(''), size: 0 });
      await store.discard(temp);
    });

    it('appending at the recorded offset drops bytes past it (written by a request that died unrecorded)', async () => {
      await store.createPartial('redo');
      await store.appendPartial('redo', 0, streamOf(a));
      await store.appendPartial('redo', a.length, streamOf(b));
      expect(await store.appendPartial('redo', a.length, streamOf(c))).toBe(a.length + c.length);
      expect((await store.finishPartial('redo')).sha256).toBe(sha256(Buffer.concat([a, c])));
    });

    it('an offset beyond the bytes held is a ConflictError and changes nothing', async () => {
      await store.createPartial('short');
      await store.appendPartial('short', 0, streamOf(a));
      await expect(store.appendPartial('short', a.length + 1, streamOf(b))).rejects.toBeInstanceOf(ConflictError);
      expect(await store.partialSize('short')).toBe(a.length);
    });

    it('keeps what arrived when the body breaks off', async () => {
      await store.createPartial('broken');
      expect(await store.appendPartial('broken', 0, breaking([a, b], 1))).toBe(a.length);
      expect(await store.partialSize('broken')).toBe(a.length);
      expect(await store.appendPartial('broken', a.length, streamOf(b))).toBe(a.length + b.length);
    });

    it('keeps what arrived when the signal aborts a stalled body', async () => {
      await store.createPartial('taken');
      const ctl = new AbortController();
      const size = await store.appendPartial('taken', 0, stalled(b, () => ctl.abort()), { signal: ctl.signal });
      expect(size).toBe(b.length);
      expect(await store.partialSize('taken')).toBe(b.length);
    });

    const cutBack: Array<[string, () => ReadableStream<Uint8Array>, { maxBytes?: number; sha256?: string }, unknown]> = [
      ['a body past maxBytes', () => streamOf(b, b), { maxBytes: b.length + 10 }, TooLargeError],
      ['a checksum mismatch', () => streamOf(b), { sha256: sha256(a) }, ChecksumMismatchError],
    ];
    it.each(cutBack)('cuts the part back to the offset on %s', async (_what, body, options, error) => {
      await store.createPartial('cut');
      await store.appendPartial('cut', 0, streamOf(a));
      await expect(store.appendPartial('cut', a.length, body(), options)).rejects.toBeInstanceOf(error);
      expect(await store.partialSize('cut')).toBe(a.length);
    });

    it('accepts a chunk whose checksum matches; a broken-off chunk with a checksum is dropped whole', async () => {
      await store.createPartial('sum');
      expect(await store.appendPartial('sum', 0, streamOf(a), { sha256: sha256(a) })).toBe(a.length);
      const bb = Buffer.concat([b, b]);
      expect(await store.appendPartial('sum', a.length, breaking([b, b], 1), { sha256: sha256(bb) })).toBe(a.length);
      expect(await store.partialSize('sum')).toBe(a.length);
    });

    it('missing parts are NotFoundError; create twice is a ConflictError; delete is idempotent', async () => {
      await expect(store.appendPartial('nope', 0, streamOf(a))).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.partialSize('nope')).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.finishPartial('nope')).rejects.toBeInstanceOf(NotFoundError);
      await store.createPartial('dup');
      await expect(store.createPartial('dup')).rejects.toBeInstanceOf(ConflictError);
      await store.deletePartial('dup');
      await store.deletePartial('dup');
      await expect(store.partialSize('dup')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('parts survive the start-up cleanup of temporary objects', async () => {
      await store.createPartial('keep');
      await store.appendPartial('keep', 0, streamOf(a));
      await store.cleanupTemp();
      expect(await store.partialSize('keep')).toBe(a.length);
    });
  });
}
