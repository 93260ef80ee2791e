/**
 * Rows 1-2: one large file up and down on loopback with curl, ours against nginx, interleaved
 * (ours, nginx, ours, ...) so that load from other work on the box hits both alike. Besides
 * MB/s, the server's CPU seconds per GiB: a figure that noise on a shared box barely moves.
 */
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { sizeLabel, type BenchContext, type RowGroup } from '../context.js';
import { curl, type CurlResult } from '../curl.js';
import { writeRandomFile } from '../data.js';
import type { Nginx } from '../nginx.js';
import { startOurServer, type OurServer } from '../our-server.js';
import { cpuSeconds, syncDisks } from '../proc.js';
import { mbPerSec, median } from '../stats.js';
import type { BenchRow } from '../table.js';
import { discard } from '../discard.js';

const NO_EXPECT = ['-H', 'Expect:'];

interface Sample {
  mbps: number;
  cpuPerGiB: number | null;
}

async function timed(pids: number[], bytes: number, fn: () => Promise<CurlResult | number>): Promise<Sample> {
  const c0 = cpuSeconds(pids);
  const r = await fn();
  const c1 = cpuSeconds(pids);
  const seconds = typeof r === 'number' ? r : r.seconds;
  return { mbps: mbPerSec(bytes, seconds), cpuPerGiB: c0 === null || c1 === null ? null : ((c1 - c0) * 2 ** 30) / bytes };
}

const auth = (s: OurServer) => ['-H', `@${s.authFile}`];

function ourPut(s: OurServer, file: string, name: string): Promise<CurlResult> {
  return curl([...NO_EXPECT, ...auth(s), '-T', file, `${s.url}/files/${s.client}/${name}`]);
}

async function ourDelete(s: OurServer, name: string): Promise<void> {
  await curl([...auth(s), '-X', 'DELETE', `${s.url}/files/${s.client}/${name}`]);
}

/** tus: POST /uploads/ (creation), then one PATCH carrying the whole file; seconds of both. */
async function ourTus(s: OurServer, file: string, size: number, name: string): Promise<number> {
  const meta = `path ${Buffer.from(`${s.client}/${name}`).toString('base64')}`;
  const created = await curl(
    [...auth(s), '-X', 'POST', '-H', 'Tus-Resumable: 1.0.0', '-H', `Upload-Length: ${size}`, '-H', `Upload-Metadata: ${meta}`, '-H', 'Content-Length: 0', `${s.url}/uploads/`],
    { headers: true },
  );
  const location = /^location:\s*(\S+)/im.exec(created.headerText)?.[1];
  if (!location) throw new Error('tus POST answered without Location');
  // Location may be relative to the creation URL ('<id>').
  const target = new URL(location, `${s.url}/uploads/`).href;
  const patched = await curl([
    ...NO_EXPECT,
    ...auth(s),
    '-X',
    'PATCH',
    '-H',
    'Tus-Resumable: 1.0.0',
    '-H',
    'Upload-Offset: 0',
    '-H',
    'Content-Type: application/offset+octet-stream',
    '-T',
    file,
    target,
  ]);
  return created.seconds + patched.seconds;
}

function nginxPut(n: Nginx, file: string, name: string): Promise<CurlResult> {
  return curl([...NO_EXPECT, '-T', file, `${n.url}/${name}`]);
}

function row(id: string, name: string, ours: number[], ref: number[], refName: string, unit: string, better: 'higher' | 'lower', note?: string): BenchRow {
  const m = (xs: number[]) => (xs.length ? median(xs) : null);
  return { id, name, ours: m(ours), reference: m(ref), refName: ref.length ? refName : '', unit, better, note };
}

const mbps = (xs: Sample[]) => xs.map((x) => x.mbps);
const cpu = (xs: Sample[]) => xs.flatMap((x) => (x.cpuPerGiB === null ? [] : [x.cpuPerGiB]));

export const transferRows: RowGroup = async (ctx: BenchContext) => {
  const { bigBytes: size, reps } = ctx.sizes;
  const label = sizeLabel(size);
  const file = join(ctx.tmp, 'big.bin');
  ctx.log(`transfer: writing ${label} of random bytes`);
  await writeRandomFile(file, size);
  const durable = await startOurServer({ dataDir: join(ctx.tmp, 'ours-transfer') });
  const lazy = await startOurServer({ dataDir: join(ctx.tmp, 'ours-transfer-nofsync'), args: ['--durable', 'false'] });
  const nginx = ctx.nginx;
  const s = { put: [] as Sample[], lazy: [] as Sample[], tus: [] as Sample[], ngPut: [] as Sample[], get: [] as Sample[], ngGet: [] as Sample[] };
  let tusError: string | undefined;
  try {
    for (let rep = 0; rep < reps; rep++) {
      const last = rep === reps - 1;
      ctx.log(`transfer: PUT ${label}, round ${rep + 1}/${reps}`);
      syncDisks();
      s.put.push(await timed([durable.pid], size, () => ourPut(durable, file, `put-${rep}.bin`)));
      if (!last) await ourDelete(durable, `put-${rep}.bin`);
      if (nginx) {
        syncDisks();
        s.ngPut.push(await timed(nginx.pids(), size, () => nginxPut(nginx, file, `put-${rep}.bin`)));
        if (!last) await curl(['-X', 'DELETE', `${nginx.url}/put-${rep}.bin`]);
      }
      syncDisks();
      s.lazy.push(await timed([lazy.pid], size, () => ourPut(lazy, file, `put-${rep}.bin`)));
      await ourDelete(lazy, `put-${rep}.bin`);
      if (tusError === undefined) {
        syncDisks();
        try {
          s.tus.push(await timed([durable.pid], size, () => ourTus(durable, file, size, `tus-${rep}.bin`)));
          await ourDelete(durable, `tus-${rep}.bin`);
        } catch (err) {
          tusError = (err as Error).message;
        }
      }
    }
    const name = `put-${reps - 1}.bin`;
    for (let rep = 0; rep < reps; rep++) {
      ctx.log(`transfer: GET ${label}, round ${rep + 1}/${reps}`);
      s.get.push(await timed([durable.pid], size, () => curl([...auth(durable), `${durable.url}/files/${durable.client}/${name}`])));
      if (nginx) s.ngGet.push(await timed(nginx.pids(), size, () => curl([`${nginx.url}/${name}`])));
    }
    if (nginx) await curl(['-X', 'DELETE', `${nginx.url}/${name}`]);
  } finally {
    await durable.stop();
    await lazy.stop();
    await rm(file, { force: true });
    await discard(durable.dataDir);
    await discard(lazy.dataDir);
  }
  const ng = 'nginx WebDAV';
  return [
    row('put', `PUT ${label} (curl, fsync)`, mbps(s.put), mbps(s.ngPut), `${ng} PUT`, 'MB/s', 'higher', 'nginx does not fsync; the --durable false row is the like-for-like one'),
    row('put-nofsync', `PUT ${label} (curl, --durable false)`, mbps(s.lazy), mbps(s.ngPut), `${ng} PUT`, 'MB/s', 'higher'),
    row('tus', `tus upload ${label} (POST + one PATCH)`, mbps(s.tus), mbps(s.ngPut), `${ng} PUT`, 'MB/s', 'higher', tusError ? `failed: ${tusError}` : undefined),
    row('put-cpu', `PUT ${label}: server CPU per GiB`, cpu(s.put), cpu(s.ngPut), 'nginx', 's/GiB', 'lower'),
    row('get', `GET ${label} (curl, page cache warm)`, mbps(s.get), mbps(s.ngGet), 'nginx sendfile', 'MB/s', 'higher'),
    row('get-cpu', `GET ${label}: server CPU per GiB`, cpu(s.get), cpu(s.ngGet), 'nginx', 's/GiB', 'lower'),
  ];
};
