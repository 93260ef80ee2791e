/**
 * The browser pages behind routes.ts: listings, the health page, the zip download, the logout
 * page. Imported on the first page request, with what only pages need (the renderers, the
 * embedded script and style, client-zip), so an idle server does not hold them.
 */
import type { Context } from 'hono';
import { AppError, NotFoundError } from '../../core/errors.js';
import { assertRead, type Principal } from '../auth.js';
import { listingSeenBy, statsSeenBy, viewerOf } from '../files/file-view.js';
import type { AppDeps } from '../../core/deps.js';
import { rawPathAfter } from '../files/files.js';
import { parseMoment } from '../api/moment.js';
import { parseFilePath } from '../../core/path.js';
import { ASSET_URLS } from './assets.js';
import { listingJson, PAGE_SIZE, parseListingParams } from './listing.js';
import { folderHref, listingHref, renderListingPage, renderMessagePage, renderRows, renderSummary } from './page.js';
import { htmlResponse, jsonResponse } from './security.js';
import { healthOf } from '../api/passes.js';
import { renderHealthPage } from './health-page.js';
import { folderHeld, zipHeaders, zipResponse } from './zip.js';

/** Errors a reader can act on get a page of their own; anything else stays a JSON error. */
const PAGE_ERRORS: Readonly<Record<string, string>> = {
  'bad-request': 'Bad request',
  forbidden: 'Not yours',
  'not-found': 'Not found',
};
const STATUS: Readonly<Record<string, number>> = { 'bad-request': 400, forbidden: 403, 'not-found': 404 };

function errorPage(err: unknown): Response | undefined {
  if (!(err instanceof AppError) || !(err.kind in PAGE_ERRORS)) return undefined;
  const html = renderMessagePage(PAGE_ERRORS[err.kind] as string, err.message, { href: '/', text: 'Go to your files' }, ASSET_URLS.css);
  return htmlResponse(html, STATUS[err.kind]);
}

/** ?at= (ms or ISO 8601, as the API reads it), or undefined for now. */
function momentOf(c: Context): number | undefined {
  const raw = c.req.query('at');
  return raw === undefined || raw === '' ? undefined : parseMoment(raw);
}

/** The folder of a /browse/ or /zip/ URL, checked for read access. */
function folderOf(c: Context, prefix: string): string {
  const fp = parseFilePath(rawPathAfter(c.req.url, prefix), { folder: true });
  assertRead(c.get('principal'), fp.namespace);
  return fp.path;
}

async function renderFolder(c: Context, deps: AppDeps, dir: string): Promise<Response> {
  const namespace = dir.split('/')[0] ?? '';
  // Totals of the namespace (everything for the admin's root), for the header.
  if (c.req.query('format') === 'summary') {
    return jsonResponse({ summary: renderSummary(await statsSeenBy(viewerOf(c.get('principal'), deps), deps.catalog, dir === '' ? undefined : namespace)) });
  }
  const params = parseListingParams((name) => c.req.query(name));
  const at = momentOf(c);
  const user: Principal = c.get('principal');
  const viewer = viewerOf(user, deps);
  const stored = await deps.catalog.listDir({
    dir,
    limit: PAGE_SIZE,
    sort: params.sort,
    descending: params.descending,
    q: params.q || undefined,
    cursor: params.cursor,
  });
  const listing = listingSeenBy(viewer, stored);
  const empty = listing.files.length === 0 && listing.folders.length === 0;
  // A namespace always exists for its readers (a new client uploads into an empty one). With
  // ?at= the page script shows the folder as it was: it may hold nothing now.
  if (empty && dir.includes('/') && !params.cursor && !params.q && at === undefined && !(await deps.catalog.dirExists(dir))) {
    throw new NotFoundError(`no folder ${dir}`);
  }
  const next = listing.nextCursor ? listingHref(dir, { ...params, cursor: listing.nextCursor }) : null;
  if (c.req.query('format') === 'json') {
    return jsonResponse(listingJson(viewer, dir, listing, { rows: renderRows(dir, listing, user), next }));
  }
  const html = renderListingPage({
    dir,
    user: { name: user.name, admin: user.admin },
    params,
    listing,
    stats: undefined,
    at,
    writable: dir !== '' && user.name === namespace,
    assets: ASSET_URLS,
  });
  return htmlResponse(html);
}

/** HTML pages unless ?format=json was asked for. */
async function asPage(c: Context, render: () => Promise<Response>): Promise<Response> {
  try {
    return await render();
  } catch (err) {
    const page = c.req.query('format') === 'json' ? undefined : errorPage(err);
    if (page) return page;
    throw err;
  }
}

/** GET / for `p`: a client's own namespace (redirect), the admin's root listing. */
export function rootPage(c: Context, deps: AppDeps): Promise<Response> | Response {
  const p = c.get('principal');
  if (!p.admin) return c.redirect(folderHref(p.name), 302);
  return asPage(c, () => renderFolder(c, deps, ''));
}

/** GET /browse/<dir>/ (listing, ?format=json or summary for the page script). */
export function browsePage(c: Context, deps: AppDeps): Promise<Response> | Response {
  const raw = rawPathAfter(c.req.url, '/browse/');
  if (raw === '') return c.redirect('/', 302);
  if (!raw.endsWith('/')) return c.redirect(`/browse/${raw}/${new URL(c.req.url).search}`, 301);
  return asPage(c, () => renderFolder(c, deps, folderOf(c, '/browse/')));
}

/** GET (or HEAD) /zip/<dir>/: the folder as one streamed archive. */
export function zipPage(c: Context, deps: AppDeps, log: (line: string) => void): Promise<Response> {
  return asPage(c, async () => {
    const dir = folderOf(c, '/zip/');
    const at = momentOf(c);
    // Checked before streaming: once the archive starts, the status is already sent.
    if (!(await folderHeld(deps, dir, at))) {
      throw new NotFoundError(at === undefined ? `no folder ${dir} (or nothing in it)` : `nothing was in ${dir} at ${new Date(at).toISOString()}`);
    }
    // HEAD must not start the archive: its first pull would open a blob nobody reads.
    if (c.req.method === 'HEAD') return new Response(null, { status: 200, headers: zipHeaders(dir, at) });
    return zipResponse(deps, dir, log, at);
  });
}

/** The admin's backup health (GET /api/health as a page); other clients get the 403 page. */
export function healthPage(c: Context, deps: AppDeps): Promise<Response> {
  return asPage(c, async () => {
    const p = c.get('principal');
    const h = await healthOf(deps, p);
    return htmlResponse(renderHealthPage({ ...h, user: p, assets: ASSET_URLS }));
  });
}

/**
 * Basic auth has no logout. Answering 401 to credentials the browser sent from its cache
 * makes Chromium (and Firefox) drop them; without a WWW-Authenticate challenge no prompt
 * appears, so the reader sees this page and the next visit asks for a password again.
 */
export function logoutPage(): Response {
  const html = renderMessagePage('Signed out', 'You are signed out of cloud-backup in this browser.', { href: '/', text: 'Sign in again' }, ASSET_URLS.css);
  return htmlResponse(html, 401);
}
