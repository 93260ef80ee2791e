import type { DirListing, DirSort, FileEntry, Stats } from '../../storage/catalog/catalog.js';
import { humanSize } from '../../shared/units.js';
import { escapeHtml } from '../http/html.js';
import { encodePath } from '../../core/path.js';
import { renderHistoryPanels, renderHistoryTools, versionsButton } from './history-page.js';
import type { ListingParams } from './listing.js';

/** Everything one listing page shows; built by routes.ts, rendered here without I/O. */
export interface ListingView {
  /** Full folder path ('alice/docs'); '' is the admin's list of namespaces. */
  dir: string;
  user: { name: string; admin: boolean };
  params: ListingParams;
  listing: DirListing;
  /** Totals for the header; undefined renders placeholders that the page script fills in. */
  stats: Stats | undefined;
  /** ?at=: the page script shows the folder as it was at this moment (ms since the epoch). */
  at?: number;
  /** The signed-in client may upload into this folder. */
  writable: boolean;
  assets: PageAssets;
}

/** URLs of the page's script files and style sheet. */
export interface PageAssets {
  js?: string;
  history?: string;
  css: string;
}

const SORT_LABELS: ReadonlyArray<[DirSort, string, string]> = [
  ['name', 'Name', 'name'],
  ['size', 'Size', 'size num'],
  ['mtime', 'Modified', 'mtime'],
  ['uploaded', 'Uploaded', 'uploaded'],
];

/** '/' for the root, '/browse/alice/docs/' for a folder. */
export function folderHref(dir: string): string {
  return dir === '' ? '/' : `/browse/${encodePath(dir)}/`;
}

/** A listing URL with only the non-default parameters. */
export function listingHref(dir: string, p: Partial<ListingParams>): string {
  const search = new URLSearchParams();
  if (p.sort && p.sort !== 'name') search.set('sort', p.sort);
  if (p.descending) search.set('order', 'desc');
  if (p.q) search.set('q', p.q);
  if (p.cursor) search.set('cursor', p.cursor);
  const qs = search.toString();
  return qs ? `${folderHref(dir)}?${qs}` : folderHref(dir);
}

/** `<time>` in UTC; the page script rewrites the text in the reader's own time zone. */
export function timeHtml(ms: number | null): string {
  if (ms === null) return '<span class="none">&#8212;</span>';
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '<span class="none">&#8212;</span>';
  const iso = d.toISOString();
  return `<time datetime="${iso}" title="${iso}">${iso.slice(0, 16).replace('T', ' ')} UTC</time>`;
}

export function sizeHtml(bytes: number): string {
  return `<span title="${bytes.toLocaleString('en-US')} bytes">${humanSize(bytes)}</span>`;
}

/**
 * Hot/cold badge with what the file takes in storage, for an admin; for a client, the file's own
 * heat (handlers/files/file-view.ts: the stored form is shared with other namespaces).
 */
export function storageHtml(f: Pick<FileEntry, 'state' | 'size' | 'storedSize'>, user: { admin: boolean }): string {
  if (!user.admin) {
    const title = f.state === 'cold' ? 'not downloaded for the hot time: due to be stored compressed' : 'downloaded or uploaded within the hot time';
    return `<span class="badge ${f.state}" title="${title}">${f.state}</span> ${humanSize(f.size)}`;
  }
  if (f.state === 'cold') {
    const pct = f.size > 0 ? Math.round((f.storedSize / f.size) * 100) : 100;
    return `<span class="badge cold" title="compressed: ${pct}% of the original">cold</span> ${humanSize(f.storedSize)}`;
  }
  return `<span class="badge hot" title="stored plain">hot</span> ${humanSize(f.storedSize)}`;
}

function folderRow(dir: string, name: string): string {
  const path = dir === '' ? name : `${dir}/${name}`;
  return (
    `<tr class="folder"><td class="name"><a href="${escapeHtml(folderHref(path))}">` +
    `<span class="icon" aria-hidden="true"></span>${escapeHtml(name)}/</a></td>` +
    '<td class="size num"><span class="none">folder</span></td><td class="mtime"></td><td class="uploaded"></td><td class="storage"></td></tr>'
  );
}

function fileRow(f: FileEntry, user: { admin: boolean }): string {
  return (
    `<tr class="file"><td class="name"><a href="${escapeHtml(`/files/${encodePath(f.path)}`)}" download>` +
    `<span class="icon" aria-hidden="true"></span>${escapeHtml(f.name)}</a>${versionsButton(f.path, f.name)}</td>` +
    `<td class="size num">${sizeHtml(f.size)}</td><td class="mtime">${timeHtml(f.mtime)}</td>` +
    `<td class="uploaded">${timeHtml(f.uploadedAt)}</td><td class="storage">${storageHtml(f, user)}</td></tr>`
  );
}

/** The `<tr>`s of one page: folders first. The page script appends them for "load more". */
export function renderRows(dir: string, listing: DirListing, user: { admin: boolean }): string {
  return listing.folders.map((n) => folderRow(dir, n)).join('') + listing.files.map((f) => fileRow(f, user)).join('');
}

export function renderBreadcrumbs(dir: string, user: { admin: boolean }): string {
  const parts = dir === '' ? [] : dir.split('/');
  const items: string[] = [];
  // Only an admin has a root above the namespaces; a client's root is its namespace.
  if (user.admin) items.push(parts.length === 0 ? '<li><a href="/" aria-current="page">all</a></li>' : '<li><a href="/">all</a></li>');
  parts.forEach((name, i) => {
    const href = escapeHtml(folderHref(parts.slice(0, i + 1).join('/')));
    const current = i === parts.length - 1 ? ' aria-current="page"' : '';
    items.push(`<li><a href="${href}"${current}>${escapeHtml(name)}</a></li>`);
  });
  return `<nav class="crumbs" aria-label="Breadcrumb"><ol>${items.join('')}</ol></nav>`;
}

/** Totals and space saved, from catalog.stats; '…' placeholders (same layout) without them. */
export function renderSummary(stats: Stats | undefined): string {
  if (!stats) {
    const item = (label: string) => `<div><dt>${label}</dt><dd>&#8230;</dd></div>`;
    return `<dl class="summary">${['Files', 'Backed up', 'History', 'Stored', 'Saved', 'Hot / cold'].map(item).join('')}</dl>`;
  }
  const dedup = Math.max(0, stats.logicalBytes - stats.blobBytes);
  const compression = Math.max(0, stats.blobBytes - stats.storedBytes);
  const saved = dedup + compression;
  const pct = stats.logicalBytes > 0 ? Math.round((saved / stats.logicalBytes) * 100) : 0;
  const files = `${stats.files.toLocaleString('en-US')} ${stats.files === 1 ? 'file' : 'files'}`;
  // Past versions (deletions included) and the trash, beside what is current.
  const older = Math.max(0, stats.versions - stats.files);
  const historyTitle = `${older.toLocaleString('en-US')} older ${older === 1 ? 'version' : 'versions'}, ${stats.deleted.toLocaleString('en-US')} deleted ${stats.deleted === 1 ? 'file' : 'files'}`;
  return (
    `<dl class="summary"><div><dt>Files</dt><dd>${files}</dd></div>` +
    `<div><dt>Backed up</dt><dd>${humanSize(stats.logicalBytes)}</dd></div>` +
    `<div><dt>History</dt><dd title="${historyTitle}">${humanSize(stats.historyBytes)}</dd></div>` +
    `<div><dt>Stored</dt><dd>${humanSize(stats.storedBytes)}</dd></div>` +
    `<div><dt>Saved</dt><dd title="duplicates ${humanSize(dedup)}, compression ${humanSize(compression)}">${humanSize(saved)} (${pct}%)</dd></div>` +
    `<div><dt>Hot / cold</dt><dd>${stats.hot.toLocaleString('en-US')} / ${stats.cold.toLocaleString('en-US')}</dd></div>` +
    renderQuota(stats) +
    '</dl>'
  );
}

/** Used of the namespace's quota (current files and history count), when it has one. */
function renderQuota(stats: Stats): string {
  if (stats.quotaBytes === null) return '';
  const pct = stats.quotaBytes > 0 ? Math.floor((stats.usedBytes / stats.quotaBytes) * 100) : 100;
  const title = `current files and history: ${stats.usedBytes.toLocaleString('en-US')} of ${stats.quotaBytes.toLocaleString('en-US')} bytes`;
  const cls = pct >= 90 ? ' class="full"' : '';
  return `<div${cls}><dt>Quota</dt><dd title="${title}">${humanSize(stats.usedBytes)} of ${humanSize(stats.quotaBytes)} (${pct}%)</dd></div>`;
}

function sortHeader(view: ListingView, sort: DirSort, label: string, cls: string): string {
  const { params } = view;
  const active = params.sort === sort;
  // Clicking the active column flips its order; another column starts ascending.
  const href = listingHref(view.dir, { sort, descending: active && !params.descending, q: params.q });
  const ariaSort = active ? ` aria-sort="${params.descending ? 'descending' : 'ascending'}"` : '';
  const arrow = active ? `<span class="arrow" aria-hidden="true">${params.descending ? '&#9660;' : '&#9650;'}</span>` : '';
  return `<th scope="col" class="${cls}"${ariaSort}><a href="${escapeHtml(href)}" data-sort="${sort}">${label}${arrow}</a></th>`;
}

function toolbar(view: ListingView): string {
  const { dir, params } = view;
  const hidden =
    (params.sort !== 'name' ? `<input type="hidden" name="sort" value="${params.sort}">` : '') +
    (params.descending ? '<input type="hidden" name="order" value="desc">' : '');
  const filter =
    `<form class="filter" role="search" method="get" action="${escapeHtml(folderHref(dir))}">` +
    '<label for="q">Filter names</label>' +
    `<input id="q" name="q" type="search" value="${escapeHtml(params.q)}" autocomplete="off" spellcheck="false" maxlength="255" placeholder="part of a name">` +
    `${hidden}<button type="submit">Filter</button></form>`;
  const zip =
    dir === ''
      ? ''
      : `<a class="button" id="zip" href="${escapeHtml(`/zip/${encodePath(dir)}/`)}" download>Download folder as .zip</a>`;
  const upload = view.writable
    ? '<div class="upload" id="upload">' +
      // The inputs stay focusable (sr-only, not display:none); the label after each shows focus.
      '<input class="sr-only" id="upload-files" type="file" multiple><label class="button" for="upload-files">Upload files</label>' +
      '<input class="sr-only" id="upload-folder" type="file" webkitdirectory multiple><label class="button" for="upload-folder">Upload a folder</label>' +
      '<span class="hint">or drop files and folders anywhere on this page</span></div>'
    : '';
  const history = dir === '' ? '' : renderHistoryTools();
  return `<div class="toolbar">${filter}<div class="actions">${zip}${history}${upload}</div></div>`;
}

function emptyText(view: ListingView): string {
  if (view.params.q) return 'Nothing here matches the filter.';
  return view.writable ? 'This folder is empty: upload files to start.' : 'This folder is empty.';
}

/** The whole listing page. Every name passes through escapeHtml; links through encodePath. */
export function renderListingPage(view: ListingView): string {
  const { dir, listing, params } = view;
  const title = dir === '' ? 'All namespaces' : dir.slice(dir.lastIndexOf('/') + 1);
  const rows = renderRows(dir, listing, view.user);
  const empty = rows === '';
  const next = listing.nextCursor ? listingHref(dir, { ...params, cursor: listing.nextCursor }) : '';
  const firstPage = params.cursor
    ? `<p class="paging" id="first-page"><a href="${escapeHtml(listingHref(dir, { ...params, cursor: undefined }))}">Back to the first page</a></p>`
    : '';
  const body =
    '<header class="top"><a class="brand" href="/">cloud-backup</a>' +
    `<span class="who">Signed in as <strong>${escapeHtml(view.user.name)}</strong>${view.user.admin ? ' (admin)' : ''}</span>` +
    (view.user.admin ? '<a class="health-link" href="/health">Backup health</a>' : '') +
    '<a class="signout" href="/logout">Sign out</a></header>' +
    // Totals cost a pass over the namespace: the page script fetches them after the listing.
    `<div id="summary"${view.stats ? '' : ` data-src="${escapeHtml(`${folderHref(dir)}?format=summary`)}"`}>${renderSummary(view.stats)}</div>` +
    `<main id="listing" data-dir="${escapeHtml(dir)}"${view.writable ? ' data-writable=""' : ''}${view.at === undefined ? '' : ` data-at="${view.at}"`}>` +
    renderBreadcrumbs(dir, view.user) +
    `<h1>${escapeHtml(title)}</h1>` +
    toolbar(view) +
    '<ul id="uploads" class="uploads" aria-live="polite"></ul>' +
    (dir === '' ? '' : renderHistoryPanels(dir, view.writable)) +
    firstPage +
    `<table class="listing"><caption class="sr-only">Contents of ${escapeHtml(dir || 'all namespaces')}</caption>` +
    `<thead><tr>${SORT_LABELS.map(([s, label, cls]) => sortHeader(view, s, label, cls)).join('')}<th scope="col" class="storage">Storage</th></tr></thead>` +
    `<tbody id="rows">${rows}</tbody></table>` +
    `<p id="empty" class="empty" data-empty="${escapeHtml(emptyText({ ...view, params: { ...params, q: '' } }))}"${empty ? '' : ' hidden'}>${escapeHtml(emptyText(view))}</p>` +
    `<p class="paging"><a id="more" class="button"${next ? ` href="${escapeHtml(next)}"` : ' hidden'}>Load more</a></p>` +
    '<p id="status" class="sr-only" aria-live="polite"></p>' +
    '</main>';
  return renderDocument(title, body, view.assets);
}

/** The HTML shell: no inline script or style, so the CSP can forbid both. */
export function renderDocument(title: string, body: string, assets: PageAssets): string {
  const scripts = [assets.js, assets.history].filter((src): src is string => src !== undefined);
  return (
    '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    '<meta name="color-scheme" content="light dark">' +
    `<title>${escapeHtml(title)} - cloud-backup</title>` +
    '<link rel="icon" href="data:,">' +
    `<link rel="stylesheet" href="${escapeHtml(assets.css)}">` +
    // Deferred scripts run in document order: browse.js first, then history.js.
    scripts.map((src) => `<script src="${escapeHtml(src)}" defer></script>`).join('') +
    `</head><body>${body}</body></html>`
  );
}

/** A small HTML page for errors and sign-out, in the same look. */
export function renderMessagePage(title: string, message: string, link: { href: string; text: string }, css: string): string {
  return renderDocument(
    title,
    `<main class="message"><h1>${escapeHtml(title)}</h1><p>${escapeHtml(message)}</p>` +
      `<p><a class="button" href="${escapeHtml(link.href)}">${escapeHtml(link.text)}</a></p></main>`,
    { css },
  );
}
