/**
 * Rows 2 (cold part) and 8: hot/cold through the public contract only. A server started with
 * `--hot-time 1s` compresses what was uploaded; we wait until /api/files says `cold`, then
 * download. The sweep's own log line gives its throughput; /api/stats its ratio. Hot-download
 * p99 is measured while the server idles, then after a restart with `--hot-time 1s`, while its
 * first sweep compresses a mixed corpus.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { appendFile, rm, stat, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { DiskBlobStore } from '../../storage/blobs/disk/disk-blob-store.js';
import { run } from '../children.js';
import { sizeLabel, type BenchContext, type RowGroup } from '../context.js';
import { curl } from '../curl.js';
import { logLines, writeTextFile } from '../data.js';
import { request, runLoad } from '../load.js';
import { startOurServer, type OurServer } from '../our-server.js';
import { sleep } from '../proc.js';
import { mbPerSec, median, summarize } from '../stats.js';
import type { BenchRow } from '../table.js';
import { discard } from '../discard.js';

const COLD_ARGS = ['--hot-time', '1s', '--sweep-interval', '200ms'];
const RANGE_BYTES = 10e6;
const HOT_FILES = 16;
const HOT_SIZE = 1 << 20;

/** One "sweep: compressed N file(s) (A MB -> B MB, ...) ... in T ms" line of the server log. */
export function parseSweepLine(log: string): { files: number; plainMB: number; storedMB: number; ms: number } | null {
  const m = /sweep: compressed (\d+) file\(s\) \(([\d.]+) MB -> ([\d.]+) MB[^\n]*? in (\d+) ms/.exec(log);
  return m ? { files: Number(m[1]), plainMB: Number(m[2]), storedMB: Number(m[3]), ms: Number(m[4]) } : null;
}

async function statesOf(s: OurServer, prefix: string): Promise<string[]> {
  const r = await fetch(`${s.url}/api/files?prefix=${encodeURIComponent(prefix)}&limit=1000`, { headers: { Authorization: `Bearer ${s.token}` } });
  return ((await r.json()) as { items: { state: string }[] }).items.map((i) => i.state);
}

/** Waits until every file under `prefix` is cold; false after `timeoutMs`. */
async function waitCold(s: OurServer, prefix: string, count: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const states = await statesOf(s, prefix);
    if (states.length === count && states.every((x) => x === 'cold')) return true;
    await sleep(250);
  }
  return false;
}

const put = (s: OurServer, file: string, name: string) => curl(['-H', 'Expect:', '-H', `@${s.authFile}`, '-T', file, `${s.url}/files/${s.client}/${name}`]);

async function coldDownloadRows(ctx: BenchContext): Promise<BenchRow[]> {
  const size = ctx.sizes.bigBytes;
  const label = sizeLabel(size);
  const a = join(ctx.tmp, 'cold-a.log');
  const b = join(ctx.tmp, 'cold-b.log');
  ctx.log(`cold: writing 2 × ${label} of log text`);
  await writeTextFile(a, size, 1);
  await writeTextFile(b, size, 2);
  const s = await startOurServer({ dataDir: join(ctx.tmp, 'ours-cold'), args: COLD_ARGS });
  const nginx = ctx.nginx;
  try {
    await put(s, a, 'cold/a.log');
    await put(s, b, 'cold/b.log');
    ctx.log('cold: waiting for the sweeper');
    if (!(await waitCold(s, `${s.client}/cold/`, 2, ctx.quick ? 120_000 : 300_000))) throw new Error('the files did not turn cold in time');
    const range = ['-r', `${size - RANGE_BYTES}-${size - 1}`];
    ctx.log(`cold: ranged GET of the last ${sizeLabel(RANGE_BYTES)}, then a full GET`);
    const ranged = await curl([...range, '-H', `@${s.authFile}`, `${s.url}/files/${s.client}/cold/a.log`]);
    const full = await curl(['-H', `@${s.authFile}`, `${s.url}/files/${s.client}/cold/b.log`]);
    let ref: { ranged: number; full: number } | null = null;
    if (nginx) {
      await run('cp', [b, join(nginx.root, 'b.log')], 120_000);
      const r = [] as number[];
      const f = [] as number[];
      for (let i = 0; i < 3; i++) {
        r.push((await curl([...range, `${nginx.url}/b.log`])).seconds);
        f.push((await curl([`${nginx.url}/b.log`])).seconds);
      }
      ref = { ranged: median(r), full: median(f) };
      await nginx.clear();
    }
    return [
      { id: 'cold-get', name: `GET ${label} cold (gzip) file`, ours: mbPerSec(size, full.seconds), reference: ref ? mbPerSec(size, ref.full) : null, refName: ref ? 'nginx, plain file' : '', unit: 'MB/s', better: 'higher' },
      {
        id: 'cold-range',
        name: `GET last ${sizeLabel(RANGE_BYTES)} of a ${label} cold file`,
        ours: ranged.seconds * 1000,
        reference: ref ? ref.ranged * 1000 : null,
        refName: ref ? 'nginx range, plain file' : '',
        unit: 'ms',
        better: 'lower',
        note: 'seekable gzip: the range decompresses only the members that hold it (docs/hot-cold.md)',
      },
    ];
  } finally {
    await s.stop();
    await discard(s.dataDir);
    await rm(a, { force: true });
    await rm(b, { force: true });
  }
}

/** A mixed corpus: log text in 64 KiB-4 MiB files, a quarter random bytes, some small files. */
async function uploadCorpus(s: OurServer, total: number, allFile: string): Promise<number> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const auth = { Authorization: `Bearer ${s.token}` };
  let bytes = 0;
  let i = 0;
  const jobs: Promise<void>[] = [];
  while (bytes < total) {
    const kind = i % 8;
    const size = kind === 0 ? 2 << 20 : kind < 3 ? 64 << 10 : kind < 6 ? (256 << 10) * (1 + (i % 16)) : 8 << 10;
    const body = kind === 0 || kind === 7 ? randomBytes(size) : Buffer.from(logLines(i * 50_000, size), 'latin1');
    await appendFile(allFile, body);
    const name = `corpus/f${String(i).padStart(5, '0')}.${kind === 0 ? 'bin' : 'log'}`;
    jobs.push(
      request(agent, { method: 'PUT', url: `${s.url}/files/${s.client}/${name}`, headers: auth, body, keepBytes: 0 }).then((r) => {
        if (r.status !== 201) throw new Error(`corpus upload: HTTP ${r.status}`);
      }),
    );
    if (jobs.length >= 8) await Promise.all(jobs.splice(0));
    bytes += size;
    i++;
  }
  await Promise.all(jobs);
  for (let h = 0; h < HOT_FILES; h++) {
    const r = await request(agent, { method: 'PUT', url: `${s.url}/files/${s.client}/hot/h${h}.bin`, headers: auth, body: randomBytes(HOT_SIZE), keepBytes: 0 });
    if (r.status !== 201) throw new Error(`hot file upload: HTTP ${r.status}`);
  }
  agent.destroy();
  return bytes;
}

/** Hot downloads by 4 clients until `until` resolves or `maxMs` passes; latencies in ms. */
async function hotDownloads(s: OurServer, maxMs: number, until?: Promise<unknown>): Promise<number[]> {
  const auth = { Authorization: `Bearer ${s.token}` };
  const stop = new AbortController();
  void until?.then(() => stop.abort());
  const res = await runLoad({
    workers: 4,
    durationMs: maxMs,
    maxOpsPerWorker: 100_000,
    signal: stop.signal,
    op: async (agent, w, i) => {
      return (await request(agent, { method: 'GET', url: `${s.url}/files/${s.client}/hot/h${(w * 7 + i) % HOT_FILES}.bin`, headers: auth, keepBytes: 0 })).status;
    },
  });
  if (res.errors) throw new Error(`hot downloads: ${res.errors} errors, first: ${res.firstError}`);
  return res.latenciesMs;
}

async function sweepRows(ctx: BenchContext): Promise<BenchRow[]> {
  const dataDir = join(ctx.tmp, 'ours-sweep');
  const allFile = join(ctx.tmp, 'corpus.all');
  await writeFile(allFile, '');
  let s = await startOurServer({ dataDir });
  try {
    ctx.log(`sweep: uploading a ${sizeLabel(ctx.sizes.corpusBytes)} mixed corpus`);
    const plain = await uploadCorpus(s, ctx.sizes.corpusBytes, allFile);
    ctx.log('sweep: hot downloads, server idle');
    const idle = summarize(await hotDownloads(s, ctx.quick ? 2_000 : 5_000));
    await s.stop();
    // Restarted with a 1 s hot time: its first sweep finds the whole corpus cold.
    s = await startOurServer({ dataDir, args: COLD_ARGS, token: s.token });
    ctx.log('sweep: hot downloads during the first sweep');
    const swept = new Promise<NonNullable<ReturnType<typeof parseSweepLine>>>((resolve, reject) => {
      const deadline = Date.now() + (ctx.quick ? 120_000 : 300_000);
      const poll = setInterval(() => {
        const line = parseSweepLine(s.output());
        if (line) {
          clearInterval(poll);
          resolve(line);
        } else if (Date.now() > deadline) {
          clearInterval(poll);
          reject(new Error('no sweep line in the server log in time'));
        }
      }, 100);
    });
    swept.catch(() => {});
    const during = summarize(await hotDownloads(s, ctx.quick ? 120_000 : 300_000, swept));
    const sweep = await swept;
    const stats = (await (await fetch(`${s.url}/api/stats`, { headers: { Authorization: `Bearer ${s.token}` } })).json()) as { blobBytes: number; storedBytes: number };
    ctx.log('sweep: gzip -6 over the same corpus');
    const gz = await run('sh', ['-c', `gzip -6 -c '${allFile}' | wc -c`], 600_000);
    const gzBytes = Number(gz.stdout.trim());
    const allBytes = (await stat(allFile)).size;
    return [
      {
        id: 'sweep-rate',
        name: `sweep: compress a ${sizeLabel(plain)} mixed corpus (${sweep.files} files compressed)`,
        ours: sweep.ms > 0 ? (sweep.plainMB * 1000) / sweep.ms : null,
        reference: gz.code === 0 ? mbPerSec(allBytes, gz.seconds) : null,
        refName: 'gzip -6 CLI, whole corpus, one thread',
        unit: 'MB/s',
        better: 'higher',
      },
      {
        id: 'sweep-ratio',
        name: 'sweep: stored / plain over the corpus',
        // The hot files are random bytes that stay plain: leave them out on both sides.
        ours: (stats.storedBytes - HOT_FILES * HOT_SIZE) / (stats.blobBytes - HOT_FILES * HOT_SIZE),
        reference: gz.code === 0 ? gzBytes / allBytes : null,
        refName: 'gzip -6 of the corpus as one stream',
        unit: 'ratio',
        better: 'lower',
      },
      { id: 'hot-p99-sweep', name: 'hot 1 MiB download p99 during a sweep', ours: during.p99, reference: idle.p99, refName: 'same server idle', unit: 'ms', better: 'lower' },
      { id: 'hot-p50-sweep', name: 'hot 1 MiB download p50 during a sweep', ours: during.p50, reference: idle.p50, refName: 'same server idle', unit: 'ms', better: 'lower' },
    ];
  } finally {
    await s.stop();
    await discard(dataDir);
    await rm(allFile, { force: true });
  }
}

/** Ranges read per form in seekRows; the decompress-from-start form gets fewer (each costs half the file on average). */
const SEEK_RANGES = 100;
const OLD_RANGES = 10;
const SEEK_RANGE_BYTES = 64 << 10;

/**
 * Item 12 of issue 14: random 64 KiB ranges of one cold file, through the BlobStore, as seekable
 * gzip (now) and as the single-member gzip older cold files have (before: decompress from the
 * start), each stated as a ratio to the same ranges of the plain file.
 */
export async function seekRows(ctx: BenchContext): Promise<BenchRow[]> {
  const size = Math.min(ctx.sizes.bigBytes, 256 << 20);
  const root = join(ctx.tmp, 'seek-store');
  const store = new DiskBlobStore({ root, durable: false });
  await store.init();
  const source = join(ctx.tmp, 'seek.log');
  try {
    await writeTextFile(source, size, 3);
    const temp = await store.writeTemp(Readable.toWeb(createReadStream(source)) as ReadableStream<Uint8Array>);
    await store.commit(temp);
    const sha = temp.sha256;
    const plainLoc = { state: 'hot', codec: null } as const;
    const gzLoc = { state: 'cold', codec: 'gzip' } as const;
    await store.forms.install(await store.forms.convert(sha, plainLoc, gzLoc));
    let seed = 12;
    const starts = Array.from({ length: SEEK_RANGES }, () => {
      seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
      return Math.floor((seed / 2 ** 32) * (size - SEEK_RANGE_BYTES));
    });
    const perRange = async (where: typeof plainLoc | typeof gzLoc, n: number) => {
      const t0 = performance.now();
      for (const start of starts.slice(0, n)) {
        for await (const _ of (await store.read(sha, { start, end: start + SEEK_RANGE_BYTES - 1 }, where)) as unknown as AsyncIterable<Uint8Array>);
      }
      return (performance.now() - t0) / n;
    };
    ctx.log(`seek: ${SEEK_RANGES} ranges of ${sizeLabel(SEEK_RANGE_BYTES)} in a ${sizeLabel(size)} file, plain / seekable gzip / single-member gzip`);
    const plain = await perRange(plainLoc, SEEK_RANGES);
    const seekable = await perRange(gzLoc, SEEK_RANGES);
    // The format cold files had before: one gzip member, no index.
    const gzPath = store.forms.pathOf(sha, gzLoc);
    await pipeline(createReadStream(source), createGzip({ level: 6 }), createWriteStream(gzPath));
    const old = await perRange(gzLoc, OLD_RANGES);
    const name = (what: string) => `${sizeLabel(SEEK_RANGE_BYTES)} range of a ${sizeLabel(size)} cold file, ${what} (time / plain file's)`;
    return [
      { id: 'cold-seek-ratio', name: name('seekable gzip'), ours: seekable / plain, reference: old / plain, refName: 'before: single-member gzip', unit: 'ratio', better: 'lower', note: `per range: plain ${plain.toFixed(2)} ms, seekable ${seekable.toFixed(1)} ms, before ${old.toFixed(0)} ms` },
    ];
  } finally {
    await discard(root);
    await rm(source, { force: true });
  }
}

export const hotColdRows: RowGroup = async (ctx: BenchContext) => [...(await coldDownloadRows(ctx)), ...(await seekRows(ctx)), ...(await sweepRows(ctx))];
