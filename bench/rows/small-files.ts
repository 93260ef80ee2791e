/**
 * Row 3: many small files. Our client (`npm run client -- DIR --once`) backs up 10,000 files of
 * 4 KiB; rclone copies the same tree to nginx WebDAV with as many transfers; and the original
 * design's one file at a time at 100 KB/s, computed (bytes / 100 KB/s).
 *
 * Rows 3b-3c: the same backup against curl --parallel 8 PUTting the tree to nginx (the issue 16
 * goal: at least half curl's rate, so at most 2x its time), and a no-change rerun of the client
 * over what it just backed up (goal: under 1 s for 10k files) next to a bare stat walk.
 *
 * Row 7: the client's rescan of 100,000 files it has already confirmed (its state DB filled
 * through its own StateDb), against a bare stat walk of the same tree (`find -printf`).
 */
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, statSync, writeSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { BATCH_CONTENT_TYPE } from '../../client/batch-upload.js';
import { remotePath } from '../../client/remote-path.js';
import { StateDb } from '../../client/state-db.js';
import { run } from '../children.js';
import { sizeLabel, type BenchContext, type RowGroup } from '../context.js';
import { writeSmallTree } from '../data.js';
import { INSTALL_HINT } from '../nginx.js';
import { DIST } from '../../scripts/ensure-build.js';
import { ROOT, startOurServer, type OurServer } from '../our-server.js';
import { median } from '../stats.js';
import type { BenchRow } from '../table.js';
import { discard } from '../discard.js';

const ORIGINAL_DESIGN_BYTES_PER_S = 100e3;

/** Runs our (compiled) client once over `dir` with the token in its environment (not on the command line). */
function runClient(s: OurServer, dir: string, statePath: string, prefix: string, concurrency: number, timeoutMs: number) {
  return run(
    process.execPath,
    [join(DIST, 'client/main.js'), dir, '--server', s.url, '--once', '--concurrency', String(concurrency), '--settle', '0s', '--prefix', prefix, '--state', statePath],
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

/**
 * Rounds of our backup and curl's, interleaved, each on a fresh store: on this shared box nginx's
 * time for the same 10k PUTs moved between 1.5 and 3.7 s across runs of one afternoon, so one
 * round each is not a ratio anyone can rely on. The rows give the medians, the note every round.
 */
const SMALL_ROUNDS = 3;

export const smallFileRows: RowGroup = async (ctx: BenchContext) => {
  const { smallCount: count, smallSize: size, transfers } = ctx.sizes;
  const tree = join(ctx.tmp, 'small');
  ctx.log(`small files: writing ${count} files of ${sizeLabel(size)}`);
  const rel = await writeSmallTree(tree, count, size);
  // The tree's 40 MB and 10k inodes written back first: not during the first timed run only.
  await run('sync', [], 120_000);
  const label = `back up ${count.toLocaleString('en')} files of ${sizeLabel(size)}`;
  const rows: BenchRow[] = [];
  const rounds = ctx.quick ? 1 : SMALL_ROUNDS;
  const oursTimes: number[] = [];
  const curlTimes: number[] = [];
  const failures: string[] = [];
  let s: OurServer | undefined;
  try {
    for (let round = 0; round < rounds; round++) {
      // Each round a fresh store; the last one stays for the rerun and the rclone row below.
      if (s) {
        await s.stop();
        await discard(s.dataDir);
      }
      s = await startOurServer({ dataDir: join(ctx.tmp, `ours-small-${round}`) });
      ctx.log(`small files: our client, --concurrency ${transfers} (round ${round + 1} of ${rounds})`);
      const statePath = join(ctx.tmp, `client-state-${round}.sqlite`);
      const ours = await runClient(s, tree, statePath, 'small', transfers, 600_000);
      const stored = await fileCount(s);
      if (ours.code === 0 && stored === count) oursTimes.push(ours.seconds);
      else failures.push(`client exit ${ours.code}, ${stored} of ${count} files on the server: ${ours.stderr.trim().split('\n').pop() ?? ''}`);
      await run('sync', [], 120_000);
      const c = await curlRound(ctx, tree, rel, round);
      if (typeof c === 'number') curlTimes.push(c);
      else if (c !== null) failures.push(c);
      if (round === rounds - 1) {
        ctx.log('small files: our client again, nothing changed');
        const rerun = await runClient(s, tree, statePath, 'small', transfers, 120_000);
        const walk = await run('find', [tree, '-type', 'f', '-printf', '%s %T@ %p\n'], 120_000);
        const quiet = rerun.code === 0 && /: 0 uploaded, 0 linked, /.test(rerun.stdout);
        const k = count >= 1000 ? `${Math.round(count / 1000)}k` : String(count);
        rows.push({
          id: 'small-rerun',
          name: `client no-change rerun of ${k} files just backed up (--once, incl. start-up; goal < 1 s)`,
          ours: quiet ? rerun.seconds : null,
          reference: walk.code === 0 ? walk.seconds : null,
          refName: 'stat walk (find -printf)',
          unit: 's',
          better: 'lower',
          note: quiet ? undefined : `client exit ${rerun.code}, expected nothing sent: ${rerun.stdout.trim().split('\n').pop() ?? ''}`,
        });
      }
    }
    const oursMedian = oursTimes.length === rounds ? median(oursTimes) : null;
    const curlMedian = curlTimes.length === rounds ? median(curlTimes) : null;
    const seconds = (xs: number[]) => xs.map((x) => x.toFixed(2)).join(' / ');
    rows.unshift({
      id: 'small-curl',
      name: `${label} (client --concurrency ${transfers}; goal: at most 2x, i.e. half the rate; median of ${rounds} interleaved rounds)`,
      ours: oursMedian,
      reference: ctx.nginx ? curlMedian : null,
      refName: ctx.nginx ? `curl --parallel ${transfers} PUT to nginx` : '',
      unit: 's',
      better: 'lower',
      note:
        [
          ctx.nginx ? undefined : `curl figure skipped: ${INSTALL_HINT}`,
          rounds > 1 ? `rounds: ours ${seconds(oursTimes)} s; curl ${seconds(curlTimes)} s` : undefined,
          ...failures,
        ]
          .filter(Boolean)
          .join('; ') || undefined,
    });
    const oursNote = oursMedian === null ? failures[0] : undefined;
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
        ours: oursMedian,
        reference: ref,
        refName: ref === null ? '' : `rclone --transfers ${transfers} to nginx WebDAV`,
        unit: 's',
        better: 'lower',
        note: [oursNote, refNote].filter(Boolean).join('; ') || undefined,
      },
      { id: 'small-design', name: `${label} (client)`, ours: oursMedian, reference: design, refName: 'original design, one at a time at 100 KB/s (computed)', unit: 's', better: 'lower' },
    );
  } finally {
    if (s) {
      await s.stop();
      await discard(s.dataDir);
    }
    await discard(tree);
  }
  rows.push(...(await rescanRows(ctx)));
  return rows;
};

/**
 * curl --parallel 8 PUTting every file of the tree to nginx (one curl process, one config file
 * of upload-file/url pairs): its seconds, or what went wrong. Nothing to do without nginx.
 */
async function curlRound(ctx: BenchContext, tree: string, rel: readonly string[], round: number): Promise<number | string | null> {
  if (!ctx.nginx) return null;
  ctx.log(`small files: curl --parallel ${ctx.sizes.transfers} to nginx (round ${round + 1})`);
  const conf = join(ctx.tmp, 'curl-small.conf');
  const q = (v: string) => `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
  await writeFile(conf, rel.map((r) => `upload-file = ${q(join(tree, r))}\nurl = ${q(`${ctx.nginx?.url}/curl/${r}`)}\noutput = "/dev/null"\n`).join(''));
  const r = await run('curl', ['--parallel', '--parallel-max', String(ctx.sizes.transfers), '-s', '-S', '-f', '-K', conf], 600_000);
  const copied = countFiles(join(ctx.nginx.root, 'curl'));
  await ctx.nginx.clear();
  if (r.code !== 0 || copied !== rel.length) return `curl exit ${r.code}, ${copied} of ${rel.length} files on nginx: ${r.stderr.trim().split('\n').pop() ?? ''}`;
  return r.seconds;
}

async function rescanRows(ctx: BenchContext): Promise<BenchRow[]> {
  const count = ctx.sizes.rescanFiles;
  const tree = join(ctx.tmp, 'rescan');
  const statePath = join(ctx.tmp, 'rescan-state.sqlite');
  const s = await startOurServer({ dataDir: join(ctx.tmp, 'ours-rescan') });
  try {
    ctx.log(`rescan: ${count} files, confirmed in the client's state DB`);
    const db = new StateDb(statePath);
    const body = Buffer.alloc(100, 0x62);
    const bodySha = createHash('sha256').update(body).digest('hex');
    const remotes: string[] = [];
    try {
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
          const record = { size: st.size, mtimeMs: st.mtimeMs, sha256: bodySha, remotePath: remotePath(s.client, ['rescan'], key.split('/')) };
          db.putFile({ path: key, ...record, via: 'put', confirmedAt: Date.now() });
          remotes.push(record.remotePath);
        }
      })();
    } finally {
      db.close();
    }
    // The server must hold what the state DB says it confirmed, or the scan's check against the
    // server's listing sends everything again: filled through the batch route, 1000 files a request.
    ctx.log('rescan: the same files on the server (POST /api/batch)');
    for (let i = 0; i < remotes.length; i += 1000) {
      const frames = remotes.slice(i, i + 1000).flatMap((path) => [Buffer.from(`${JSON.stringify({ path, size: body.length, mtime: null, sha256: bodySha })}\n`), body]);
      const r = await fetch(`${s.url}/api/batch`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${s.token}`, 'Content-Type': BATCH_CONTENT_TYPE },
        body: new Uint8Array(Buffer.concat(frames)),
      });
      if (r.status !== 200) throw new Error(`rescan: filling the server: POST /api/batch answered ${r.status}: ${await r.text()}`);
      await r.arrayBuffer();
    }
    ctx.log('rescan: our client --once');
    const ours = await runClient(s, tree, statePath, 'rescan', ctx.sizes.transfers, 600_000);
    // The pass's own summary: nothing may have gone out.
    const quiet = /: 0 uploaded, 0 linked, /.test(ours.stdout);
    ctx.log('rescan: find -printf');
    const ref = await run('find', [tree, '-type', 'f', '-printf', '%s %T@ %p\n'], 120_000);
    const k = `${Math.round(count / 1000)}k`;
    return [
      {
        id: 'rescan',
        name: `client rescan of ${k} unchanged files (--once, incl. start-up)`,
        ours: ours.code === 0 && quiet ? ours.seconds : null,
        reference: ref.code === 0 ? ref.seconds : null,
        refName: 'stat walk (find -printf)',
        unit: 's',
        better: 'lower',
        note: ours.code !== 0 || !quiet ? `client exit ${ours.code}, expected nothing sent: ${(ours.stdout.trim().split('\n').pop() ?? '') || ours.stderr.trim().split('\n').pop()}` : undefined,
      },
    ];
  } finally {
    await s.stop();
    await discard(s.dataDir);
    await discard(tree);
    await rm(statePath, { force: true });
    await rm(`${statePath}-wal`, { force: true });
    await rm(`${statePath}-shm`, { force: true });
  }
}
