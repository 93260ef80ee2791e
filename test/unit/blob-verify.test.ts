import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import type { BlobLocation, KnownBlob, StoredForm } from '../../storage/blobs/blob-store.js';
import { sizeProblem, verified } from '../../storage/blobs/blob-verify.js';
import { createDecompressor } from '../../storage/hot-cold/codec.js';
import { CorruptBlobError } from '../../core/errors.js';

const PLAIN: BlobLocation = { state: 'hot', codec: null };
const GZ: BlobLocation = { state: 'cold', codec: 'gzip' };
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('sizeProblem', () => {
  const cases: [string, StoredForm, number, KnownBlob | undefined, boolean][] = [
    ['plain, right size', { ...PLAIN, storedSize: 100 }, 100, undefined, false],
    ['plain, short', { ...PLAIN, storedSize: 99 }, 100, undefined, true],
    ['plain, long', { ...PLAIN, storedSize: 101 }, 100, { where: PLAIN, storedSize: 100 }, true],
    ['gzip, as the catalog recorded', { ...GZ, storedSize: 40 }, 100, { where: GZ, storedSize: 40 }, false],
    ['gzip, other than recorded', { ...GZ, storedSize: 39 }, 100, { where: GZ, storedSize: 40 }, true],
    ['gzip, catalog names the plain form: size unknown', { ...GZ, storedSize: 39 }, 100, { where: PLAIN, storedSize: 100 }, false],
    ['gzip, no catalog row', { ...GZ, storedSize: 39 }, 100, undefined, false],
  ];
  it.each(cases)('%s', (_name, form, plainSize, known, bad) => {
    expect(sizeProblem(form, plainSize, known) !== null).toBe(bad);
  });
});

async function drain(source: AsyncIterable<Uint8Array>): Promise<{ chunks: Uint8Array[]; err?: unknown }> {
  const chunks: Uint8Array[] = [];
  try {
    for await (const c of source) chunks.push(c);
  } catch (err) {
    return { chunks, err };
  }
  return { chunks };
}

async function* from(chunks: Uint8Array[]): AsyncGenerator<Uint8Array> {
  yield* chunks;
}

describe('verified', () => {
  const parts = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5]), new Uint8Array([6])];
  const whole = new Uint8Array([1, 2, 3, 4, 5, 6]);

  it('passes intact content through unchanged', async () => {
    const { chunks, err } = await drain(verified(from(parts), sha(whole), PLAIN));
    expect(err).toBeUndefined();
    expect(Buffer.concat(chunks)).toEqual(Buffer.from(whole));
  });

  it('fails on a mismatch before the last chunk is handed out', async () => {
    const bad = [parts[0] as Uint8Array, new Uint8Array([4, 0]), parts[2] as Uint8Array];
    const { chunks, err } = await drain(verified(from(bad), sha(whole), PLAIN));
    expect(err).toBeInstanceOf(CorruptBlobError);
    expect((err as CorruptBlobError).where).toEqual(PLAIN);
    expect(chunks.length).toBe(2);
  });

  it('a single-chunk blob that is wrong hands out nothing', async () => {
    const { chunks, err } = await drain(verified(from([new Uint8Array([9])]), sha(whole), PLAIN));
    expect(err).toBeInstanceOf(CorruptBlobError);
    expect(chunks).toEqual([]);
  });

  it('a compressed form its codec refuses is a CorruptBlobError naming that form', async () => {
    const gz = gzipSync(Buffer.from(whole));
    gz[gz.length - 6] = (gz[gz.length - 6] as number) ^ 0xff; // inside the CRC-32
    const dec = createDecompressor('gzip');
    dec.end(gz);
    const { err } = await drain(verified(dec, sha(whole), GZ));
    expect(err).toBeInstanceOf(CorruptBlobError);
    expect((err as CorruptBlobError).where).toEqual(GZ);
  });
});
