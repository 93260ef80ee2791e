/**
 * Row 6: listings with 100,000 files in the catalog (100 folders of 1,000): a JSON page of 1,000,
 * the HTML page of a folder, and a walk over all files page by page, one request at a time.
 * The reference is nginx autoindex over real folders holding as many (empty) files.
 */
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import http from 'node:http';
import { join } from 'node:path';
import { blobs, dirs, files } from '../../drizzle/schema.js';
import { catalogFile } from '../../adapters/node/server.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import type { BenchContext, RowGroup } from '../context.js';
import { request } from '../load.js';
import type { Nginx } from '../nginx.js';
import { startOurServer } from '../our-server.js';
import { summarize } from '../stats.js';
import type { BenchRow } from '../table.js';
import { discard } from '../discard.js';

const PER_DIR = 1000;
/** Rows of our HTML folder page (handlers/browse PAGE_SIZE); nginx lists a folder this big. */
const HTML_ROWS = 200;

const dirName = (d: number) => `d${String(d).padStart(3, '0')}`;
const fileName = (i: number) => `f${String(i).padStart(6, '0')}.txt`;

/**
 * Fills the catalog directly, 1,000 rows per statement in one transaction: going through
 * putFile for each of 100,000 files takes minutes on a loaded 2-core box. The rows are the ones
 * putFile writes (checked below with one real putFile and /api/stats).
 */
async function populateCatalog(dataDir: string, client: string, count: number): Promise<void> {
  const catalog = new SqliteCatalog({ file: catalogFile(dataDir) });
  try {
    const now = Date.now();
    const folders = Math.ceil(count / PER_DIR);
    const db = drizzle(catalog.sqlite);
    catalog.sqlite.transaction(() => {
      db
        .insert(dirs)
        .values([
          { path: `${client}/big`, parent: client, name: 'big' },
          ...Array.from({ length: folders }, (_, d) => ({ path: `${client}/big/${dirName(d)}`, parent: `${client}/big`, name: dirName(d) })),
        ])
        .onConflictDoNothing()
        .run();
      for (let start = 0; start < count; start += PER_DIR) {
        const n = Math.min(PER_DIR, count - start);
        const rows = Array.from({ length: n }, (_, k) => {
          const i = start + k;
          const sha256 = createHash('sha256').update(`bench-${i}`).digest('hex');
          const dir = `${client}/big/${dirName(Math.floor(i / PER_DIR))}`;
          return { i, sha256, dir, name: fileName(i), size: 4096 + (i % 9973) };
        });
        db
          .insert(blobs)
          .values(rows.map((r) => ({ sha256: r.sha256, size: r.size, state: 'hot' as const, storedSize: r.size, lastAccess: now, createdAt: now })))
          .run();
        db
          .insert(files)
          .values(
            rows.map((r) => ({
              path: `${r.dir}/${r.name}`,
              namespace: client,
              dir: r.dir,
              name: r.name,
              sha256: r.sha256,
              size: r.size,
              mtime: 1_700_000_000_000 + r.i * 1000,
              uploadedAt: now,
            })),
          )
          .run();
      }
    })();
  } finally {
    await catalog.close();
  }
}

function makeNginxTree(root: string, count: number): void {
  for (let i = 0; i < count; i++) {
    const dir = join(root, 'big', dirName(Math.floor(i / PER_DIR)));
    if (i % PER_DIR === 0) mkdirSync(dir, { recursive: true });
    closeSync(openSync(join(dir, fileName(i)), 'w'));
  }
  mkdirSync(join(root, 'html'), { recursive: true });
  for (let i = 0; i < HTML_ROWS; i++) closeSync(openSync(join(root, 'html', fileName(i)), 'w'));
}

/** Sequential GETs over one keep-alive connection; latencies in ms after a few warm-up calls. */
export async function latencies(agent: http.Agent, url: string, headers: Record<string, string>, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n + 5; i++) {
    const t0 = performance.now();
    const r = await request(agent, { method: 'GET', url, headers, keepBytes: 0 });
    if (r.status !== 200) throw new Error(`HTTP ${r.status} from ${url}`);
    if (i >= 5) out.push(performance.now() - t0);
  }
  return out;
}

/** Seconds to read every page of `first` (1,000 items per page), following nextCursor; checks the count. */
export async function walkPages(agent: http.Agent, first: string, headers: Record<string, string>, expect: number): Promise<number> {
  const t0 = performance.now();
  let cursor: string | null = null;
  let seen = 0;
  for (let page = 0; page <= expect / 1000 + 1; page++) {
    const url = `${first}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`;
    const r = await request(agent, { method: 'GET', url, headers, keepBytes: 8 << 20 });
    if (r.status !== 200) throw new Error(`HTTP ${r.status} from ${url}`);
    const body = JSON.parse(r.body.toString()) as { items: unknown[]; nextCursor: string | null };
    seen += body.items.length;
    cursor = body.nextCursor;
    if (!cursor) break;
  }
  if (seen !== expect) throw new Error(`the walk of ${first} saw ${seen} items, expected ${expect}`);
  return (performance.now() - t0) / 1000;
}

async function walkNginx(agent: http.Agent, n: Nginx, folders: number): Promise<number> {
  const t0 = performance.now();
  for (let d = 0; d < folders; d++) {
    const r = await request(agent, { method: 'GET', url: `${n.url}/json/big/${dirName(d)}/`, keepBytes: 0 });
    if (r.status !== 200) throw new Error(`HTTP ${r.status} from nginx autoindex`);
  }
  return (performance.now() - t0) / 1000;
}

export const listingRows: RowGroup = async (ctx: BenchContext) => {
  const count = ctx.sizes.listFiles;
  const folders = Math.ceil(count / PER_DIR);
  const reqs = ctx.sizes.listRequests;
  const dataDir = join(ctx.tmp, 'ours-listing');
  const client = 'bench';
  ctx.log(`listing: ${count} files into the catalog`);
  await populateCatalog(dataDir, client, count);
  const s = await startOurServer({ dataDir, client });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const nginx = ctx.nginx;
  try {
    const owner = { Authorization: `Bearer ${s.token}` };
    const stats = JSON.parse((await request(agent, { method: 'GET', url: `${s.url}/api/stats`, headers: owner })).body.toString()) as { files: number };
    if (stats.files !== count) throw new Error(`catalog holds ${stats.files} files, expected ${count}`);
    const mid = dirName(Math.floor(folders / 2));
    ctx.log(`listing: ${reqs} requests per figure`);
    const apiUrl = `${s.url}/api/files?prefix=${encodeURIComponent(`${client}/big/${mid}/`)}&limit=1000`;
    const api = summarize(await latencies(agent, apiUrl, owner, reqs));
    const html = summarize(await latencies(agent, `${s.url}/browse/${client}/big/${mid}/`, owner, reqs));
    const walk = await walkPages(agent, `${s.url}/api/files?prefix=${encodeURIComponent(`${client}/`)}&limit=1000`, owner, count);
    let ng: { api: ReturnType<typeof summarize>; html: ReturnType<typeof summarize>; walk: number } | null = null;
    if (nginx) {
      ctx.log(`listing: ${count} empty files for nginx autoindex`);
      makeNginxTree(nginx.root, count);
      ng = {
        api: summarize(await latencies(agent, `${nginx.url}/json/big/${mid}/`, {}, reqs)),
        html: summarize(await latencies(agent, `${nginx.url}/html/`, {}, reqs)),
        walk: await walkNginx(agent, nginx, folders),
      };
      await discard(join(nginx.root, 'big'));
      await discard(join(nginx.root, 'html'));
    }
    const k = `${Math.round(count / 1000)}k`;
    const rowOf = (id: string, name: string, ours: number, ref: number | undefined, refName: string, unit: string): BenchRow => ({
      id,
      name,
      ours,
      reference: ref ?? null,
      refName: ref === undefined ? '' : refName,
      unit,
      better: 'lower',
    });
    return [
      rowOf('list-api-p50', `/api/files, 1,000 of ${k} files: p50`, api.p50, ng?.api.p50, 'nginx autoindex JSON, 1,000-file folder', 'ms'),
      rowOf('list-api-p99', `/api/files, 1,000 of ${k} files: p99`, api.p99, ng?.api.p99, 'nginx autoindex JSON, 1,000-file folder', 'ms'),
      rowOf('list-html-p50', `HTML folder page (${HTML_ROWS} rows) among ${k} files: p50`, html.p50, ng?.html.p50, `nginx autoindex HTML, ${HTML_ROWS} files`, 'ms'),
      rowOf('list-html-p99', `HTML folder page (${HTML_ROWS} rows) among ${k} files: p99`, html.p99, ng?.html.p99, `nginx autoindex HTML, ${HTML_ROWS} files`, 'ms'),
      rowOf('list-walk', `list all ${k} files, pages of 1,000`, walk, ng?.walk, `nginx autoindex JSON of ${folders} folders`, 's'),
    ];
  } finally {
    agent.destroy();
    await s.stop();
    await discard(dataDir);
  }
};

