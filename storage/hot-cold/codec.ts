/**
 * The codecs of cold (compressed) blobs, as node:zlib streams: the work runs on libuv's
 * threadpool, never on the event loop, and nothing is held whole in memory. gzip is what the
 * sweeper writes (docs/hot-cold.md has the measurements behind that choice); brotli is read and
 * written too, so the default can change without stranding blobs already stored.
 *
 * Codec names ('gzip', 'br') are what the catalog records and what every BlobStore takes; the
 * suffix is how a store may name the compressed object (`<sha256>.gz`).
 */
import type { Transform } from 'node:stream';
import zlib from 'node:zlib';
import { planSeek, SeekableGzip, type ByteSource, type SeekPlan } from './seekable-gzip.js';

export type CodecName = 'gzip' | 'br';

/** What the sweeper compresses with. */
export const DEFAULT_CODEC: CodecName = 'gzip';

interface CodecSpec {
  suffix: string;
  compress(sizeHint?: number): Transform;
  decompress(): Transform;
}

// 64 KiB chunks: fewer threadpool round trips than zlib's 16 KiB default, still small enough
// that a download's file reads interleave with a running compression.
const CHUNK = 64 * 1024;

const CODECS: Record<CodecName, CodecSpec> = {
  gzip: {
    suffix: 'gz',
    // Seekable: independent members with an index, still one ordinary gzip stream.
    compress: () => new SeekableGzip({ level: 6, chunkSize: CHUNK }),
    decompress: () => zlib.createGunzip({ chunkSize: CHUNK }),
  },
  br: {
    suffix: 'br',
    compress: (sizeHint) =>
      zlib.createBrotliCompress({
        chunkSize: CHUNK,
        params: {
          [zlib.constants.BROTLI_PARAM_QUALITY]: 5,
          ...(sizeHint !== undefined ? { [zlib.constants.BROTLI_PARAM_SIZE_HINT]: Math.min(sizeHint, 2 ** 31 - 1) } : {}),
        },
      }),
    decompress: () => zlib.createBrotliDecompress({ chunkSize: CHUNK }),
  },
};

export const KNOWN_CODECS: readonly CodecName[] = Object.keys(CODECS) as CodecName[];

export function isCodecName(name: string): name is CodecName {
  return Object.hasOwn(CODECS, name);
}

function spec(codec: string): CodecSpec {
  if (!isCodecName(codec)) throw new Error(`unknown codec "${codec}" (known: ${KNOWN_CODECS.join(', ')})`);
  return CODECS[codec];
}

/** File suffix of a codec's objects, without the dot: 'gzip' -> 'gz'. */
export function codecSuffix(codec: string): string {
  return spec(codec).suffix;
}

/** The codec whose objects end in `.suffix`, if any: 'gz' -> 'gzip'. */
export function codecOfSuffix(suffix: string): CodecName | undefined {
  return KNOWN_CODECS.find((c) => CODECS[c].suffix === suffix);
}

/** A streaming compressor; `sizeHint` (the plain size) lets brotli pick its window. */
export function createCompressor(codec: string, sizeHint?: number): Transform {
  return spec(codec).compress(sizeHint);
}

export function createDecompressor(codec: string): Transform {
  return spec(codec).decompress();
}

/**
 * Bytes `start`..`end` (inclusive) of a byte stream: what comes before is skipped, and the source
 * is left (its iterator returned, which destroys a Node stream) as soon as `end` has passed, so a
 * range near the start of a cold blob decompresses only that far.
 */
export async function* takeRange(source: AsyncIterable<Uint8Array>, start: number, end: number): AsyncGenerator<Uint8Array> {
  let pos = 0;
  if (end < start) return;
  for await (const chunk of source) {
    const chunkEnd = pos + chunk.byteLength;
    if (chunkEnd > start) {
      const from = Math.max(0, start - pos);
      const to = Math.min(chunk.byteLength, end + 1 - pos);
      yield from === 0 && to === chunk.byteLength ? chunk : chunk.subarray(from, to);
    }
    pos = chunkEnd;
    if (pos > end) return;
  }
}

/**
 * True when a decompressor refused its input (a damaged compressed form: zlib's Z_DATA_ERROR,
 * Z_BUF_ERROR on a truncated stream, brotli's ERR__ERROR_*), as opposed to an I/O failure.
 */
export function isCodecDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && (code === 'Z_DATA_ERROR' || code === 'Z_BUF_ERROR' || code.startsWith('ERR__ERROR_'));
}

/**
 * For a range of a cold form: the compressed span to read and decompress (whole members of a
 * seekable gzip file, see storage/hot-cold/seekable-gzip.ts), or null when the form has no index (older
 * gzip files, brotli) and must be decompressed from its start.
 */
export function planRangeRead(codec: string, file: ByteSource, start: number, end: number): Promise<SeekPlan | null> {
  return codec === 'gzip' ? planSeek(file, start, end) : Promise.resolve(null);
}
