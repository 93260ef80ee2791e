/**
 * Rows 3d-3f: what `--durable` (the default: the catalog's WAL fdatasynced, and a small blob's
 * record in the blob log, before the answer; docs/reliability.md) costs on small files. The same tree of 4 KiB files is PUT one request
 * per file, `transfers` at a time, to our server with `--durable` and with `--durable false`; the
 * reference is the least a durable store can do for each file: write a copy, fsync it and its
 * folder, as many at a time. Runs are interleaved (durable, not durable, copy, ...) and the median
 * of each is reported, so that other work on the machine hits all three alike.
 */
import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { syncDir } from '../../storage/blobs/disk/disk-blob-store.js';
import { sizeLabel, type BenchContext, type RowGroup } from '../context.js';
import { writeSmallTree } from '../data.js';
import { startOurServer } from '../our-server.js';
import { median } from '../stats.js';
import type { BenchRow } from '../table.js';
import { discard } from '../discard.js';

/** Runs `job` over `items`, `parallel` at a time; resolves with the wall-clock seconds. */
async function timedPool<T>(items: readonly T[], parallel: number, job: (item: T) => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < items.length) await job(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, items.length) }, worker));
  return Number(process.hrtime.bigint() - started) / 1e9;
}

/** Seconds to PUT every file of the tree to a fresh server started with `args`. */
async function putAll(ctx: BenchContext, tree: string, rel: readonly string[], args: string[], round: number): Promise<number> {
  const s = await startOurServer({ dataDir: join(ctx.tmp, `ours-durable-${round}-${args.length ? 'off' : 'on'}`), args });
  try {
    const auth = { Authorization: `Bearer ${s.token}` };
    return await timedPool(rel, ctx.sizes.transfers, async (r) => {
      const res = await fetch(`${s.url}/files/${s.client}/durable/${r}`, { method: 'PUT', headers: auth, body: new Uint8Array(await readFile(join(tree, r))) });
      if (res.status !== 201) throw new Error(`durable: PUT ${r} answered ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
  } finally {
    await s.stop();
    await discard(s.dataDir);
  }
}

/** Seconds to copy every file of the tree with an fsync of each copy and of its folder. */
async function copyWithFsync(tree: string, rel: readonly string[], dest: string, parallel: number): Promise<number> {
  for (const d of new Set(rel.map((r) => dirname(r)))) await mkdir(join(dest, d), { recursive: true });
  try {
    return await timedPool(rel, parallel, async (r) => {
      const fh = await open(join(dest, r), 'w');
      try {
        await fh.writeFile(await readFile(join(tree, r)));
        await fh.sync();
      } finally {
        await fh.close();
      }
      await syncDir(dirname(join(dest, r)));
    });
  } finally {
    await discard(dest);
  }
}

export const durableRows: RowGroup = async (ctx: BenchContext) => {
  const { durableFiles: count, smallSize: size, transfers } = ctx.sizes;
  const tree = join(ctx.tmp, 'durable-tree');
  ctx.log(`durable: writing ${count} files of ${sizeLabel(size)}`);
  const rel = await writeSmallTree(tree, count, size);
  const on: number[] = [];
  const off: number[] = [];
  const copy: number[] = [];
  try {
    for (let round = 0; round < ctx.sizes.reps; round++) {
      ctx.log(`durable: round ${round + 1} of ${ctx.sizes.reps}: --durable, --durable false, copy + fsync`);
      on.push(await putAll(ctx, tree, rel, [], round));
      off.push(await putAll(ctx, tree, rel, ['--durable', 'false'], round));
      copy.push(await copyWithFsync(tree, rel, join(ctx.tmp, 'durable-copy'), transfers));
    }
  } finally {
    await discard(tree);
  }
  const rate = (seconds: number[]) => count / median(seconds);
  const label = `PUT ${count.toLocaleString('en')} files of ${sizeLabel(size)}, one request each, ${transfers} at a time`;
  const refName = `copy + fsync of each file and its folder, ${transfers} at a time`;
  const rows: BenchRow[] = [
    { id: 'put-small-durable', name: `${label}, --durable (default)`, ours: rate(on), reference: rate(copy), refName, unit: 'files/s', better: 'higher' },
    { id: 'put-small-nondurable', name: `${label}, --durable false`, ours: rate(off), reference: rate(copy), refName, unit: 'files/s', better: 'higher' },
    {
      id: 'put-small-durable-cost',
      name: `${label}: --durable (WAL and blob log synced)`,
      ours: rate(on),
      reference: rate(off),
      refName: '--durable false (no fsync)',
      unit: 'files/s',
      better: 'higher',
    },
  ];
  return rows;
};
