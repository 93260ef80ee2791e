import { displayName, displayText } from './display-name.js';
import { RootClaimedError } from './errors.js';
import { expectStatus, type HttpClient } from './http.js';

/** This run's source: the computer and the absolute folder it backs up, and where to. */
export interface RootClaim {
  /** The remote folder, namespace first ('alice/docs'; 'alice' with --prefix ''). */
  root: string;
  host: string;
  folder: string;
  adopt: boolean;
}

/** Another backup's root, as the server names it in a 409. */
export interface OtherSource {
  root: string;
  host: string;
  folder: string;
  lastSeen: number;
}

export type ClaimAnswer =
  | { status: 'created' | 'same' }
  | { status: 'adopted'; previous: OtherSource }
  /** A server older than backup roots (no /api/roots): nothing is checked. */
  | { status: 'unchecked' };

function asSource(v: unknown): OtherSource | undefined {
  const o = v as Partial<OtherSource> | null;
  if (!o || typeof o.root !== 'string' || typeof o.host !== 'string' || typeof o.folder !== 'string') return undefined;
  return { root: o.root, host: o.host, folder: o.folder, lastSeen: typeof o.lastSeen === 'number' ? o.lastSeen : 0 };
}

/** A folder's place as the user knows it: on this computer, or on another one by name. */
function where(other: OtherSource, host: string): string {
  const on = other.host.toLowerCase() === host.toLowerCase() ? `this computer (${other.host})` : other.host;
  const seen = other.lastSeen > 0 ? `, last backed up ${new Date(other.lastSeen).toISOString().replace(/\.\d+Z$/, 'Z')}` : '';
  return `${displayText(other.folder)} on ${displayText(on)}${seen}`;
}

/** What the user reads when the server refuses the claim: who holds the folder and the two ways on. */
export function refusalMessage(kind: 'taken' | 'nested', claim: RootClaim, other: OtherSource, suggestion: string): string {
  const mine = `${displayName(claim.root)}/`;
  const theirs = `${displayName(other.root)}/`;
  if (kind === 'taken') {
    return (
      `${mine} on the server is the backup of another folder: ${where(other, claim.host)}. ` +
      `Give this folder its own remote folder with --prefix NAME (for example --prefix ${displayName(suggestion)}), ` +
      `or, if this folder replaces that one (a new computer, a moved folder), pass --adopt to take ${mine} over.`
    );
  }
  const how = other.root.startsWith(`${claim.root}/`) ? `holds ${theirs}, the backup of` : `lies inside ${theirs}, the backup of`;
  return `${mine} on the server ${how} ${where(other, claim.host)}; the folders of two backups cannot nest. Choose another remote folder with --prefix NAME.`;
}

/**
 * POST /api/roots before a pass: the server records which source backs up into `root` and
 * refuses a second one (RootClaimedError) unless `adopt`. `suggestion` is a --prefix to offer.
 */
export async function claimRoot(http: HttpClient, claim: RootClaim, suggestion: string, signal: AbortSignal): Promise<ClaimAnswer> {
  const res = await http.request('POST', 'api/roots', {
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ root: claim.root, host: claim.host, folder: claim.folder, adopt: claim.adopt }),
    signal,
  });
  if (res.status === 404) return { status: 'unchecked' };
  if (res.status === 409) {
    const v = JSON.parse(res.text) as { status?: unknown; other?: unknown; error?: unknown };
    const other = asSource(v.other);
    if (!other) throw new RootClaimedError(`the server refused ${claim.root}/: ${displayText(String(v.error ?? 'taken by another source'))}`);
    throw new RootClaimedError(refusalMessage(v.status === 'nested' ? 'nested' : 'taken', claim, other, suggestion));
  }
  const ok = expectStatus(res, [200, 201], 'POST', '/api/roots');
  const v = JSON.parse(ok.text) as { status?: unknown; previous?: unknown };
  const previous = asSource(v.previous);
  if (v.status === 'adopted' && previous) return { status: 'adopted', previous };
  return { status: v.status === 'created' ? 'created' : 'same' };
}
