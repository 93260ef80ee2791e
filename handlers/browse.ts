import { Hono, type Context } from 'hono';
import type { DirSort, FileEntry } from '../storage/catalog.js';
import { BadRequestError, NotFoundError } from '../storage/errors.js';
import { assertRead } from './auth.js';
import type { AppDeps } from './deps.js';
import { rawPathAfter } from './files.js';
import { escapeHtml, humanSize } from './html.js';
import { encodePath, parseFilePath } from './path.js';

const PAGE = 200;
const SORTS: readonly DirSort[] = ['name', 'size', 'mtime', 'uploaded'];

function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)} - cloud-backup</title>
<style>
body{font:15px/1.4 system-ui,sans-serif;margin:1rem auto;max-width:70rem;padding:0 1rem;color:#222}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.3rem .5rem;border-bottom:1px solid #ddd}
td.num,th.num{text-align:right}.badge{font-size:.8em;padding:0 .4em;border-radius:.6em;background:#eee}
.cold{background:#cde}nav a{margin-right:.2rem}
</style></head><body>${body}</body></html>`;
}

function iso(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

function fileRow(f: FileEntry): string {
  const href = `/files/${encodePath(f.path)}`;
  const badge = f.state === 'cold' ? `<span class="badge cold">cold ${humanSize(f.storedSize)}</span>` : '<span class="badge">hot</span>';
  return `<tr><td><a href="${escapeHtml(href)}" download>${escapeHtml(f.name)}</a></td><td class="num">${humanSize(f.size)}</td><td>${iso(f.mtime)}</td><td>${iso(f.uploadedAt)}</td><td>${badge}</td></tr>`;
}

async function renderDir(c: Context, deps: AppDeps, dir: string): Promise<Response> {
  const sortParam = c.req.query('sort') ?? 'name';
  if (!SORTS.includes(sortParam as DirSort)) throw new BadRequestError('sort must be name, size, mtime or uploaded');
  const sort = sortParam as DirSort;
  const descending = c.req.query('order') === 'desc';
  const listing = await deps.catalog.listDir({ dir, limit: PAGE, sort, descending, cursor: c.req.query('cursor') || undefined });
  if (dir !== '' && listing.files.length === 0 && listing.folders.length === 0 && !c.req.query('cursor')) {
    if (!(await deps.catalog.dirExists(dir))) throw new NotFoundError(`no folder ${dir}`);
  }
  const parts = dir === '' ? [] : dir.split('/');
  const crumbs = [`<a href="/">home</a>`]
    .concat(parts.map((p, i) => `<a href="/browse/${escapeHtml(encodePath(parts.slice(0, i + 1).join('/')))}/">${escapeHtml(p)}</a>`))
    .join(' / ');
  const base = dir === '' ? '/' : `/browse/${encodePath(dir)}/`;
  const folderRows = listing.folders
    .map((name) => {
      const href = `/browse/${encodePath(dir === '' ? name : `${dir}/${name}`)}/`;
      return `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(name)}/</a></td><td></td><td></td><td></td><td></td></tr>`;
    })
    .join('');
  const more = listing.nextCursor
    ? `<p><a href="${escapeHtml(`${base}?sort=${sort}&order=${descending ? 'desc' : 'asc'}&cursor=${encodeURIComponent(listing.nextCursor)}`)}">more</a></p>`
    : '';
  const sortLink = (s: DirSort, label: string) => `<a href="${base}?sort=${s}${sort === s && !descending ? '&amp;order=desc' : ''}">${label}</a>`;
  const html = page(
    dir || 'home',
    `<nav>${crumbs}</nav><h1>${escapeHtml(dir || 'cloud-backup')}</h1>
<table><thead><tr><th>${sortLink('name', 'Name')}</th><th class="num">${sortLink('size', 'Size')}</th><th>${sortLink('mtime', 'Modified')}</th><th>${sortLink('uploaded', 'Uploaded')}</th><th>State</th></tr></thead>
<tbody>${folderRows}${listing.files.map(fileRow).join('')}</tbody></table>${more}`,
  );
  c.header('Cache-Control', 'no-store');
  return c.html(html);
}

/** Server-rendered listing: GET / and GET /browse/<dir>/. */
export function browseRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/', async (c) => {
    const p = c.get('principal');
    if (!p.admin) return c.redirect(`/browse/${encodeURIComponent(p.name)}/`, 302);
    return renderDir(c, deps, '');
  });
  app.get('/browse/*', async (c) => {
    const raw = rawPathAfter(c.req.url, '/browse/');
    if (raw === '') return c.redirect('/', 302);
    if (!raw.endsWith('/')) return c.redirect(`/browse/${raw}/`, 301);
    const fp = parseFilePath(raw, { folder: true });
    assertRead(c.get('principal'), fp.namespace);
    return renderDir(c, deps, fp.path);
  });
  return app;
}
