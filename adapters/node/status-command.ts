import { humanSize } from '../../shared/units.js';
import { collectHealth, formatAge, type ClientHealth } from '../../storage/clients/backup-health.js';
import type { Catalog, PassRecord } from '../../storage/catalog/catalog.js';

/** '2026-12-03 10:15Z (2h 5m ago)'; '-' for never. */
function when(at: number | null | undefined, now: number): string {
  if (at === null || at === undefined) return '-';
  return `${new Date(at).toISOString().slice(0, 16).replace('T', ' ')}Z (${formatAge(now - at)} ago)`;
}

function passText(p: PassRecord, now: number): string {
  const how = p.stopped ? ', stopped' : p.failed > 0 ? `, ${p.failed} failed` : '';
  return `${when(p.receivedAt, now)}: ${p.scanned} looked at, ${p.uploaded} sent, ${p.deleted} deleted${how}`;
}

function row(h: ClientHealth, now: number): string[] {
  const state = h.revoked ? 'revoked' : h.admin ? 'admin' : 'active';
  const quota = h.quota === null ? 'none' : `${humanSize(h.usedBytes)} of ${humanSize(h.quota)}`;
  return [h.name, state, when(h.lastSuccess?.receivedAt, now), String(h.files), humanSize(h.currentBytes), humanSize(h.historyBytes), quota, when(h.lastSeen, now)];
}

const HEADER = ['client', 'state', 'last backup', 'files', 'current', 'history', 'quota', 'last seen'];

/**
 * `npm run admin -- status`: one row per client (last successful backup, files, current and
 * history bytes, quota, last seen), each backed-up folder's last pass under it, and a WARNING
 * line for what needs a look (silent past --stale-after, failing passes, a guard hold).
 */
export async function statusCommand(catalog: Catalog, staleAfterMs: number, now = Date.now()): Promise<number> {
  const rows = await collectHealth(catalog, now, staleAfterMs);
  if (rows.length === 0) {
    console.log('no clients yet: npm run admin -- add-client NAME');
    return 0;
  }
  const cells = [HEADER, ...rows.map((h) => row(h, now))];
  const widths = HEADER.map((_, i) => Math.max(...cells.map((c) => (c[i] as string).length)));
  const line = (c: string[]) => c.map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] as number))).join('  ');
  console.log(line(HEADER));
  let warned = 0;
  for (const h of rows) {
    console.log(line(row(h, now)));
    for (const s of h.sources) {
      const from = s.last.host || s.last.folder ? ` from ${s.last.host}:${s.last.folder}` : '';
      const ok = !s.lastSuccess ? '; never successful' : s.lastSuccess.id !== s.last.id ? `; last successful ${when(s.lastSuccess.receivedAt, now)}` : '';
      console.log(`  ${s.root}/${from}: last pass ${passText(s.last, now)}${ok}`);
    }
    for (const w of h.warnings) console.log(`  WARNING ${w.kind}: ${w.message}`);
    if (h.warnings.length > 0) warned++;
  }
  console.log(warned === 0 ? 'all clients healthy' : `${warned} client(s) need a look (WARNING lines above)`);
  return 0;
}
