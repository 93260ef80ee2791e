/**
 * Row 4: 20, 200 and 1000 concurrent clients, each with its own keep-alive connection, each
 * alternating an upload of a small file and a listing of its folder, for a fixed time.
 * Reference: nginx WebDAV PUT + autoindex JSON of the same folders.
 */
import http from 'node:http';
import { join } from 'node:path';
import type { BenchContext, RowGroup } from '../context.js';
import { request, runLoad, type LoadResult } from '../load.js';
import type { Nginx } from '../nginx.js';
import { startOurServer, type OurServer } from '../our-server.js';
import { summarize } from '../stats.js';
import type { BenchRow } from '../table.js';
import { discard } from '../discard.js';

/** 4 KiB whose first bytes name the file, so that every upload is new content (no dedup). */
function bodyFor(level: number, worker: number, i: number): Buffer {
  const b = Buffer.alloc(4096, 0x61);
  b.write(`${level}/${worker}/${i}/${Date.now()}\n`);
  return b;
}

function ourOp(s: OurServer, level: number) {
  const auth = { Authorization: `Bearer ${s.token}` };
  return async (agent: http.Agent, w: number, i: number): Promise<number> => {
    const folder = `${s.client}/c${level}/w${w}`;
    const r =
      i % 2 === 0
        ? await request(agent, { method: 'PUT', url: `${s.url}/files/${folder}/f${i}.bin`, headers: auth, body: bodyFor(level, w, i), keepBytes: 0 })
        : await request(agent, { method: 'GET', url: `${s.url}/api/files?prefix=${encodeURIComponent(`${folder}/`)}&limit=100`, headers: auth, keepBytes: 0 });
    return r.status;
  };
}

function nginxOp(n: Nginx, level: number) {
  return async (agent: http.Agent, w: number, i: number): Promise<number> => {
    const folder = `c${level}/w${w}`;
    const r =
      i % 2 === 0
        ? await request(agent, { method: 'PUT', url: `${n.url}/${folder}/f${i}.bin`, body: bodyFor(level, w, i), keepBytes: 0 })
        : await request(agent, { method: 'GET', url: `${n.url}/json/${folder}/`, keepBytes: 0 });
    return r.status;
  };
}

export const concurrencyRows: RowGroup = async (ctx: BenchContext) => {
  const durable = await startOurServer({ dataDir: join(ctx.tmp, 'ours-concurrency') });
  const lazy = await startOurServer({ dataDir: join(ctx.tmp, 'ours-concurrency-nofsync'), args: ['--durable', 'false'] });
  const nginx = ctx.nginx;
  const rows: BenchRow[] = [];
  try {
    for (const level of ctx.sizes.concurrency) {
      const load = (op: (agent: http.Agent, w: number, i: number) => Promise<number>) =>
        runLoad({ workers: level, durationMs: ctx.sizes.loadMs, maxOpsPerWorker: 100_000, op });
      ctx.log(`concurrency: ${level} clients, ours`);
      const ours = await load(ourOp(durable, level));
      ctx.log(`concurrency: ${level} clients, ours --durable false`);
      const oursLazy = await load(ourOp(lazy, level));
      let ref: LoadResult | null = null;
      if (nginx) {
        ctx.log(`concurrency: ${level} clients, nginx`);
        ref = await load(nginxOp(nginx, level));
      }
      const o = summarize(ours.latenciesMs);
      const r = ref ? summarize(ref.latenciesMs) : null;
      const oLater = summarize(ours.laterLatenciesMs);
      const rLater = ref ? summarize(ref.laterLatenciesMs) : null;
      const refName = r ? 'nginx PUT + autoindex' : '';
      const label = `${level} clients, PUT 4 KiB + list`;
      const errNote = (x: LoadResult, who: string) => (x.errors ? `${who}: ${x.errors} errors, first: ${x.firstError}` : undefined);
      rows.push(
        { id: `c${level}-rps`, name: `${label}: requests/s`, ours: ours.ops / ours.seconds, reference: ref ? ref.ops / ref.seconds : null, refName, unit: 'req/s', better: 'higher' },
        { id: `c${level}-rps-nofsync`, name: `${label}: requests/s, --durable false`, ours: oursLazy.ops / oursLazy.seconds, reference: ref ? ref.ops / ref.seconds : null, refName, unit: 'req/s', better: 'higher' },
        { id: `c${level}-p50`, name: `${label}: p50`, ours: o.p50, reference: r?.p50 ?? null, refName, unit: 'ms', better: 'lower' },
        { id: `c${level}-p99`, name: `${label}: p99`, ours: o.p99, reference: r?.p99 ?? null, refName, unit: 'ms', better: 'lower' },
        // Where the tail is: the first request of a connection also waits for the busy server to accept it.
        { id: `c${level}-p99-later`, name: `${label}: p99 without each connection's first request`, ours: oLater.p99, reference: rLater?.p99 ?? null, refName, unit: 'ms', better: 'lower' },
        {
          id: `c${level}-errors`,
          name: `${label}: errors`,
          ours: ours.errors + oursLazy.errors,
          reference: ref?.errors ?? null,
          refName,
          unit: 'count',
          better: 'lower',
          note: [errNote(ours, 'ours'), errNote(oursLazy, 'ours --durable false'), ref ? errNote(ref, 'nginx') : undefined].filter(Boolean).join('; ') || undefined,
        },
      );
    }
  } finally {
    await durable.stop();
    await lazy.stop();
    await discard(durable.dataDir);
    await discard(lazy.dataDir);
    await nginx?.clear();
  }
  return rows;
};
