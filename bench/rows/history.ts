/**
 * Row 8: history at scale (100,000 files with 1,000,000 versions in the catalog; --quick: 5,000
 * with 50,000). The folder "as it was at T" (`/api/files?at=`), first page and a walk of one
 * folder, the whole namespace at T, and the version list of a file with many versions, each
 * next to the listing of the current state in the same run: the at-listing reads the history,
 * the current one the `files` table, so the ratio is what the history costs.
 */
import { createHash } from 'node:crypto';
import http from 'node:http';
import { join } from 'node:path';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { catalogFile } from '../../adapters/node/server.js';
import { blobs, dirs, files, trash, versions } from '../../drizzle/schema.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import type { BenchContext, RowGroup } from '../context.js';
import { request } from '../load.js';
import { startOurServer } from '../our-server.js';
import { summarize } from '../stats.js';
import type { BenchRow } from '../table.js';
import { latencies, walkPages as walk } from './listing.js';
import { discard } from '../discard.js';

export interface HistoryShape {
  files: number;
  /** All versions, deletions included. */
  versions: number;
  folders: number;
  /** Versions of the one busy file (a log, a database) on top of its ordinary ones. */
  hotVersions: number;
}

export const HISTORY_FULL: HistoryShape = { files: 100_000, versions: 1_000_000, folders: 10, hotVersions: 10_000 };
export const HISTORY_QUICK: HistoryShape = { files: 5_000, versions: 50_000, folders: 5, hotVersions: 1_000 };

const DAY = 86_400_000;
const START = Date.UTC(2026, 0, 1);
const BATCH = 1000;

/**
 * The history, in the order it was written: round k gives every file its k-th version (a day
 * apart), then the busy file (file 0) gets its extra versions. Every 20th file ends deleted (in
 * the trash); another 20th was deleted at the round of T and came back the round after, so it
 * is missing from the tree at T only. T falls in the middle of the rounds.
 */
export function historyPlan(shape: HistoryShape) {
  const ordinary = shape.versions - shape.hotVersions;
  const base = Math.floor(ordinary / shape.files);
  const extra = ordinary % shape.files;
  const perFolder = Math.ceil(shape.files / shape.folders);
  const roundOfT = Math.floor(base / 2);
  return {
    perFolder,
    rounds: base + (extra > 0 ? 1 : 0),
    count: (i: number) => base + (i < extra ? 1 : 0),
    at: START + roundOfT * DAY + DAY / 2,
    /** Whether version k of file i is a deletion. */
    deletion: (i: number, k: number, n: number) => (i % 20 === 7 && k === n - 1) || (i % 20 === 13 && k === roundOfT),
    time: (i: number, k: number) => START + k * DAY + i * 10,
    hotTime: (j: number) => START + (base + 1) * DAY + j * 1000,
    folder: (i: number) => `d${String(Math.floor(i / perFolder)).padStart(2, '0')}`,
    name: (i: number) => `f${String(i).padStart(6, '0')}.txt`,
  };
}

interface VersionRow {
  id: number;
  path: string;
  namespace: string;
  sha256: string | null;
  size: number;
  mtime: number | null;
  uploadedAt: number;
}

/**
 * Fills the catalog directly in one transaction, with the rows putFile and deleteFile write
 * (versions, blobs, files, trash, dirs): a million putFile calls take far too long on a loaded
 * 2-core box. /api/stats checks the counts afterwards.
 */
async function populateHistory(dataDir: string, client: string, shape: HistoryShape) {
  const plan = historyPlan(shape);
  const pathOf = (i: number) => `${client}/hist/${plan.folder(i)}/${plan.name(i)}`;
  const catalog = new SqliteCatalog({ file: catalogFile(dataDir), durable: false });
  let id = 0;
  // Per file: its newest version and its newest content version, for files and trash.
  const newest: VersionRow[] = [];
  const lastContent: VersionRow[] = [];
  try {
    const db = drizzle(catalog.sqlite);
    const now = Date.now();
    let pending: VersionRow[] = [];
    const flush = () => {
      if (!pending.length) return;
      const content = pending.filter((v) => v.sha256 !== null);
      if (content.length) {
        db.insert(blobs)
          .values(content.map((v) => ({ sha256: v.sha256 as string, size: v.size, state: 'hot' as const, storedSize: v.size, lastAccess: now, createdAt: v.uploadedAt })))
          .run();
      }
      db.insert(versions).values(pending).run();
      pending = [];
    };
    const add = (i: number, k: number, deleted: boolean, uploadedAt: number) => {
      const path = pathOf(i);
      const v: VersionRow = deleted
        ? { id: ++id, path, namespace: client, sha256: null, size: 0, mtime: null, uploadedAt }
        : { id: ++id, path, namespace: client, sha256: createHash('sha256').update(`${path}#${k}`).digest('hex'), size: 4096 + ((i * 31 + k) % 9973), mtime: uploadedAt - 60_000, uploadedAt };
      newest[i] = v;
      if (!deleted) lastContent[i] = v;
      pending.push(v);
      if (pending.length >= BATCH) flush();
    };
    catalog.sqlite.transaction(() => {
      for (let k = 0; k < plan.rounds; k++) {
        for (let i = 0; i < shape.files; i++) {
          const n = plan.count(i);
          if (k < n) add(i, k, plan.deletion(i, k, n), plan.time(i, k));
        }
      }
      for (let j = 0; j < shape.hotVersions; j++) add(0, plan.rounds + j, false, plan.hotTime(j));
      flush();
      const folders = [...new Set(Array.from({ length: shape.files }, (_, i) => plan.folder(i)))];
      db.insert(dirs)
        .values([{ path: `${client}/hist`, parent: client, name: 'hist' }, ...folders.map((f) => ({ path: `${client}/hist/${f}`, parent: `${client}/hist`, name: f }))])
        .onConflictDoNothing()
        .run();
      for (let start = 0; start < shape.files; start += BATCH) {
        const heads = newest.slice(start, start + BATCH);
        const live = heads.filter((v) => v.sha256 !== null);
        if (live.length) {
          db.insert(files)
            .values(live.map((v) => ({ path: v.path, namespace: client, dir: v.path.slice(0, v.path.lastIndexOf('/')), name: v.path.slice(v.path.lastIndexOf('/') + 1), sha256: v.sha256 as string, size: v.size, mtime: v.mtime, uploadedAt: v.uploadedAt, versionId: v.id })))
            .run();
        }
        const gone = heads.map((v, k) => ({ v, last: lastContent[start + k] })).filter(({ v }) => v.sha256 === null);
        if (gone.length) {
          db.insert(trash)
            .values(gone.map(({ v, last }) => ({ path: v.path, namespace: client, versionId: v.id, lastVersionId: last?.id ?? 0, deletedAt: v.uploadedAt })))
            .run();
        }
      }
    })();
  } finally {
    await catalog.close();
  }
  const mid = plan.folder(Math.floor(shape.files / 2));
  const inMid = (i: number) => plan.folder(i) === mid;
  const ids = Array.from({ length: shape.files }, (_, i) => i);
  const presentAt = (i: number) => {
    const n = plan.count(i);
    let last: boolean | undefined;
    for (let k = 0; k < n && plan.time(i, k) <= plan.at; k++) last = !plan.deletion(i, k, n);
    return last === true;
  };
  return {
    plan,
    mid,
    hotPath: pathOf(0),
    versions: id,
    current: ids.filter((i) => newest[i]?.sha256 !== null).length,
    currentInMid: ids.filter((i) => inMid(i) && newest[i]?.sha256 !== null).length,
    atInMid: ids.filter((i) => inMid(i) && presentAt(i)).length,
    atAll: ids.filter(presentAt).length,
  };
}

export const historyRows: RowGroup = async (ctx: BenchContext) => {
  const shape = ctx.quick ? HISTORY_QUICK : HISTORY_FULL;
  const reqs = ctx.sizes.listRequests;
  const dataDir = join(ctx.tmp, 'ours-history');
  const client = 'bench';
  ctx.log(`history: ${shape.files} files with ${shape.versions} versions into the catalog`);
  const t0 = performance.now();
  const seeded = await populateHistory(dataDir, client, shape);
  ctx.log(`history: seeded in ${((performance.now() - t0) / 1000).toFixed(0)} s`);
  const s = await startOurServer({ dataDir, client });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  try {
    const owner = { Authorization: `Bearer ${s.token}` };
    const stats = JSON.parse((await request(agent, { method: 'GET', url: `${s.url}/api/stats`, headers: owner })).body.toString()) as { files: number; versions: number };
    if (stats.files !== seeded.current || stats.versions !== seeded.versions) {
      throw new Error(`catalog holds ${stats.files} files / ${stats.versions} versions, expected ${seeded.current} / ${seeded.versions}`);
    }
    const folder = `${s.url}/api/files?prefix=${encodeURIComponent(`${client}/hist/${seeded.mid}/`)}&limit=1000`;
    const atFolder = `${folder}&at=${seeded.plan.at}`;
    const all = `${s.url}/api/files?prefix=${encodeURIComponent(`${client}/`)}&limit=1000`;
    const hot = `${s.url}/api/versions?path=${encodeURIComponent(seeded.hotPath)}&limit=1000`;
    ctx.log(`history: ${reqs} requests per latency figure`);
    const cur = summarize(await latencies(agent, folder, owner, reqs));
    const at = summarize(await latencies(agent, atFolder, owner, reqs));
    const ver = summarize(await latencies(agent, hot, owner, reqs));
    const walkCur = await walk(agent, folder, owner, seeded.currentInMid);
    const walkAt = await walk(agent, atFolder, owner, seeded.atInMid);
    const walkVer = await walk(agent, hot, owner, seeded.plan.count(0) + shape.hotVersions);
    ctx.log('history: the whole namespace, now and at T');
    const allCur = await walk(agent, all, owner, seeded.current);
    const allAt = await walk(agent, `${all}&at=${seeded.plan.at}`, owner, seeded.atAll);

    const k = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : `${Math.round(n / 1000)}k`);
    const among = `${k(shape.files)} files / ${k(shape.versions)} versions`;
    const perFolder = k(seeded.plan.perFolder);
    const row = (id: string, name: string, ours: number, ref: number, refName: string, unit: string): BenchRow => ({ id, name, ours, reference: ref, refName, unit, better: 'lower' });
    const hotCount = (seeded.plan.count(0) + shape.hotVersions).toLocaleString('en-US');
    return [
      row('hist-at-p50', `/api/files?at=T, 1,000 of a ${perFolder}-file folder, ${among}: p50`, at.p50, cur.p50, 'the same page now', 'ms'),
      row('hist-at-p99', `/api/files?at=T, 1,000 of a ${perFolder}-file folder, ${among}: p99`, at.p99, cur.p99, 'the same page now', 'ms'),
      row('hist-at-walk', `/api/files?at=T, walk of the ${perFolder}-file folder, pages of 1,000`, walkAt, walkCur, 'the same walk now', 's'),
      row('hist-at-all', `/api/files?at=T, walk of all ${k(shape.files)} files, pages of 1,000`, allAt, allCur, 'the same walk now', 's'),
      row('hist-versions-p50', `/api/versions, 1,000 of a file's ${hotCount} versions: p50`, ver.p50, cur.p50, 'a 1,000-file page now', 'ms'),
      row('hist-versions-p99', `/api/versions, 1,000 of a file's ${hotCount} versions: p99`, ver.p99, cur.p99, 'a 1,000-file page now', 'ms'),
      row('hist-versions-walk', `/api/versions, all ${hotCount} versions of one file, pages of 1,000`, walkVer, walkCur, `the ${perFolder}-file folder walk now`, 's'),
    ];
  } finally {
    agent.destroy();
    await s.stop();
    await discard(dataDir);
  }
};
