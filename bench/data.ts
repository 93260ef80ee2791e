/** Test data for the benchmark, written in 1 MiB steps (never held whole in memory). */
import { randomFillSync } from 'node:crypto';
import { mkdir, open, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const STEP = 1 << 20;

async function writeChunks(path: string, bytes: number, fill: (buf: Buffer, offset: number) => void): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const buf = Buffer.allocUnsafe(STEP);
    for (let off = 0; off < bytes; off += STEP) {
      const n = Math.min(STEP, bytes - off);
      fill(buf, off);
      await fh.write(buf, 0, n);
    }
  } finally {
    await fh.close();
  }
}

/** Incompressible bytes: what a hot transfer and nginx see alike. */
export function writeRandomFile(path: string, bytes: number): Promise<void> {
  return writeChunks(path, bytes, (buf) => randomFillSync(buf));
}

/** A deterministic server-log-like text that compresses the way real logs do (3-6×). */
export function logLines(startLine: number, bytes: number): string {
  const verbs = ['GET', 'PUT', 'POST', 'DELETE', 'HEAD'];
  const paths = ['/files/alice/docs/report.pdf', '/api/files?prefix=alice/', '/uploads/', '/browse/alice/photos/', '/healthz'];
  let s = '';
  for (let i = startLine; s.length < bytes; i++) {
    const x = Math.imul(i, 2654435761) >>> 0;
    s += `2026-11-27T${String((x >>> 8) % 24).padStart(2, '0')}:${String(x % 60).padStart(2, '0')}:${String((x >>> 4) % 60).padStart(2, '0')}.${String(x % 1000).padStart(3, '0')}Z `;
    s += `${verbs[x % 5]} ${paths[(x >>> 3) % 5]}${x % 977} ${[200, 201, 204, 206, 304, 404][x % 6]} ${x % 100_000}B ${(x % 9973) / 10}ms req=${x.toString(36)}\n`;
  }
  return s.slice(0, bytes);
}

let textPool: Buffer | undefined;

/**
 * Log text at disk speed: slices of a 4 MiB pool of log lines at varying offsets, each chunk
 * stamped with `seed` and its position. `seed` makes different files (equal content would be
 * stored once by the server). Compresses like the pool (gzip's window is 32 KiB).
 */
export function writeTextFile(path: string, bytes: number, seed = 0): Promise<void> {
  const pool = (textPool ??= Buffer.from(logLines(0, 4 * STEP + STEP), 'latin1'));
  return writeChunks(path, bytes, (buf, off) => {
    const k = off / STEP;
    const start = (Math.imul(k + 1, 2654435761) >>> 0) % (4 * STEP);
    pool.copy(buf, 0, start, start + STEP);
    buf.write(`seed ${seed} chunk ${k}\n`, 0, 'latin1');
  });
}

/** `count` files of `size` random bytes, `perDir` per folder: d000/f00000.bin, ... */
export async function writeSmallTree(dir: string, count: number, size: number, perDir = 100): Promise<string[]> {
  const rel: string[] = [];
  const buf = Buffer.allocUnsafe(size);
  for (let i = 0; i < count; i++) {
    const sub = `d${String(Math.floor(i / perDir)).padStart(3, '0')}`;
    if (i % perDir === 0) await mkdir(join(dir, sub), { recursive: true });
    const name = `${sub}/f${String(i).padStart(5, '0')}.bin`;
    randomFillSync(buf);
    await writeFile(join(dir, name), buf);
    rel.push(name);
  }
  return rel;
}
