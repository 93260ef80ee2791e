/**
 * Row 5: the server's peak memory while 20 clients each upload 200 MB at once (and the aggregate
 * rate). RSS is sampled every 50 ms for ours and for nginx alike.
 */
import { randomFillSync } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { sizeLabel, type BenchContext, type RowGroup } from '../context.js';
import { request } from '../load.js';
import { startOurServer } from '../our-server.js';
import { memoryMB, syncDisks } from '../proc.js';
import { mbPerSec } from '../stats.js';
import type { BenchRow } from '../table.js';
import { discard } from '../discard.js';

const CHUNK = 1 << 20;
const POOL = Buffer.alloc(8 * CHUNK);
randomFillSync(POOL);

/** `bytes` of random-looking data, unique per `id` (its first chunk carries the id). */
function bodyStream(id: string, bytes: number): Readable {
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      const n = Math.min(CHUNK, bytes - sent);
      const off = (sent / CHUNK) % 8;
      let chunk = POOL.subarray(off * CHUNK, off * CHUNK + n);
      if (sent === 0) {
        chunk = Buffer.from(chunk);
        chunk.write(id);
      }
      sent += n;
      this.push(chunk);
    },
  });
}

interface Run {
  peakMB: number | null;
  mbps: number;
  failures: string[];
}

async function uploadAll(pids: () => number[], clients: number, bytes: number, urlOf: (i: number) => string, headers: Record<string, string>): Promise<Run> {
  const agent = new http.Agent({ keepAlive: false, maxSockets: clients });
  let peak: number | null = null;
  const sample = () => {
    let total = 0;
    for (const pid of pids()) {
      const mb = memoryMB(pid, 'VmRSS');
      if (mb === null) return;
      total += mb;
    }
    peak = Math.max(peak ?? 0, total);
  };
  sample();
  const timer = setInterval(sample, 50);
  const t0 = performance.now();
  const failures: string[] = [];
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, i) => {
        try {
          const r = await request(agent, {
            method: 'PUT',
            url: urlOf(i),
            headers: { ...headers, 'Content-Length': String(bytes) },
            body: bodyStream(`client ${i} ${Date.now()}`, bytes),
            timeoutMs: 300_000,
          });
          if (r.status < 200 || r.status > 299) failures.push(`HTTP ${r.status}`);
        } catch (err) {
          failures.push((err as Error).message);
        }
      }),
    );
  } finally {
    clearInterval(timer);
    agent.destroy();
  }
  sample();
  return { peakMB: peak, mbps: mbPerSec(clients * bytes, (performance.now() - t0) / 1000), failures };
}

export const memoryRows: RowGroup = async (ctx: BenchContext) => {
  const { memClients: clients, memBytes: bytes } = ctx.sizes;
  const s = await startOurServer({ dataDir: join(ctx.tmp, 'ours-memory') });
  const nginx = ctx.nginx;
  let ours: Run;
  let ref: Run | null = null;
  let idle: number | null = null;
  let refIdle: number | null = null;
  try {
    ctx.log(`memory: ${clients} × ${sizeLabel(bytes)} uploads at once, ours`);
    syncDisks();
    idle = memoryMB(s.pid, 'VmRSS');
    ours = await uploadAll(() => [s.pid], clients, bytes, (i) => `${s.url}/files/${s.client}/mem/${i}.bin`, { Authorization: `Bearer ${s.token}` });
    ctx.log(`memory: ours idle ${idle?.toFixed(0)} MB, peak ${ours.peakMB?.toFixed(0)} MB`);
    if (nginx) {
      ctx.log(`memory: ${clients} × ${sizeLabel(bytes)} uploads at once, nginx`);
      syncDisks();
      refIdle = nginx.pids().reduce((sum, pid) => sum + (memoryMB(pid, 'VmRSS') ?? 0), 0);
      ref = await uploadAll(nginx.pids, clients, bytes, (i) => `${nginx.url}/mem/${i}.bin`, {});
    }
  } finally {
    await s.stop();
    await discard(s.dataDir);
    await nginx?.clear();
  }
  const label = `${clients} × ${sizeLabel(bytes)} uploads at once`;
  const fails = [...ours.failures.map((f) => `ours: ${f}`), ...(ref?.failures ?? []).map((f) => `nginx: ${f}`)];
  const rows: BenchRow[] = [
    { id: 'mem-idle', name: 'server RSS when idle (compiled, node dist/)', ours: idle, reference: refIdle, refName: ref ? 'nginx (master + worker)' : '', unit: 'MB', better: 'lower' },
    {
      id: 'mem-peak',
      name: `${label}: server peak RSS`,
      ours: ours.peakMB,
      reference: ref?.peakMB ?? null,
      refName: ref ? 'nginx (master + worker)' : '',
      unit: 'MB',
      better: 'lower',
      note: fails.length ? `${fails.length} upload(s) failed, first: ${fails[0]}` : undefined,
    },
    { id: 'mem-rate', name: `${label}: aggregate rate`, ours: ours.mbps, reference: ref?.mbps ?? null, refName: ref ? 'nginx WebDAV PUT' : '', unit: 'MB/s', better: 'higher' },
  ];
  return rows;
};
