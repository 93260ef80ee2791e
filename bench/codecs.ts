/**
 * Compares the candidate codecs for cold blobs on a mixed text corpus: every text file of 4 KiB
 * or more under node_modules (code, JSON, Markdown) plus a generated server log and CSV. Each
 * file is compressed on its own, as the sweeper does, through node:zlib streams.
 *
 *   npx tsx bench/codecs.ts [corpus-dir]
 *
 * Prints ratio (stored / plain) and compression and decompression throughput per CPU-second.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

const TEXT = /\.(js|mjs|cjs|ts|json|md|css|html|txt|map)$/;

async function* walk(dir: string): AsyncGenerator<string> {
  for (const e of await readdir(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* walk(p);
    else if (e.isFile() && TEXT.test(e.name)) yield p;
  }
}

/** A deterministic pseudo-random source, so every run measures the same generated files. */
function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

async function writeLines(path: string, bytes: number, line: (r: () => number, i: number) => string): Promise<void> {
  const fh = await open(path, 'w');
  const r = prng(bytes);
  try {
    let written = 0;
    let i = 0;
    while (written < bytes) {
      let block = '';
      while (block.length < 1 << 16) block += line(r, i++);
      await fh.write(block);
      written += Buffer.byteLength(block);
    }
  } finally {
    await fh.close();
  }
}

const PATHS = ['/', '/files/alice/docs/report.pdf', '/api/files', '/api/stats', '/browse/alice/photos/', '/uploads/'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');
const logLine = (r: () => number, i: number) =>
  `2025-03-${pad(1 + (i % 28))}T${pad(i % 24)}:${pad(i % 60)}:${pad(Math.floor(r() * 60))}.${pad(Math.floor(r() * 1000), 3)}Z ` +
  `${r() < 0.9 ? 'GET' : 'PUT'} ${PATHS[Math.floor(r() * PATHS.length)]} ${r() < 0.95 ? 200 : 404} ${Math.floor(r() * 1e6)}B ` +
  `${Math.floor(r() * 900)}ms ip=10.0.${Math.floor(r() * 255)}.${Math.floor(r() * 255)}\n`;
const csvLine = (r: () => number, i: number) =>
  `${i},${(r() * 1000).toFixed(3)},${(r() * 180 - 90).toFixed(6)},${(r() * 360 - 180).toFixed(6)},` +
  `${['ok', 'warn', 'fail'][Math.floor(r() * 3)]},sensor-${Math.floor(r() * 64)}\n`;

interface Candidate {
  name: string;
  compress: () => zlib.Gzip | zlib.BrotliCompress;
  decompress: () => zlib.Gunzip | zlib.BrotliDecompress;
}

const gz = (level: number): Candidate => ({
  name: `gzip -${level}`,
  compress: () => zlib.createGzip({ level }),
  decompress: () => zlib.createGunzip(),
});
const br = (quality: number): Candidate => ({
  name: `brotli q${quality}`,
  compress: () => zlib.createBrotliCompress({ params: { [zlib.constants.BROTLI_PARAM_QUALITY]: quality } }),
  decompress: () => zlib.createBrotliDecompress(),
});

const devNull = () =>
  new Writable({
    write(_chunk, _enc, cb) {
      cb();
    },
  });

/** CPU microseconds of this process, zlib's threadpool threads included. */
function cpu(): number {
  const u = process.cpuUsage();
  return u.user + u.system;
}

async function main(): Promise<void> {
  const root = process.argv[2] ?? 'node_modules';
  const scratch = await mkdtemp(join(tmpdir(), 'cb-codecs-'));
  try {
    await writeLines(join(scratch, 'server.log'), 16 << 20, logLine);
    await writeLines(join(scratch, 'sensors.csv'), 16 << 20, csvLine);
    const files = [join(scratch, 'server.log'), join(scratch, 'sensors.csv')];
    for await (const p of walk(root)) if ((await stat(p)).size >= 4096) files.push(p);
    let plain = 0;
    for (const f of files) plain += (await stat(f)).size;
    console.log(`corpus: ${files.length} files, ${(plain / 1e6).toFixed(1)} MB`);

    // CPU time rather than wall time, and the codecs interleaved file by file, so that other load
    // on the machine skews no codec more than another.
    const cands = [gz(1), gz(6), br(4), br(5), br(6)];
    const totals = cands.map(() => ({ stored: 0, compressUs: 0, decompressUs: 0 }));
    const out = join(scratch, 'compressed');
    for (const f of files) {
      for (const [k, c] of cands.entries()) {
        const t = totals[k] as (typeof totals)[number];
        const ws = createWriteStream(out);
        let t0 = cpu();
        await pipeline(createReadStream(f), c.compress(), ws);
        t.compressUs += cpu() - t0;
        t.stored += ws.bytesWritten;
        t0 = cpu();
        await pipeline(createReadStream(out), c.decompress(), devNull());
        t.decompressUs += cpu() - t0;
      }
    }
    const mbps = (us: number) => (plain / 1e6 / (us / 1e6)).toFixed(1);
    console.log('codec        ratio   compress MB/CPU-s   decompress MB/CPU-s');
    for (const [k, c] of cands.entries()) {
      const t = totals[k] as (typeof totals)[number];
      console.log(`${c.name.padEnd(12)} ${(t.stored / plain).toFixed(3)}   ${mbps(t.compressUs).padStart(17)}   ${mbps(t.decompressUs).padStart(19)}`);
    }
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

await main();
