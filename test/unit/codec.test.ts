import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { buffer } from 'node:stream/consumers';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { codecOfSuffix, codecSuffix, createCompressor, createDecompressor, isCodecName, KNOWN_CODECS, takeRange } from '../../storage/hot-cold/codec.js';

async function collect(it: AsyncIterable<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

async function* chunksOf(data: Buffer, sizes: number[]): AsyncGenerator<Uint8Array> {
  let pos = 0;
  for (const n of sizes) {
    yield data.subarray(pos, pos + n);
    pos += n;
  }
}

describe('takeRange', () => {
  const data = Buffer.from('0123456789abcdefghij');
  const chunkings: [string, number[]][] = [
    ['one chunk', [20]],
    ['every byte its own chunk', Array(20).fill(1) as number[]],
    ['uneven chunks', [3, 7, 1, 9]],
    ['an empty chunk in between', [5, 0, 15]],
  ];
  const ranges: [number, number][] = [
    [0, 19],
    [0, 0],
    [19, 19],
    [3, 9],
    [10, 10],
    [5, 25],
  ];
  for (const [name, sizes] of chunkings) {
    it.each(ranges)(`${name}: bytes %i-%i`, async (start, end) => {
      expect((await collect(takeRange(chunksOf(data, sizes), start, end))).toString()).toBe(data.subarray(start, end + 1).toString());
    });
  }

  it('stops reading the source once the range has passed', async () => {
    let pulled = 0;
    let closed = false;
    async function* source() {
      try {
        for (let i = 0; i < 100; i++) {
          pulled++;
          yield Buffer.alloc(10, i);
        }
      } finally {
        closed = true;
      }
    }
    const out = await collect(takeRange(source(), 25, 34));
    expect(out).toEqual(Buffer.concat([Buffer.alloc(5, 2), Buffer.alloc(5, 3)]));
    expect(pulled).toBe(4);
    expect(closed).toBe(true);
  });

  it('yields nothing for an empty source or an inverted range', async () => {
    expect((await collect(takeRange(chunksOf(data, []), 0, 5))).length).toBe(0);
    expect((await collect(takeRange(chunksOf(data, [20]), 5, 4))).length).toBe(0);
  });
});

describe('codecs', () => {
  it('maps names and suffixes both ways', () => {
    expect(KNOWN_CODECS).toEqual(['gzip', 'br']);
    expect(codecSuffix('gzip')).toBe('gz');
    expect(codecSuffix('br')).toBe('br');
    expect(codecOfSuffix('gz')).toBe('gzip');
    expect(codecOfSuffix('br')).toBe('br');
    expect(codecOfSuffix('zst')).toBeUndefined();
    expect(isCodecName('gzip')).toBe(true);
    expect(isCodecName('toString')).toBe(false);
    expect(() => codecSuffix('zstd')).toThrow(/unknown codec/);
  });

  it.each(KNOWN_CODECS)('%s round-trips text and random bytes through streams', async (codec) => {
    const text = Buffer.from('cold blobs compress well when they are text\n'.repeat(5000));
    const random = randomBytes(200_000);
    for (const plain of [text, random, Buffer.alloc(0)]) {
      const packed = await buffer(Readable.from([plain]).pipe(createCompressor(codec, plain.length)));
      if (plain === text) expect(packed.length).toBeLessThan(plain.length / 20);
      const parts: Buffer[] = [];
      await pipeline(Readable.from([packed]), createDecompressor(codec), async function* (src) {
        for await (const c of src) parts.push(c as Buffer);
      });
      expect(Buffer.concat(parts).equals(plain)).toBe(true);
    }
  });

  it('fails loudly on corrupt compressed data', async () => {
    const packed = await buffer(Readable.from([Buffer.from('x'.repeat(10_000))]).pipe(createCompressor('gzip')));
    const at = packed.length - 6; // inside the CRC / length trailer
    packed.writeUInt8(packed.readUInt8(at) ^ 0xff, at);
    await expect(pipeline(Readable.from([packed]), createDecompressor('gzip'), async function* (src) {
      for await (const _ of src) void _;
    })).rejects.toThrow();
  });
});
