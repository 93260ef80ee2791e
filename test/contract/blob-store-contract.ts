import { createHash } from 'node:crypto';
import { beforeEach, afterEach, describe, expect, it } from 'vitest';
import type { BlobStore, TempBlob } from '../../storage/blobs/blob-store.js';
import type { BlobLocation } from '../../storage/blobs/blob-store.js';
import { CorruptBlobError, NotFoundError, TooLargeError } from '../../core/errors.js';

export interface BlobStoreFixture {
  store: BlobStore;
  /** Damages one stored form behind the store's back, as bit rot or a torn write would. */
  damage(sha256: string, where: BlobLocation, how: Damage): Promise<void>;
  close(): Promise<void>;
}

/** 'flip': one byte in the middle inverted; 'truncate': the last byte cut off. */
export type Damage = 'flip' | 'truncate';

/** `bytes` damaged as `how` says (for fixtures). */
export function damaged(bytes: Uint8Array, how: Damage): Uint8Array {
  if (how === 'truncate') return bytes.subarray(0, bytes.byteLength - 1);
  const out = new Uint8Array(bytes);
  const at = Math.floor(out.byteLength / 2);
  out[at] = (out[at] as number) ^ 0xff;
  return out;
}

export interface BlobStoreContractOptions {
  /** Bytes of the "large" object: past the implementation's multipart / buffering threshold. */
  largeSize: number;
}

const enc = new TextEncoder();

export function streamOf(...parts: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const chunks = parts.map((p) => (typeof p === 'string' ? enc.encode(p) : p));
  return new ReadableStream({
    pull(controller) {
      const next = chunks.shift();
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
}

/** A stream that delivers `first`, then fails as a dropped connection would. */
function brokenStream(first: string): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(enc.encode(first));
      } else controller.error(Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    },
  });
}

const CHUNK = 64 * 1024;

/** Deterministic, incompressible-looking content: chunk i is a hash of i, repeated. */
function patternChunk(i: number): Uint8Array {
  const seed = createHash('sha256').update(`chunk ${i}`).digest();
  const out = new Uint8Array(CHUNK);
  for (let off = 0; off < CHUNK; off += seed.byteLength) out.set(seed.subarray(0, Math.min(seed.byteLength, CHUNK - off)), off);
  // Mix the position in so that equal seeds never line up across chunks.
  for (let j = 0; j < CHUNK; j += 4096) out[j] = (i + j) & 0xff;
  return out;
}

/** The bytes [start, end] of the pattern (for checking ranged reads without keeping the object). */
export function patternSlice(start: number, end: number): Uint8Array {
  const out = new Uint8Array(end - start + 1);
  for (let pos = start; pos <= end; ) {
    const i = Math.floor(pos / CHUNK);
    const off = pos - i * CHUNK;
    const take = Math.min(CHUNK - off, end - pos + 1);
    out.set(patternChunk(i).subarray(off, off + take), pos - start);
    pos += take;
  }
  return out;
}

/** A stream of `size` pattern bytes, generated chunk by chunk, never whole in memory. */
export function patternStream(size: number): { stream: ReadableStream<Uint8Array>; sha256: Promise<string> } {
  const hash = createHash('sha256');
  let pos = 0;
  let done!: (s: string) => void;
  const sha256 = new Promise<string>((res) => (done = res));
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pos >= size) {
        done(hash.digest('hex'));
        controller.close();
        return;
      }
      const i = Math.floor(pos / CHUNK);
      const c = patternChunk(i).subarray(0, Math.min(CHUNK, size - pos));
      hash.update(c);
      pos += c.byteLength;
      controller.enqueue(c);
    },
  });
  return { stream, sha256 };
}

export async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) parts.push(c);
  return Buffer.concat(parts);
}

async function hashStream(stream: ReadableStream<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) {
    h.update(c);
    size += c.byteLength;
  }
  return { sha256: h.digest('hex'), size };
}

const sha = (s: string | Uint8Array) => createHash('sha256').update(s).digest('hex');

/**
 * The behaviour every BlobStore must have. Register it from a test file with a factory that
 * opens a fresh, empty store per test.
 */
export function blobStoreContract(name: string, open: () => Promise<BlobStoreFixture>, options: BlobStoreContractOptions): void {
  describe(`BlobStore contract: ${name}`, () => {
    let fx: BlobStoreFixture;
    let store: BlobStore;
    beforeEach(async () => {
      fx = await open();
      store = fx.store;
    });
    afterEach(async () => {
      await fx.close();
    });

    async function put(text: string): Promise<TempBlob> {
      const temp = await store.writeTemp(streamOf(text));
      await store.commit(temp);
      return temp;
    }

    it('writeTemp hashes and counts the body; commit makes it readable under its SHA-256', async () => {
      const temp = await store.writeTemp(streamOf('hello ', 'world'));
      expect(temp).toMatchObject({ sha256: sha('hello world'), size: 11 });
      expect(await store.has(temp.sha256)).toBe(false);
      expect(await store.commit(temp)).toEqual({ stored: true });
      expect(await store.has(temp.sha256)).toBe(true);
      expect((await readAll(await store.read(temp.sha256))).toString()).toBe('hello world');
    });

    it('the same content committed twice is stored once and stays readable', async () => {
      const a = await put('same bytes');
      const b = await store.writeTemp(streamOf('same ', 'bytes'));
      expect(b.sha256).toBe(a.sha256);
      expect(await store.commit(b)).toEqual({ stored: false });
      expect((await readAll(await store.read(a.sha256))).toString()).toBe('same bytes');
      // The dropped temporary object is gone: nothing left for a clean-up to find.
      expect(await store.cleanupTemp()).toBe(0);
    });

    it('discard drops a temporary object, never throws, and stores nothing', async () => {
      const temp = await store.writeTemp(streamOf('thrown away'));
      await store.discard(temp);
      await store.discard(temp);
      expect(await store.has(temp.sha256)).toBe(false);
      expect(await store.cleanupTemp()).toBe(0);
      await expect(store.commit(temp)).rejects.toThrow();
      expect(await store.has(temp.sha256)).toBe(false);
    });

    it('empty bodies (null or an empty stream) are the empty blob', async () => {
      const a = await store.writeTemp(null);
      const b = await store.writeTemp(streamOf());
      expect(a).toMatchObject({ sha256: sha(''), size: 0 });
      expect(b).toMatchObject({ sha256: sha(''), size: 0 });
      expect(await store.commit(a)).toEqual({ stored: true });
      expect(await store.commit(b)).toEqual({ stored: false });
      expect((await readAll(await store.read(sha('')))).byteLength).toBe(0);
    });

    it.each([
      [0, 0, 'a'],
      [0, 9, 'abcdefghij'],
      [3, 5, 'def'],
      [25, 25, 'z'],
      [20, 25, 'uvwxyz'],
    ])('ranged read %i-%i', async (start, end, want) => {
      const t = await put('abcdefghijklmnopqrstuvwxyz');
      expect((await readAll(await store.read(t.sha256, { start, end }))).toString()).toBe(want);
    });

    it('reading a missing blob is a NotFoundError', async () => {
      await expect(store.read(sha('never stored'))).rejects.toBeInstanceOf(NotFoundError);
      await expect(store.read(sha('never stored'), { start: 0, end: 1 })).rejects.toBeInstanceOf(NotFoundError);
    });

    it('delete removes a blob; deleting a missing one is fine', async () => {
      const t = await put('short-lived');
      await store.delete(t.sha256);
      expect(await store.has(t.sha256)).toBe(false);
      await expect(store.read(t.sha256)).rejects.toBeInstanceOf(NotFoundError);
      await store.delete(t.sha256);
      await store.delete(sha('never stored'));
    });

    it('past maxBytes: TooLargeError and no temporary data left', async () => {
      const big = 'x'.repeat(10_000);
      await expect(store.writeTemp(streamOf(big, big), { maxBytes: 15_000 })).rejects.toBeInstanceOf(TooLargeError);
      expect(await store.has(sha(big + big))).toBe(false);
      expect(await store.cleanupTemp()).toBe(0);
      // Exactly at the limit is allowed.
      const ok = await store.writeTemp(streamOf(big), { maxBytes: 10_000 });
      expect(ok.size).toBe(10_000);
      await store.discard(ok);
    });

    it('a body that breaks off or an aborted signal stores nothing and leaves nothing', async () => {
      await expect(store.writeTemp(brokenStream('partial data'))).rejects.toThrow();
      const ac = new AbortController();
      const endless = new ReadableStream<Uint8Array>({
        pull(controller) {
          controller.enqueue(enc.encode('more '));
          if (!ac.signal.aborted) ac.abort(new Error('client went away'));
        },
      });
      await expect(store.writeTemp(endless, { signal: ac.signal })).rejects.toThrow();
      expect(await store.cleanupTemp()).toBe(0);
    });

    it('cleanupTemp removes temporary objects left uncommitted; they can no longer be committed', async () => {
      const t1 = await store.writeTemp(streamOf('left behind 1'));
      const t2 = await store.writeTemp(streamOf('left behind 2'));
      const kept = await put('committed');
      expect(await store.cleanupTemp()).toBe(2);
      expect(await store.cleanupTemp()).toBe(0);
      await expect(store.commit(t1)).rejects.toThrow();
      expect(await store.has(t1.sha256)).toBe(false);
      expect(await store.has(t2.sha256)).toBe(false);
      expect((await readAll(await store.read(kept.sha256))).toString()).toBe('committed');
    });

    it('a large object (past the multipart threshold) round-trips with its SHA-256, ranges too', async () => {
      const size = options.largeSize;
      const src = patternStream(size);
      const temp = await store.writeTemp(src.stream);
      expect(temp.size).toBe(size);
      expect(temp.sha256).toBe(await src.sha256);
      expect(await store.commit(temp)).toEqual({ stored: true });
      expect(await hashStream(await store.read(temp.sha256))).toEqual({ sha256: temp.sha256, size });
      // Across the 5 MiB boundary (S3's minimum part size) and the very end.
      const mid = 5 * 1024 * 1024;
      for (const r of [
        { start: mid - 100, end: mid + 100 },
        { start: size - 7, end: size - 1 },
      ]) {
        expect(new Uint8Array(await readAll(await store.read(temp.sha256, r)))).toEqual(patternSlice(r.start, r.end));
      }
    });

    describe('stored forms (hot/cold)', () => {
      const PLAIN: BlobLocation = { state: 'hot', codec: null };
      const GZ: BlobLocation = { state: 'cold', codec: 'gzip' };
      const BR: BlobLocation = { state: 'cold', codec: 'br' };
      const text = Array.from({ length: 40_000 }, (_, i) => `line ${i} of a compressible text\n`).join('');

      it.each([
        ['gzip', GZ],
        ['brotli', BR],
      ])('%s: convert, install, drop the plain form; reads (full, ranged, any hint) stay exact; back to plain', async (_name, cold) => {
        const t = await put(text);
        const pending = await store.forms.convert(t.sha256, PLAIN, cold);
        expect(pending).toMatchObject({ sha256: t.sha256, state: 'cold', codec: cold.codec });
        expect(pending.storedSize).toBeGreaterThan(0);
        expect(pending.storedSize).toBeLessThan(text.length / 4);
        // Pending forms are invisible.
        expect(await store.forms.list(t.sha256)).toEqual([{ ...PLAIN, storedSize: text.length }]);
        await store.forms.install(pending);
        expect(await store.forms.list(t.sha256)).toEqual([
          { ...PLAIN, storedSize: text.length },
          { ...cold, storedSize: pending.storedSize },
        ]);
        await store.forms.delete(t.sha256, PLAIN);
        expect(await store.forms.list(t.sha256)).toEqual([{ ...cold, storedSize: pending.storedSize }]);
        expect(await store.has(t.sha256)).toBe(true);
        for (const hint of [cold, PLAIN, undefined]) {
          expect((await readAll(await store.read(t.sha256, undefined, hint))).toString()).toBe(text);
        }
        for (const r of [
          { start: 0, end: 0 },
          { start: 500_000, end: 500_099 },
          { start: text.length - 10, end: text.length - 1 },
        ]) {
          expect((await readAll(await store.read(t.sha256, r, cold))).toString()).toBe(text.slice(r.start, r.end + 1));
        }
        const back = await store.forms.convert(t.sha256, cold, PLAIN);
        expect(back).toMatchObject({ state: 'hot', codec: null, storedSize: text.length });
        await store.forms.install(back);
        await store.forms.delete(t.sha256, cold);
        expect(await store.forms.list(t.sha256)).toEqual([{ ...PLAIN, storedSize: text.length }]);
        expect((await readAll(await store.read(t.sha256, { start: 10, end: 19 }))).toString()).toBe(text.slice(10, 20));
        expect(await store.cleanupTemp()).toBe(0);
      });

      it('delete removes every form; forms.discard drops a pending one', async () => {
        const t = await put(text);
        await store.forms.install(await store.forms.convert(t.sha256, PLAIN, GZ));
        await store.forms.discard(await store.forms.convert(t.sha256, PLAIN, BR));
        expect((await store.forms.list(t.sha256)).map((f) => f.codec)).toEqual([null, 'gzip']);
        expect(await store.cleanupTemp()).toBe(0);
        await store.delete(t.sha256);
        expect(await store.forms.list(t.sha256)).toEqual([]);
        expect(await store.has(t.sha256)).toBe(false);
        await expect(store.read(t.sha256, undefined, GZ)).rejects.toBeInstanceOf(NotFoundError);
      });

      it('converting from a form that is not there is a NotFoundError; an abort leaves nothing', async () => {
        const t = await put(text);
        await expect(store.forms.convert(t.sha256, GZ, PLAIN)).rejects.toBeInstanceOf(NotFoundError);
        await expect(store.forms.convert(sha('missing'), PLAIN, GZ)).rejects.toBeInstanceOf(NotFoundError);
        const ac = new AbortController();
        ac.abort(new Error('shutting down'));
        await expect(store.forms.convert(t.sha256, PLAIN, GZ, { signal: ac.signal })).rejects.toThrow();
        expect(await store.forms.list(t.sha256)).toEqual([{ ...PLAIN, storedSize: text.length }]);
        expect(await store.cleanupTemp()).toBe(0);
      });

      it('the swap journal keeps marks until ended', async () => {
        const [a, b] = [sha('a'), sha('b')];
        expect(await store.forms.unfinishedSwaps()).toEqual([]);
        await store.forms.beginSwap(a);
        await store.forms.beginSwap(b);
        expect((await store.forms.unfinishedSwaps()).sort()).toEqual([a, b].sort());
        await store.forms.endSwap(a);
        await store.forms.endSwap(a);
        expect(await store.forms.unfinishedSwaps()).toEqual([b]);
        // Temporary clean-up at start-up must not lose the journal.
        await store.cleanupTemp();
        expect(await store.forms.unfinishedSwaps()).toEqual([b]);
      });
    });

    describe('integrity: verified reads, quarantine, self-healing commits', () => {
      const PLAIN: BlobLocation = { state: 'hot', codec: null };
      const GZ: BlobLocation = { state: 'cold', codec: 'gzip' };
      const text = Array.from({ length: 20_000 }, (_, i) => `row ${i} of the integrity text\n`).join('');

      async function readError(stream: ReadableStream<Uint8Array>): Promise<{ bytes: number; err: unknown }> {
        let bytes = 0;
        try {
          for await (const c of stream as unknown as AsyncIterable<Uint8Array>) bytes += c.byteLength;
        } catch (err) {
          return { bytes, err };
        }
        return { bytes, err: undefined };
      }

      it('a verified read of good bytes is exact, plain and cold', async () => {
        const t = await put(text);
        expect((await readAll(await store.read(t.sha256, undefined, PLAIN, { verify: true }))).toString()).toBe(text);
        await store.forms.install(await store.forms.convert(t.sha256, PLAIN, GZ));
        await store.forms.delete(t.sha256, PLAIN);
        expect((await readAll(await store.read(t.sha256, undefined, GZ, { verify: true }))).toString()).toBe(text);
      });

      it.each([
        ['plain, a flipped byte', PLAIN, 'flip'],
        ['plain, truncated', PLAIN, 'truncate'],
        ['gzip, a flipped byte', GZ, 'flip'],
        ['gzip, truncated', GZ, 'truncate'],
      ] as const)('%s: a verified read fails with CorruptBlobError naming the form, short of the full length', async (_n, where, how) => {
        const t = await put(text);
        if (where.state === 'cold') {
          await store.forms.install(await store.forms.convert(t.sha256, PLAIN, where));
          await store.forms.delete(t.sha256, PLAIN);
        }
        await fx.damage(t.sha256, where, how);
        const { bytes, err } = await readError(await store.read(t.sha256, undefined, where, { verify: true }));
        expect(err).toBeInstanceOf(CorruptBlobError);
        expect((err as CorruptBlobError).where).toEqual(where);
        expect(bytes).toBeLessThan(text.length);
      });

      it('quarantine moves a corrupt form out of service and leaves a good one alone', async () => {
        const t = await put(text);
        expect(await store.quarantine(t.sha256, PLAIN)).toBe(false);
        expect((await readAll(await store.read(t.sha256))).toString()).toBe(text);
        await fx.damage(t.sha256, PLAIN, 'flip');
        expect(await store.quarantine(t.sha256, PLAIN)).toBe(true);
        expect(await store.forms.list(t.sha256)).toEqual([]);
        expect(await store.has(t.sha256)).toBe(false);
        expect(await store.quarantine(t.sha256, PLAIN)).toBe(false);
        // The next upload of the content stores it again.
        const again = await store.writeTemp(streamOf(text));
        expect(await store.commit(again, { where: PLAIN, storedSize: text.length })).toMatchObject({ stored: true, healed: expect.any(String) });
        expect((await readAll(await store.read(t.sha256, undefined, PLAIN, { verify: true }))).toString()).toBe(text);
      });

      it.each(['flip', 'truncate'] as const)('commit replaces a small stored plain copy that is damaged (%s) with the verified upload', async (how) => {
        const t = await put(text);
        await fx.damage(t.sha256, PLAIN, how);
        const again = await store.writeTemp(streamOf(text));
        const outcome = await store.commit(again, { where: PLAIN, storedSize: text.length });
        expect(outcome.stored).toBe(true);
        expect(outcome.healed).toMatch(/plain form/);
        expect(await store.forms.list(t.sha256)).toEqual([{ ...PLAIN, storedSize: text.length }]);
        expect((await readAll(await store.read(t.sha256, undefined, PLAIN, { verify: true }))).toString()).toBe(text);
        expect(await store.cleanupTemp()).toBe(0);
      });

      it('commit replaces a damaged cold copy with a plain one (the caller then names the plain form)', async () => {
        const t = await put(text);
        const pending = await store.forms.convert(t.sha256, PLAIN, GZ);
        await store.forms.install(pending);
        await store.forms.delete(t.sha256, PLAIN);
        await fx.damage(t.sha256, GZ, 'flip');
        const outcome = await store.commit(await store.writeTemp(streamOf(text)), { where: GZ, storedSize: pending.storedSize });
        expect(outcome).toMatchObject({ stored: true, healed: expect.stringMatching(/gzip form/) });
        expect(await store.forms.list(t.sha256)).toEqual([{ ...PLAIN, storedSize: text.length }]);
        expect((await readAll(await store.read(t.sha256))).toString()).toBe(text);
      });

      it('a large blob is size-checked on commit: a truncated copy is replaced, an intact one kept', async () => {
        const size = 1024 * 1024 + 4097;
        const first = patternStream(size);
        const t = await store.writeTemp(first.stream);
        await store.commit(t);
        const dup = await store.writeTemp(patternStream(size).stream);
        expect(await store.commit(dup, { where: PLAIN, storedSize: size })).toEqual({ stored: false });
        await fx.damage(t.sha256, PLAIN, 'truncate');
        const fix = await store.writeTemp(patternStream(size).stream);
        expect(await store.commit(fix, { where: PLAIN, storedSize: size })).toMatchObject({ stored: true, healed: expect.stringMatching(/bytes/) });
        expect(await hashStream(await store.read(t.sha256))).toEqual({ sha256: t.sha256, size });
      });
    });

    it('concurrent writes of different content all land intact', async () => {
      const texts = Array.from({ length: 6 }, (_, i) => `parallel ${i} `.repeat(100 + i));
      const temps = await Promise.all(texts.map((t) => store.writeTemp(streamOf(t))));
      await Promise.all(temps.map((t) => store.commit(t)));
      for (const [i, t] of temps.entries()) {
        expect((await readAll(await store.read(t.sha256))).toString()).toBe(texts[i]);
      }
    });
  });
}
