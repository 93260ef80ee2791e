/**
 * fsck, the pure half: given what the catalog says about one blob and what storage holds for it,
 * decide what is wrong and what a repair may do. No I/O here; storage/fsck/fsck-run.ts gathers the
 * facts (streaming, page by page) and applies the repairs.
 *
 * The repair rules, in one place: bytes some file references are never deleted; stored forms no
 * catalog row references are garbage; a catalog row whose content is gone (or corrupt) is dropped
 * only on --repair and reported loudly, so the client uploads the file again.
 */
import type { BlobRecord } from '../catalog/catalog.js';

/** One stored form of a blob: plain (`codec` null) or compressed with `codec`. */
export interface StoredForm {
  codec: string | null;
  /** Where it is (a file path for the disk store, an object key for S3). */
  location: string;
  /** Bytes it takes in storage. */
  storedBytes: number;
  /** Its modification time (ms), to spare forms that may belong to a write in flight. */
  modifiedAt: number;
  /** Set when the content was re-hashed: what it hashed to, or why it could not be read. */
  verified?: { sha256: string; size: number } | { unreadable: string };
}

export type Severity =
  /** A file users can see is, or may be, broken. */
  | 'error'
  /** Leftovers and bookkeeping drift: harmless to users, reclaimed by --repair. */
  | 'warning';

export type RepairAction =
  /** Delete a stored form that no catalog row needs (re-checked just before). */
  | { kind: 'delete-form'; sha256: string; codec: string | null; location: string }
  /** Move unknown or corrupt bytes aside into quarantine/ rather than deleting them. */
  | { kind: 'quarantine'; location: string }
  /** Point the catalog at the stored form that is actually there. */
  | { kind: 'update-blob'; sha256: string; change: Partial<Pick<BlobRecord, 'state' | 'codec' | 'storedSize'>> }
  /** Remove the catalog's blob row (nothing references it) and then every stored form. */
  | { kind: 'release-blob'; sha256: string }
  /** The content is gone: drop every file row pointing at it, then the blob row. Loud. */
  | { kind: 'drop-lost-files'; sha256: string }
  | { kind: 'remove-temp'; location: string }
  | { kind: 'remove-dir-row'; dir: string }
  | { kind: 'add-dir-row'; dir: string }
  | { kind: 'remove-part'; location: string }
  | { kind: 'remove-upload-row'; id: string }
  | { kind: 'set-upload-offset'; id: string; offset: number }
  /** Count a client's usage (what its quota checks) afresh from its versions. */
  | { kind: 'recount-usage'; namespace: string }
  /** Finish the hot/cold swaps a crash interrupted, as start-up does (storage/hot-cold/form-swap.ts). */
  | { kind: 'finish-swaps' }
  /** Put back the small files a crash left only in the blob log, as start-up does (storage/blobs/log-replay.ts). */
  | { kind: 'replay-blob-log' };

export type FindingKind =
  | 'missing-blob'
  | 'corrupt-blob'
  | 'size-mismatch'
  | 'wrong-state'
  | 'redundant-form'
  | 'stored-size'
  | 'orphan-blob'
  | 'unreferenced-blob'
  | 'stray-file'
  | 'temp-leftover'
  | 'stale-dir'
  | 'missing-dir'
  | 'orphan-part'
  | 'missing-part'
  | 'part-short'
  | 'unfinished-swap'
  | 'unreplayed-log'
  | 'usage-drift'
  | 'catalog-corrupt';

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  /** The blob, folder, upload or file system path it is about. */
  subject: string;
  message: string;
  /** What --repair does about it; absent when nothing safe can be done automatically. */
  repair?: RepairAction;
}

const FORM_NAME = /^([0-9a-f]{64})(?:\.([a-z0-9]{1,16}))?$/;

/**
 * What a file name in the blob tree `blobs/ab/cd/<name>` is: a stored form of the blob whose
 * SHA-256 starts with `ab` `cd`, or a stray (anything else, including misplaced blobs).
 * `codecOfSuffix` maps a file suffix ('gz') to its codec; unknown suffixes are strays.
 */
export function parseFormName(
  level1: string,
  level2: string,
  name: string,
  codecOfSuffix: (suffix: string) => string | undefined,
): { sha256: string; codec: string | null } | undefined {
  const m = FORM_NAME.exec(name);
  if (!m) return undefined;
  const sha = m[1] as string;
  if (sha.slice(0, 2) !== level1 || sha.slice(2, 4) !== level2) return undefined;
  if (m[2] === undefined) return { sha256: sha, codec: null };
  const codec = codecOfSuffix(m[2]);
  return codec === undefined ? undefined : { sha256: sha, codec };
}

function formLabel(f: StoredForm): string {
  return f.codec === null ? 'plain form' : `${f.codec} form`;
}

function isGood(f: StoredForm, sha: string): boolean {
  // Not re-hashed (quick mode): existing counts as good.
  if (!f.verified) return true;
  return 'sha256' in f.verified && f.verified.sha256 === sha;
}

function isAuthoritative(f: StoredForm, row: BlobRecord): boolean {
  return row.state === 'hot' ? f.codec === null : f.codec !== null && f.codec === row.codec;
}

/**
 * Everything wrong with one blob. `row` is the catalog's blob row (undefined: none), `refs` how
 * many files reference it, `forms` what storage holds. `spareSince`: forms modified at or after
 * this time are left alone when they look orphaned (a live server may be committing them).
 */
export function classifyBlob(
  sha: string,
  row: BlobRecord | undefined,
  refs: number,
  forms: readonly StoredForm[],
  spareSince = Infinity,
): Finding[] {
  const out: Finding[] = [];
  if (!row) {
    for (const f of forms) {
      if (f.modifiedAt >= spareSince) continue;
      out.push({
        kind: 'orphan-blob',
        severity: 'warning',
        subject: sha,
        message: `${formLabel(f)} stored but not in the catalog (left by an interrupted write or delete): ${f.location}`,
        repair: { kind: 'delete-form', sha256: sha, codec: f.codec, location: f.location },
      });
    }
    return out;
  }

  const good = forms.filter((f) => isGood(f, sha));
  for (const f of forms) {
    if (isGood(f, sha)) continue;
    const why = f.verified && 'unreadable' in f.verified ? `is unreadable (${f.verified.unreadable})` : `hashes to ${(f.verified as { sha256: string }).sha256}`;
    out.push({
      kind: 'corrupt-blob',
      severity: isAuthoritative(f, row) && refs > 0 ? 'error' : 'warning',
      subject: sha,
      message: `${formLabel(f)} ${why}: ${f.location}`,
      repair: { kind: 'quarantine', location: f.location },
    });
  }

  if (refs === 0) {
    out.push({
      kind: 'unreferenced-blob',
      severity: 'warning',
      subject: sha,
      message: 'no file references this blob (a delete was interrupted)',
      repair: { kind: 'release-blob', sha256: sha },
    });
    return out;
  }

  const auth = good.find((f) => isAuthoritative(f, row));
  if (auth) {
    for (const f of good) {
      if (f === auth) continue;
      out.push({
        kind: 'redundant-form',
        severity: 'warning',
        subject: sha,
        message: `${formLabel(f)} is a leftover of an interrupted swap (the catalog uses the ${formLabel(auth)}): ${f.location}`,
        repair: { kind: 'delete-form', sha256: sha, codec: f.codec, location: f.location },
      });
    }
    if (auth.verified && 'size' in auth.verified && auth.verified.size !== row.size) {
      out.push({
        kind: 'size-mismatch',
        severity: 'error',
        subject: sha,
        message: `content is ${auth.verified.size} bytes but the catalog says ${row.size}`,
      });
    }
    if (auth.storedBytes !== row.storedSize) {
      out.push({
        kind: 'stored-size',
        severity: 'warning',
        subject: sha,
        message: `stored size is ${auth.storedBytes} bytes but the catalog says ${row.storedSize}`,
        repair: { kind: 'update-blob', sha256: sha, change: { storedSize: auth.storedBytes } },
      });
    }
    return out;
  }

  const other = good[0];
  if (other) {
    out.push({
      kind: 'wrong-state',
      severity: 'error',
      subject: sha,
      message: `the catalog says ${row.state}${row.codec ? ` (${row.codec})` : ''} but only the ${formLabel(other)} is stored`,
      repair: {
        kind: 'update-blob',
        sha256: sha,
        change: { state: other.codec === null ? 'hot' : 'cold', codec: other.codec, storedSize: other.storedBytes },
      },
    });
    return out;
  }

  out.push({
    kind: 'missing-blob',
    severity: 'error',
    subject: sha,
    message: `content of ${refs} file(s) is ${forms.length === 0 ? 'missing' : 'corrupt in every stored form'}: --repair removes them from the catalog so that they are uploaded again`,
    repair: { kind: 'drop-lost-files', sha256: sha },
  });
  return out;
}

/** One blob's facts from both sides, paired by SHA-256. */
export interface PairedBlob {
  sha256: string;
  row?: BlobRecord;
  forms: StoredForm[];
}

/**
 * Joins two streams sorted by SHA-256 (catalog rows, and stored forms grouped per blob) without
 * holding either in memory: the catalog and the blob tree may each hold millions of entries.
 */
export async function* pairBySha(
  rows: AsyncIterable<BlobRecord>,
  stored: AsyncIterable<{ sha256: string; forms: StoredForm[] }>,
): AsyncGenerator<PairedBlob> {
  const a = rows[Symbol.asyncIterator]();
  const b = stored[Symbol.asyncIterator]();
  let ra = await a.next();
  let rb = await b.next();
  while (!ra.done || !rb.done) {
    if (rb.done || (!ra.done && ra.value.sha256 < rb.value.sha256)) {
      const row = ra.value as BlobRecord;
      yield { sha256: row.sha256, row, forms: [] };
      ra = await a.next();
    } else if (ra.done || rb.value.sha256 < ra.value.sha256) {
      yield { sha256: rb.value.sha256, forms: rb.value.forms };
      rb = await b.next();
    } else {
      yield { sha256: ra.value.sha256, row: ra.value, forms: rb.value.forms };
      ra = await a.next();
      rb = await b.next();
    }
  }
}

/** Groups a name-sorted stream of stored forms into one entry per blob. */
export async function* groupBySha(
  forms: AsyncIterable<{ sha256: string; form: StoredForm }>,
): AsyncGenerator<{ sha256: string; forms: StoredForm[] }> {
  let current: { sha256: string; forms: StoredForm[] } | undefined;
  for await (const { sha256, form } of forms) {
    if (current && current.sha256 === sha256) {
      current.forms.push(form);
      continue;
    }
    if (current) yield current;
    current = { sha256, forms: [form] };
  }
  if (current) yield current;
}

/**
 * Upload parts against upload rows (few: only uploads in progress). A finished upload keeps its
 * row (offset = length, a receipt until it expires) but not its part, which became the blob.
 */
export function classifyUploads(
  rows: readonly { id: string; offset: number; length: number }[],
  parts: readonly { id: string; location: string; size: number; modifiedAt: number }[],
  spareSince = Infinity,
): Finding[] {
  const out: Finding[] = [];
  const partById = new Map(parts.map((p) => [p.id, p]));
  const rowIds = new Set(rows.map((r) => r.id));
  for (const r of rows) {
    const part = partById.get(r.id);
    if (!part && r.offset === r.length) continue;
    if (!part) {
      out.push({
        kind: 'missing-part',
        severity: 'warning',
        subject: r.id,
        message: `upload ${r.id} has no stored part: --repair forgets it and the client starts that upload again`,
        repair: { kind: 'remove-upload-row', id: r.id },
      });
    } else if (part.size < r.offset) {
      out.push({
        kind: 'part-short',
        severity: 'warning',
        subject: r.id,
        message: `upload ${r.id} records offset ${r.offset} but its part holds ${part.size} bytes: --repair sets the offset to ${part.size} and the client resends the rest`,
        repair: { kind: 'set-upload-offset', id: r.id, offset: part.size },
      });
    }
  }
  for (const p of parts) {
    if (rowIds.has(p.id) || p.modifiedAt >= spareSince) continue;
    out.push({
      kind: 'orphan-part',
      severity: 'warning',
      subject: p.id,
      message: `upload part without an upload record: ${p.location}`,
      repair: { kind: 'remove-part', location: p.location },
    });
  }
  return out;
}

export interface FsckSummary {
  errors: number;
  warnings: number;
  repaired: number;
  /** Findings not repaired (all of them without --repair). */
  remaining: number;
}

export function emptySummary(): FsckSummary {
  return { errors: 0, warnings: 0, repaired: 0, remaining: 0 };
}

/** Counts one finding into the summary (findings themselves are not kept: there may be millions). */
export function tally(summary: FsckSummary, finding: Finding, repaired: boolean): void {
  if (finding.severity === 'error') summary.errors++;
  else summary.warnings++;
  if (repaired) summary.repaired++;
  else summary.remaining++;
}
