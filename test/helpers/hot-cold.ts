import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';

const WORDS = (
  'backup server client blob cold hot sweep compress restore folder file range request stream ' +
  'catalog sqlite upload download resume token namespace digest header chunk window the a of to ' +
  'and in is it for on with as at by from this that be are was were will can may must not'
).split(' ');

/**
 * Writes about `size` bytes of pseudo-random prose (deterministic per seed) and returns its
 * SHA-256: text that compresses to roughly a third, at gzip's ordinary (not best-case) speed.
 */
export async function writeWordsFile(path: string, size: number, seed = 1): Promise<string> {
  const fh = await open(path, 'w');
  const h = createHash('sha256');
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s;
  };
  try {
    let written = 0;
    while (written < size) {
      let block = '';
      while (block.length < 1 << 16) {
        const n = next();
        block += WORDS[n % WORDS.length] as string;
        block += n % 13 === 0 ? `.\n${n % 1000} ` : n % 7 === 0 ? ', ' : ' ';
      }
      const buf = Buffer.from(block).subarray(0, size - written);
      h.update(buf);
      await fh.write(buf);
      written += buf.byteLength;
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** PUT a local file, streamed. */
export async function putFile(base: string, path: string, file: string, headers: Record<string, string>): Promise<Response> {
  const body = Readable.toWeb(createReadStream(file)) as ReadableStream<Uint8Array>;
  return fetch(`${base}/files/${path}`, { method: 'PUT', headers, body, duplex: 'half' } as RequestInit);
}

/** Bytes `start`..`end` (inclusive) of a local file. */
export async function fileSlice(file: string, start: number, end: number): Promise<Buffer> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(end - start + 1);
    await fh.read(buf, 0, buf.length, start);
    return buf;
  } finally {
    await fh.close();
  }
}
