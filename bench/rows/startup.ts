/**
 * Start-up and idle memory of the compiled server (`node dist/...`, what `npm run serve:node`
 * and the systemd unit run) next to the same server from source through tsx, as it ran before
 * the build: restarts on one data dir (catalog migrated), interleaved, medians.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { BenchContext, RowGroup } from '../context.js';
import { startOurServer } from '../our-server.js';
import { memoryMB } from '../proc.js';
import { median } from '../stats.js';
import type { BenchRow } from '../table.js';
import { discard } from '../discard.js';

/** Settling time before the first reading: start-up garbage collected, timers armed. */
const IDLE_AFTER_MS = 2000;
/**
 * And a server left alone this long: V8 hands the young generation's start-up pages back only
 * after some seconds without allocation (its memory reducer), so this is what an idle server holds.
 */
const LONG_IDLE_MS = 30_000;

interface Start {
  ms: number;
  idleMB: number | null;
}

export const startupRows: RowGroup = async (ctx: BenchContext) => {
  const runs = ctx.quick ? 3 : 7;
  const dataDir = join(ctx.tmp, 'ours-startup');
  const samples: Record<'dist' | 'tsx', Start[]> = { dist: [], tsx: [] };
  // The first start creates the catalog and the client; every measured one is a restart.
  const first = await startOurServer({ dataDir });
  await first.stop();
  const longIdle: Record<'dist' | 'tsx', number | null> = { dist: null, tsx: null };
  try {
    for (let i = 0; i < runs; i++) {
      for (const runtime of ['dist', 'tsx'] as const) {
        const s = await startOurServer({ dataDir, token: first.token, runtime });
        try {
          await sleep(IDLE_AFTER_MS);
          samples[runtime].push({ ms: s.startMs, idleMB: memoryMB(s.pid, 'VmRSS') });
        } finally {
          await s.stop();
        }
      }
    }
    // One long idle reading of each, side by side (each on its own data dir: one server per dir).
    const otherDir = join(ctx.tmp, 'ours-startup-tsx');
    const other = await startOurServer({ dataDir: otherDir, runtime: 'tsx' });
    const compiled = await startOurServer({ dataDir, token: first.token });
    try {
      await sleep(LONG_IDLE_MS);
      longIdle.dist = memoryMB(compiled.pid, 'VmRSS');
      longIdle.tsx = memoryMB(other.pid, 'VmRSS');
    } finally {
      await compiled.stop();
      await other.stop();
      await discard(otherDir);
    }
  } finally {
    await discard(dataDir);
  }
  const ms = (r: 'dist' | 'tsx') => median(samples[r].map((x) => x.ms));
  const mb = (r: 'dist' | 'tsx') => median(samples[r].flatMap((x) => (x.idleMB === null ? [] : [x.idleMB])));
  ctx.log(`startup: compiled ${ms('dist').toFixed(0)} ms ${mb('dist').toFixed(1)} MB, tsx ${ms('tsx').toFixed(0)} ms ${mb('tsx').toFixed(1)} MB`);
  const refName = 'the same server from source through tsx';
  const rows: BenchRow[] = [
    { id: 'startup-ms', name: 'server start-up, spawn to listening (compiled, restart on a data dir; goal < 1000)', ours: ms('dist'), reference: ms('tsx'), refName, unit: 'ms', better: 'lower' },
    { id: 'startup-idle-rss', name: `server RSS ${IDLE_AFTER_MS / 1000} s after start-up (compiled; goal < 70)`, ours: mb('dist'), reference: mb('tsx'), refName, unit: 'MB', better: 'lower' },
    {
      id: 'idle-rss-30s',
      name: `server RSS after ${LONG_IDLE_MS / 1000} s idle (compiled; goal < 70)`,
      ours: longIdle.dist,
      reference: longIdle.tsx,
      refName,
      unit: 'MB',
      better: 'lower',
    },
  ];
  return rows;
};
