import type { Catalog, ClientRecord, PassRecord, PruneHold, SourcePasses, Stats } from '../catalog/catalog.js';

/**
 * Backup health: per client, who backed up when, how much it holds, and what an admin should
 * look at (a client silent too long, failing passes, a ransomware-guard hold). Shared by
 * `npm run admin -- status`, GET /api/health and the /health page.
 */

export type HealthWarningKind = 'stale' | 'failing' | 'guard';

export interface HealthWarning {
  kind: HealthWarningKind;
  message: string;
}

export interface ClientHealth {
  name: string;
  admin: boolean;
  revoked: boolean;
  createdAt: number;
  lastSeen: number | null;
  /** The newest pass of any of its folders, and the newest successful one (server receive times). */
  lastPass: PassRecord | null;
  lastSuccess: PassRecord | null;
  /** Per remote folder, by root. */
  sources: SourcePasses[];
  files: number;
  currentBytes: number;
  historyBytes: number;
  /** Most bytes the namespace may hold (current and history together); null: no limit. */
  quota: number | null;
  /** What counts against the quota: current and history bytes. */
  usedBytes: number;
  /** Pruning held by the ransomware guard: since when and why. */
  guard: { since: number; reason: string } | null;
  warnings: HealthWarning[];
}

export interface HealthInput {
  client: ClientRecord;
  sources: SourcePasses[];
  stats: Pick<Stats, 'files' | 'logicalBytes' | 'historyBytes' | 'usedBytes'>;
  hold: PruneHold | undefined;
  now: number;
  staleAfterMs: number;
}

const AGE_UNITS: readonly [string, number][] = [
  ['d', 86_400_000],
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
];

/** 90_061_000 -> '1d 1h': the largest unit and the next one (when not 0), for "silent for ..." messages. */
export function formatAge(ms: number): string {
  const i = AGE_UNITS.findIndex(([, size]) => ms >= size);
  if (i < 0) return '0s';
  const [unit, size] = AGE_UNITS[i] as [string, number];
  const first = `${Math.floor(ms / size)}${unit}`;
  const next = AGE_UNITS[i + 1];
  const rest = next ? Math.floor((ms % size) / next[1]) : 0;
  return next && rest > 0 ? `${first} ${rest}${next[0]}` : first;
}

function newest(passes: (PassRecord | null)[]): PassRecord | null {
  let best: PassRecord | null = null;
  for (const p of passes) if (p && (!best || p.receivedAt > best.receivedAt)) best = p;
  return best;
}

/**
 * One client's row. Stale: an active client whose newest successful backup (of any of its
 * folders) is older than `staleAfterMs`, or that never had one and was added longer ago; an
 * admin that never reported a pass is a browser login, not a backup, and is not warned about.
 */
export function clientHealth(input: HealthInput): ClientHealth {
  const { client, sources, stats, hold, now, staleAfterMs } = input;
  const lastPass = newest(sources.map((s) => s.last));
  const lastSuccess = newest(sources.map((s) => s.lastSuccess));
  const warnings: HealthWarning[] = [];
  const active = client.revokedAt === null;
  if (active && staleAfterMs > 0 && !(client.admin && lastPass === null)) {
    if (lastSuccess && now - lastSuccess.receivedAt > staleAfterMs) {
      warnings.push({ kind: 'stale', message: `no successful backup for ${formatAge(now - lastSuccess.receivedAt)} (--stale-after ${formatAge(staleAfterMs)})` });
    } else if (!lastSuccess && now - client.createdAt > staleAfterMs) {
      const what = lastPass ? 'no successful backup yet' : 'never backed up';
      warnings.push({ kind: 'stale', message: `${what}, added ${formatAge(now - client.createdAt)} ago (--stale-after ${formatAge(staleAfterMs)})` });
    }
  }
  if (active && lastPass && lastPass !== lastSuccess && lastPass.failed > 0) {
    warnings.push({ kind: 'failing', message: `the last pass (${lastPass.root}) had ${lastPass.failed} failed file(s)` });
  }
  const guard = hold?.heldSince != null ? { since: hold.heldSince, reason: hold.reason } : null;
  if (guard) {
    warnings.push({ kind: 'guard', message: `pruning held by the ransomware guard since ${new Date(guard.since).toISOString()}: ${guard.reason} (npm run admin -- resume-prune ${client.name})` });
  }
  return {
    name: client.name,
    admin: client.admin,
    revoked: !active,
    createdAt: client.createdAt,
    lastSeen: client.lastSeen ?? null,
    lastPass,
    lastSuccess,
    sources,
    files: stats.files,
    currentBytes: stats.logicalBytes,
    historyBytes: stats.historyBytes,
    quota: client.quotaBytes,
    usedBytes: stats.usedBytes,
    guard,
    warnings,
  };
}

/** Every client's row, by name (one stats and one pass query per client: fine for tens of clients). */
export async function collectHealth(catalog: Catalog, now: number, staleAfterMs: number): Promise<ClientHealth[]> {
  const holds = new Map((await catalog.listPruneHolds()).map((h) => [h.namespace, h]));
  const rows: ClientHealth[] = [];
  for (const client of await catalog.listClients()) {
    const [stats, sources] = await Promise.all([catalog.stats(client.name), catalog.sourcePasses(client.name)]);
    rows.push(clientHealth({ client, sources, stats, hold: holds.get(client.name), now, staleAfterMs }));
  }
  return rows;
}
