import { randomBytes } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobStore } from '../../storage/blobs/blob-store.js';
import { ChecksumMismatchError, ConflictError, NotFoundError, TooLargeError } from '../../core/errors.js';
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
 * only: every implementation (disk, S3) runs it. See the method comments in storage/blobs/blob-store.ts.
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
      await store.parts.create('up1');
      expect(await store.parts.append('up1', 0, streamOf(a.subarray(0, 1000), a.subarray(1000)))).toBe(a.length);
      expect(await store.parts.append('up1', a.length, streamOf(b))).toBe(a.length + b.length);
      expect(await store.parts.size('up1')).toBe(a.length + b.length);
      const whole = Buffer.concat([a, b]);
      const temp = await store.parts.finish('up1');
      expect(temp).toMatchObject({ sha256: sha256(whole), size: whole.length });
      expect(await store.commit(temp)).toEqual({ stored: true });
      expect(sha256(await readAll(await store.read(temp.sha256)))).toBe(sha256(whole));
    });

    it('an empty part (null body) finishes as the empty blob', async () => {
      await store.parts.create('empty');
      expect(await store.parts.append('empty', 0, null)).toBe(0);
      const temp = await store.parts.finish('empty');
      expect(temp).toMatchObject({ sha256: sha256(''), size: 0 });
      await store.discard(temp);
    });

    it('appending at the recorded offset drops bytes past it (written by a request that died unrecorded)', async () => {
      await store.parts.create('redo');
      await store.parts.append('redo', 0, streamOf(a));
      await store.parts.append('redo', a.length, streamOf(b));
      expect(await store.parts.append('redo', a.length, streamOf(c))).toBe(a.length + c.length);
      expect((await store.parts.finish('redo')).sha256).toBe(sha256(Buffer.concat([a, c])));
    });

    it('an offset beyond the bytes held is a ConflictError and changes nothing', async () => {
      await store.parts.create('short');
      await store.parts.append('short', 0, streamOf(a));
      await expect(store.parts.append('short', a.length + 1, streamOf(b))).rejects.toBeInstanceOf(ConflictError);
      expect(await store.parts.size('short')).toBe(a.length);
    });

    it('keeps what arrived when the body breaks off', async () => {
      await store.parts.create('broken');
      expect(await store.parts.append('broken', 0, breaking([a, b], 1))).toBe(a.length);
      expect(await store.parts.size('broken')).toBe(a.length);
      expect(await store.parts.append('broken', a.length, streamOf(b))).toBe(a.length + b.length);
    });

    it('keeps what arrived when the signal aborts a stalled body', async () => {
      await store.parts.create('taken');
      const ctl = new AbortController();
      const size = await store.parts.append('taken', 0, stalled(b, () => ctl.abort()), { signal: ctl.signal });
      expect(size).toBe(b.length);
      expect(await store.parts.size('taken')).toBe(b.length);
    });

    const cutBack: Array<[string, () => ReadableStream<Uint8Array>, { maxBytes?: number; sha256?: string }, unknown]> = [
      ['a body past maxBytes', () => streamOf(b, b), { maxBytes: b.length + 10 }, TooLargeError],
      ['a checksum mismatch', () => streamOf(b), { sha256: sha256(a) }, ChecksumMismatchError],
    ];
    it.each(cutBack)('cuts the part back to the offset on %s', async (_what, body, options, error) => {
      await store.parts.create('cut');
      await store.parts.append('cut', 0, streamOf(a));
      await expect(store.parts.append('cut', a.length, body(), options)).rejects.toBeInstanceOf(error);
      expect(await store.parts.size('cut')).toBe(a.length);
    });

    it('accepts a chunk whose checksum matches; a broken-off chunk with a checksum is dropped whole', async () => {
      await store.parts.create('sum');
      expect(await store.parts.append('sum', 0, streamOf(a), { sha256: sha256(a) })).toBe(a.length);
      const bb = Buffer.concat([b, b]);
      expect(await store.parts.append('sum', a.length, breaking([b, b], 1), { sha256: sha256(bb) })).toBe(a.length);
      expect(await store.parts.size('sum')).toBe(a.length);
    });

    it('missing parts are NotFoundError; create twice is a ConflictError; delete is idempotent', async () => {
      await expect(store.parts.append('nope', 0, streamOf(a))).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.parts.size('nope')).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.parts.finish('nope')).rejects.toBeInstanceOf(NotFoundError);
      await store.parts.create('dup');
      await expect(store.parts.create('dup')).rejects.toBeInstanceOf(ConflictError);
      await store.parts.delete('dup');
      await store.parts.delete('dup');
      await expect(store.parts.size('dup')).rejects.toBeInstanceOf(NotFoundError);
    });

    it('parts survive the start-up cleanup of temporary objects', async () => {
      await store.parts.create('keep');
      await store.parts.append('keep', 0, streamOf(a));
      await store.cleanupTemp();
      expect(await store.parts.size('keep')).toBe(a.length);
    });
  });
}
