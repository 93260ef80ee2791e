/**
 * Row 3: many small files. Our client (`npm run client -- DIR --once`) backs up 10,000 files of
 * 4 KiB; rclone copies the same tree to nginx WebDAV with as many transfers; and the original
 * design's one file at a time at 100 KB/s, computed (bytes / 100 KB/s).
 *
 * Row 7: the client's rescan of 100,000 files it has already confirmed (its state DB filled
 * through its own StateDb), against a bare stat walk of the same tree (`find -printf`).
 */
import { closeSync, mkdirSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { remotePath } from '../../client/remote-path.js';
import { StateDb } from '../../client/state-db.js';
import { run } from '../children.js';
import { sizeLabel, type BenchContext, type RowGroup } from '../context.js';
import { writeSmallTree } from '../data.js';
import { INSTALL_HINT } from '../nginx.js';
import { ROOT, startOurServer, type OurServer } from '../our-server.js';
import type { BenchRow } from '../table.js';

const ORIGINAL_DESIGN_BYTES_PER_S = 100e3;

/** Runs our client once over `dir` with the token in its environment (not on the command line). */
function runClient(s: OurServer, dir: string, statePath: string, prefix: string, concurrency: number, timeoutMs: number) {
  return run(
    process.execPath,
    ['--import', 'tsx', join(ROOT, 'client/main.ts'), dir, '--server', s.url, '--once', '--concurrency', String(concurrency), '--settle', '0s', '--prefix', prefix, '--state', statePath],
    timeoutMs,
    { cwd: ROOT, env: { ...process.env, CB_TOKEN: s.token } },
  );
}

/** Regular files below `dir` (0 when it does not exist). */
function countFiles(dir: string): number {
  try {
    return readdirSync(dir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).length;
  } catch {
    return 0;
  }
}

async function fileCount(s: OurServer): Promise<number> {
  const r = await fetch(`${s.url}/api/stats`, { headers: { Authorization: `Bearer ${s.token}` } });
  return ((await r.json()) as { files: number }).files;
}

export const smallFileRows: RowGroup = async (ctx: BenchContext) => {
  const { smallCount: count, smallSize: size, transfers } = ctx.sizes;
  const tree = join(ctx.tmp, 'small');
  ctx.log(`small files: writing ${count} files of ${sizeLabel(size)}`);
  await writeSmallTree(tree, count, size);
  const s = await startOurServer({ dataDir: join(ctx.tmp, 'ours-small') });
  const label = `back up ${count.toLocaleString('en')} files of ${sizeLabel(size)}`;
  const rows: BenchRow[] = [];
  try {
    ctx.log(`small files: our client, --concurrency ${transfers}`);
    const ours = await runClient(s, tree, join(ctx.tmp, 'client-state.sqlite'), 'small', transfers, 600_000);
    const stored = await fileCount(s);
    const oursNote =
      ours.code !== 0 || stored !== count ? `client exit ${ours.code}, ${stored} of ${count} files on the server: ${ours.stderr.trim().split('\n').pop() ?? ''}` : undefined;
    let ref: number | null = null;
    let refNote: string | undefined;
    if (!ctx.nginx || !ctx.hasRclone) refNote = `rclone figure skipped: ${INSTALL_HINT}`;
    else if (!ctx.nginx.hasPropfind) refNote = 'rclone needs PROPFIND: apt-get install libnginx-mod-http-dav-ext';
    else {
      ctx.log(`small files: rclone copy --transfers ${transfers}`);
      const conf = join(ctx.tmp, 'rclone.conf');
      await writeFile(conf, '');
      // Bounded: on a slow box rclone is stopped and its time extrapolated from what it copied.
      const budgetMs = ctx.quick ? 60_000 : 180_000;
      const r = await run(
        'rclone',
        ['copy', tree, `:webdav,url='${ctx.nginx.url}':small`, '--transfers', String(transfers), '--checkers', String(transfers), '--config', conf, '-q', '--retries', '1', '--low-level-retries', '2'],
        budgetMs,
      );
      if (r.code === 0) ref = r.seconds;
      else if (r.timedOut) {
        const copied = countFiles(join(ctx.nginx.root, 'small'));
        ref = copied > 0 ? (r.seconds * count) / copied : null;
        refNote = `rclone stopped after ${(budgetMs / 1000).toFixed(0)} s with ${copied} of ${count} files copied; its figure is extrapolated`;
      } else refNote = `rclone failed (${r.code}): ${r.stderr.trim().split('\n').pop() ?? ''}`;
      await ctx.nginx.clear();
    }
    const design = (count * size) / ORIGINAL_DESIGN_BYTES_PER_S;
    rows.push(
      {
        id: 'small-rclone',
        name: `${label} (client --concurrency ${transfers})`,
        ours: ours.seconds,
        reference: ref,
        refName: ref === null ? '' : `rclone --transfers ${transfers} to nginx WebDAV`,
        unit: 's',
        better: 'lower',
        note: [oursNote, refNote].filter(Boolean).join('; ') || undefined,
      },
      { id: 'small-design', name: `${label} (client)`, ours: ours.seconds, reference: design, refName: 'original design, one at a time at 100 KB/s (computed)', unit: 's', better: 'lower' },
    );
  } finally {
    await s.stop();
    await rm(s.dataDir, { recursive: true, force: true });
    await rm(tree, { recursive: true, force: true });
  }
  rows.push(...(await rescanRows(ctx)));
  return rows;
};

async function rescanRows(ctx: BenchContext): Promise<BenchRow[]> {
  const count = ctx.sizes.rescanFiles;
  const tree = join(ctx.tmp, 'rescan');
  const statePath = join(ctx.tmp, 'rescan-state.sqlite');
  const s = await startOurServer({ dataDir: join(ctx.tmp, 'ours-rescan') });
  try {
    ctx.log(`rescan: ${count} files, confirmed in the client's state DB`);
    const db = new StateDb(statePath);
    try {
      const body = Buffer.alloc(100, 0x62);
      db.sqlite.transaction(() => {
        for (let i = 0; i < count; i++) {
          const d = `d${String(Math.floor(i / 1000)).padStart(3, '0')}`;
          if (i % 1000 === 0) mkdirSync(join(tree, d), { recursive: true });
          const key = `${d}/f${String(i).padStart(6, '0')}.txt`;
          const abs = join(tree, key);
          const fd = openSync(abs, 'w');
          writeSync(fd, body);
          closeSync(fd);
          const st = statSync(abs);
          const record = { size: st.size, mtimeMs: st.mtimeMs, sha256: '0'.repeat(64), remotePath: remotePath(s.client, ['rescan'], key.split('/')) };
          db.putFile({ path: key, ...record, via: 'put', confirmedAt: Date.now() });
        }
      })();
    } finally {
      db.close();
    }
    ctx.log('rescan: our client --once');
    const ours = await runClient(s, tree, statePath, 'rescan', ctx.sizes.transfers, 600_000);
    const sent = await fileCount(s);
    ctx.log('rescan: find -printf');
    const ref = await run('find', [tree, '-type', 'f', '-printf', '%s %T@ %p\n'], 120_000);
    const k = `${Math.round(count / 1000)}k`;
    return [
      {
        id: 'rescan',
        name: `client rescan of ${k} unchanged files (--once, incl. start-up)`,
        ours: ours.code === 0 && sent === 0 ? ours.seconds : null,
        reference: ref.code === 0 ? ref.seconds : null,
        refName: 'stat walk (find -printf)',
        unit: 's',
        better: 'lower',
        note: ours.code !== 0 || sent !== 0 ? `client exit ${ours.code}, ${sent} files uploaded (expected none): ${ours.stderr.trim().split('\n').pop() ?? ''}` : undefined,
      },
    ];
  } finally {
    await s.stop();
    await rm(s.dataDir, { recursive: true, force: true });
    await rm(tree, { recursive: true, force: true });
    await rm(statePath, { force: true });
    await rm(`${statePath}-wal`, { force: true });
    await rm(`${statePath}-shm`, { force: true });
  }
}
