import { formatAge, type ClientHealth } from '../../storage/clients/backup-health.js';
import type { PassRecord } from '../../storage/catalog/catalog.js';
import { escapeHtml } from '../http/html.js';
import { renderDocument, sizeHtml, timeHtml, type PageAssets } from './page.js';

/** What the /health page shows; built by routes.ts from the same data as GET /api/health. */
export interface HealthView {
  user: { name: string };
  now: number;
  staleAfterMs: number;
  clients: ClientHealth[];
  assets: PageAssets;
}

function ageHtml(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '<span class="none">never</span>';
  return `${timeHtml(at)} <span class="age">(${escapeHtml(formatAge(now - at))} ago)</span>`;
}

function passHtml(p: PassRecord): string {
  const how = p.stopped ? ', stopped' : p.failed > 0 ? `, <strong class="bad">${p.failed} failed</strong>` : '';
  return `${p.scanned} looked at, ${p.uploaded} sent, ${p.deleted} deleted${how}`;
}

function sourcesHtml(h: ClientHealth, now: number): string {
  if (h.sources.length === 0) return '<span class="none">no pass reported</span>';
  const items = h.sources.map((s) => {
    const from = s.last.host || s.last.folder ? ` <span class="from">from ${escapeHtml(`${s.last.host}:${s.last.folder}`)}</span>` : '';
    return `<li><span class="root">${escapeHtml(s.root)}/</span>${from}: ${ageHtml(s.last.receivedAt, now)}, ${passHtml(s.last)}</li>`;
  });
  return `<ul class="sources">${items.join('')}</ul>`;
}

function quotaHtml(h: ClientHealth): string {
  if (h.quota === null) return '<span class="none">none</span>';
  const pct = h.quota > 0 ? Math.round((h.usedBytes / h.quota) * 100) : 100;
  return `${sizeHtml(h.usedBytes)} of ${sizeHtml(h.quota)} <span class="age">(${pct}%)</span>`;
}

function rowHtml(h: ClientHealth, now: number): string {
  const state = h.revoked ? ' <span class="badge gone">revoked</span>' : h.admin ? ' <span class="badge now">admin</span>' : '';
  const warnings = h.warnings.length
    ? `<ul class="warnings">${h.warnings.map((w) => `<li data-kind="${w.kind}"><strong>${w.kind}</strong>: ${escapeHtml(w.message)}</li>`).join('')}</ul>`
    : '<span class="ok">OK</span>';
  return (
    `<tr${h.warnings.length ? ' class="warn"' : ''} data-client="${escapeHtml(h.name)}">` +
    `<th scope="row" class="name"><a href="/browse/${encodeURIComponent(h.name)}/">${escapeHtml(h.name)}</a>${state}</th>` +
    `<td class="last-backup">${ageHtml(h.lastSuccess?.receivedAt, now)}</td>` +
    `<td class="passes">${sourcesHtml(h, now)}</td>` +
    `<td class="num">${h.files.toLocaleString('en-US')}</td>` +
    `<td class="num">${sizeHtml(h.currentBytes)}</td><td class="num">${sizeHtml(h.historyBytes)}</td>` +
    `<td class="quota">${quotaHtml(h)}</td>` +
    `<td class="last-seen">${ageHtml(h.lastSeen, now)}</td>` +
    `<td class="health-state">${warnings}</td></tr>`
  );
}

/** The admin's backup health page: one row per client, warnings first in each row's last cell. No script. */
export function renderHealthPage(view: HealthView): string {
  const { clients, now } = view;
  const needLook = clients.filter((c) => c.warnings.length > 0).length;
  const stale = view.staleAfterMs > 0 ? `warned about after ${formatAge(view.staleAfterMs)} without a successful backup` : 'no staleness warnings (--stale-after 0)';
  const verdict = needLook === 0 ? 'All clients are healthy.' : `${needLook} of ${clients.length} client(s) need a look.`;
  const body =
    '<header class="top"><a class="brand" href="/">cloud-backup</a>' +
    `<span class="who">Signed in as <strong>${escapeHtml(view.user.name)}</strong> (admin)</span>` +
    '<a class="signout" href="/logout">Sign out</a></header>' +
    '<main id="health">' +
    '<h1>Backup health</h1>' +
    `<p id="verdict" class="${needLook ? 'bad' : 'ok'}">${escapeHtml(verdict)} <span class="none">Clients are ${escapeHtml(stale)}; times are the server's.</span></p>` +
    '<table class="listing health"><caption class="sr-only">Backup health per client</caption><thead><tr>' +
    '<th scope="col">Client</th><th scope="col">Last successful backup</th><th scope="col">Last pass per folder</th>' +
    '<th scope="col" class="num">Files</th><th scope="col" class="num">Current</th><th scope="col" class="num">History</th>' +
    '<th scope="col">Quota</th><th scope="col">Last seen</th><th scope="col">Health</th></tr></thead>' +
    `<tbody id="rows">${clients.map((c) => rowHtml(c, now)).join('')}</tbody></table>` +
    (clients.length === 0 ? '<p class="empty">No clients yet: npm run admin -- add-client NAME</p>' : '') +
    '</main>';
  return renderDocument('Backup health', body, { css: view.assets.css });
}
