import { createHash, randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open } from 'node:fs/promises';

export function sha256(data: Uint8Array | string): string {
  return createHash('sha256').update(data).digest('hex');
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash('sha256');
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest('hex');
}

/** SHA-256 of a response body, streamed. */
export async function sha256Body(res: Response): Promise<{ sha256: string; size: number }> {
  const h = createHash('sha256');
  let size = 0;
  if (res.body) {
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      h.update(chunk);
      size += chunk.byteLength;
    }
  }
  return { sha256: h.digest('hex'), size };
}

/** Writes `size` pseudo-random bytes to `path` in chunks (never whole in memory). */
export async function writeRandomFile(path: string, size: number, chunk = 1 << 20): Promise<string> {
  const fh = await open(path, 'w');
  const h = createHash('sha256');
  try {
    let left = size;
    while (left > 0) {
      const b = randomBytes(Math.min(chunk, left));
      h.update(b);
      await fh.write(b);
      left -= b.byteLength;
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** Writes compressible text of about `size` bytes; returns its SHA-256. */
export async function writeTextFile(path: string, size: number): Promise<string> {
  const fh = await open(path, 'w');
  const h = createHash('sha256');
  try {
    let written = 0;
    let line = 0;
    while (written < size) {
      const s = Buffer.from(`line ${line++}: the quick brown fox jumps over the lazy dog ${line % 97}\n`.repeat(100)).subarray(0, size - written);
      h.update(s);
      await fh.write(s);
      written += s.byteLength;
    }
  } finally {
    await fh.close();
  }
  return h.digest('hex');
}

/** Content-Digest header value for data. */
export function contentDigest(data: Uint8Array | string): string {
  return `sha-256=:${createHash('sha256').update(data).digest('base64')}:`;
}
