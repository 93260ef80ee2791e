/**
 * Seekable gzip, the format cold blobs are written in: the plain content is compressed as a run
 * of independent gzip members of `memberBytes` plain bytes each, followed by one empty member
 * whose header comment (FCOMMENT) holds the index: the compressed offset of every member. The
 * whole file is still one ordinary gzip stream (`gunzip`, `zcat` and node:zlib read it and the
 * index member adds no bytes), so nothing else needs to know about it; and because the index is
 * inside the same file, the atomic form swap (storage/hot-cold/form-swap.ts) covers it unchanged.
 *
 * A range then decompresses only the members it touches (about its own size plus at most one
 * member), instead of everything before it. Files without the index (written before, or by
 * brotli) are read from the start as before.
 *
 * Index member: 1f 8b 08 10 00000000 00 ff, then the ASCII comment
 *   `cb-seekable-gzip/1 offsets=<(count+1) x 12 hex digits> member=<12 hex> plain=<12 hex>
 *   count=<12 hex> length=<12 hex>` and a NUL, then an empty final deflate block (03 00), CRC-32 0
 * and size 0. offsets[count] is where the index member starts; `length` is its size in bytes.
 * The fixed-width fields at the end let a reader take the footer from the last bytes of the file
 * and then read just the two offsets it needs.
 */
import { once } from 'node:events';
import { Transform, type TransformCallback } from 'node:stream';
import zlib from 'node:zlib';

/** Plain bytes per gzip member: a range costs at most about one member more than its own size. */
export const MEMBER_BYTES = 1 << 20;

const MAGIC = 'cb-seekable-gzip/1 offsets=';
const HEADER = Buffer.from([0x1f, 0x8b, 0x08, 0x10, 0, 0, 0, 0, 0, 0xff]);
// Empty final stored/fixed block, CRC-32 of nothing, size 0.
const EMPTY_BODY = Buffer.from([0x03, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]);
const HEX = 12;
const FOOTER_RE = / member=([0-9a-f]{12}) plain=([0-9a-f]{12}) count=([0-9a-f]{12}) length=([0-9a-f]{12})$/;
/** Bytes at the end of a seekable file that hold the fixed fields (comment tail + NUL + body). */
export const FOOTER_BYTES = ' member= plain= count= length='.length + 4 * HEX + 1 + EMPTY_BODY.length;

const hex = (n: number) => n.toString(16).padStart(HEX, '0');

export interface SeekableFooter {
  memberBytes: number;
  plainSize: number;
  count: number;
  /** Bytes of the index member at the end of the file. */
  length: number;
}

/** The index member for members starting at `offsets` (plus the end of the last one). */
export function indexMember(memberBytes: number, plainSize: number, offsets: readonly number[]): Buffer {
  const count = offsets.length - 1;
  const head = `${MAGIC}${offsets.map(hex).join('')}`;
  const length = HEADER.length + head.length + FOOTER_BYTES;
  const comment = `${head} member=${hex(memberBytes)} plain=${hex(plainSize)} count=${hex(count)} length=${hex(length)}`;
  return Buffer.concat([HEADER, Buffer.from(comment, 'latin1'), Buffer.from([0]), EMPTY_BODY]);
}

/** The fixed fields from the last FOOTER_BYTES of a file, or null when it is not seekable gzip. */
export function parseFooter(tail: Uint8Array, fileSize: number): SeekableFooter | null {
  if (tail.byteLength !== FOOTER_BYTES) return null;
  const buf = Buffer.from(tail.buffer, tail.byteOffset, tail.byteLength);
  if (!buf.subarray(buf.length - EMPTY_BODY.length).equals(EMPTY_BODY) || buf[buf.length - EMPTY_BODY.length - 1] !== 0) return null;
  const m = FOOTER_RE.exec(buf.subarray(0, buf.length - EMPTY_BODY.length - 1).toString('latin1'));
  if (!m) return null;
  const [memberBytes, plainSize, count, length] = m.slice(1).map((h) => Number.parseInt(h as string, 16)) as [number, number, number, number];
  const expected = HEADER.length + MAGIC.length + (count + 1) * HEX + FOOTER_BYTES;
  if (memberBytes <= 0 || length !== expected || length > fileSize || count !== Math.max(1, Math.ceil(plainSize / memberBytes))) return null;
  return { memberBytes, plainSize, count, length };
}

/** Where offsets[first..last] sit in the file (inclusive byte range). */
export function offsetsSpan(footer: SeekableFooter, fileSize: number, first: number, last: number): { start: number; end: number } {
  const base = fileSize - footer.length + HEADER.length + MAGIC.length;
  return { start: base + first * HEX, end: base + (last + 1) * HEX - 1 };
}

export function parseOffsets(text: Uint8Array): number[] | null {
  const s = Buffer.from(text.buffer, text.byteOffset, text.byteLength).toString('latin1');
  if (s.length % HEX !== 0 || !/^[0-9a-f]*$/.test(s)) return null;
  const out: number[] = [];
  for (let i = 0; i < s.length; i += HEX) out.push(Number.parseInt(s.slice(i, i + HEX), 16));
  return out;
}

/** How to read plain bytes `start`..`end`: the compressed span of the members that hold them. */
export interface SeekPlan {
  /** Inclusive byte range of whole gzip members in the file. */
  compressed: { start: number; end: number };
  /** Plain bytes to skip at the start of the span's output. */
  skip: number;
}

/** Random access to a stored file's bytes, as much as the seek needs. */
export interface ByteSource {
  size: number;
  bytes(start: number, end: number): Promise<Uint8Array>;
}

/**
 * The members to read for a plain range, from the file's footer and two index entries (two small
 * reads). Null when the file has no usable index: read it from the start instead.
 */
export async function planSeek(file: ByteSource, start: number, end: number): Promise<SeekPlan | null> {
  if (file.size < FOOTER_BYTES) return null;
  const footer = parseFooter(await file.bytes(file.size - FOOTER_BYTES, file.size - 1), file.size);
  if (!footer || end >= footer.plainSize || start > end) return null;
  const first = Math.floor(start / footer.memberBytes);
  const last = Math.floor(end / footer.memberBytes);
  const span = offsetsSpan(footer, file.size, first, last + 1);
  const offsets = parseOffsets(await file.bytes(span.start, span.end));
  const from = offsets?.[0];
  const to = offsets?.[offsets.length - 1];
  if (from === undefined || to === undefined || offsets?.length !== last - first + 2 || !(from < to) || to > file.size - footer.length) return null;
  return { compressed: { start: from, end: to - 1 }, skip: start - first * footer.memberBytes };
}

export interface SeekableGzipOptions {
  memberBytes?: number;
  level?: number;
  chunkSize?: number;
}

/**
 * A compressing Transform that writes seekable gzip: a new gzip member every `memberBytes` plain
 * bytes, then the index member. Each member goes through node:zlib (threadpool), one at a time.
 */
export class SeekableGzip extends Transform {
  readonly #memberBytes: number;
  readonly #zlib: zlib.ZlibOptions;
  #member: zlib.Gzip | undefined;
  #inMember = 0;
  #plain = 0;
  #out = 0;
  readonly #offsets: number[] = [];

  constructor(options: SeekableGzipOptions = {}) {
    super();
    this.#memberBytes = options.memberBytes ?? MEMBER_BYTES;
    this.#zlib = { level: options.level ?? 6, chunkSize: options.chunkSize ?? 64 * 1024 };
  }

  #open(): zlib.Gzip {
    const gz = zlib.createGzip(this.#zlib);
    this.#offsets.push(this.#out);
    gz.on('data', (c: Buffer) => {
      this.#out += c.byteLength;
      this.push(c);
    });
    this.#member = gz;
    this.#inMember = 0;
    return gz;
  }

  async #close(): Promise<void> {
    const gz = this.#member;
    if (!gz) return;
    this.#member = undefined;
    const ended = once(gz, 'end');
    gz.end();
    await ended;
  }

  async #write(chunk: Buffer): Promise<void> {
    for (let pos = 0; pos < chunk.byteLength; ) {
      const gz = this.#member ?? this.#open();
      const take = Math.min(chunk.byteLength - pos, this.#memberBytes - this.#inMember);
      const part = chunk.subarray(pos, pos + take);
      pos += take;
      this.#inMember += take;
      this.#plain += take;
      if (!gz.write(part)) await once(gz, 'drain');
      if (this.#inMember === this.#memberBytes) await this.#close();
    }
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.#write(chunk).then(() => done(), done);
  }

  override _flush(done: TransformCallback): void {
    (async () => {
      // Even empty content is one (empty) member, so the file is valid gzip.
      if (this.#offsets.length === 0) this.#open();
      await this.#close();
      this.#offsets.push(this.#out);
      this.push(indexMember(this.#memberBytes, this.#plain, this.#offsets));
    })().then(() => done(), done);
  }

  override _destroy(err: Error | null, done: (error?: Error | null) => void): void {
    this.#member?.destroy();
    done(err);
  }
}

/**
 * Bytes `skip`..`skip + length - 1` of a decompressed span, read to the span's end so that every
 * member's CRC-32 is checked, with the last piece held back until then: damaged members fail the
 * read instead of yielding wrong bytes.
 */
export async function* sliceChecked(source: AsyncIterable<Uint8Array>, skip: number, length: number): AsyncGenerator<Uint8Array> {
  const end = skip + length;
  let pos = 0;
  let held: Uint8Array | undefined;
  for await (const chunk of source) {
    const chunkEnd = pos + chunk.byteLength;
    if (chunkEnd > skip && pos < end) {
      const piece = chunk.subarray(Math.max(0, skip - pos), Math.min(chunk.byteLength, end - pos));
      if (held) yield held;
      held = piece;
    }
    pos = chunkEnd;
  }
  if (pos < end) throw new Error(`seekable gzip: members ended after ${pos} of ${end} plain bytes`);
  if (held) yield held;
}
