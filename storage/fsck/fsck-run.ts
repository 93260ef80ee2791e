/**
 * fsck, the I/O half: walks the catalog and the store side by side, re-hashes stored content
 * (streamed), and with `repair` applies what storage/fsck/fsck.ts decided. Everything goes through the
 * interfaces (Catalog and CatalogIntegrity over the shared query layer, BlobStore.inventory), so
 * disk and S3 stores, SQLite and PostgreSQL catalogs are checked alike. Repairs assume no server
 * is running on the store (the admin CLI checks); a check alone is safe at any time.
 */
import type { BlobStore, StoreEntry } from '../blobs/blob-store.js';
import type { BlobRecord, Catalog } from '../catalog/catalog.js';
import type { CatalogIntegrity } from '../catalog/sql-integrity.js';
import { NotFoundError } from '../../core/errors.js';
import { repairSwaps } from '../hot-cold/form-swap.js';
import { replayBlobLog } from '../blobs/log-replay.js';
import { KeyedMutex } from '../locks/keyed-mutex.js';
import {
  classifyBlob,
  classifyUploads,
  groupBySha,
  pairBySha,
  emptySummary,
  tally,
  type Finding,
  type FsckSummary,
  type RepairAction,
  type StoredForm,
} from './fsck.js';

export interface FsckOptions {
  catalog: Catalog;
  integrity: CatalogIntegrity;
  blobs: BlobStore;
  /** Re-hash every stored form (slow on big stores; default true). */
  verify?: boolean;
  repair?: boolean;
  /**
   * A server may be running: spare tmp/ and anything modified in the last 10 minutes (it may
   * belong to a write in flight). Never combined with repair.
   */
  live?: boolean;
  now?: () => number;
  /** Told about each finding as it is found and, with repair, whether it was repaired. */
  onFinding?: (finding: Finding, outcome: 'found' | 'repaired' | { failed: string }) => void;
  /** Told about each file row dropped because its content is lost. */
  onLost?: (path: string, sha256: string) => void;
}

export interface FsckReport {
  summary: FsckSummary;
  /** The first findings (at most `FINDINGS_KEPT`); the callback sees all of them. */
  findings: Finding[];
  /** Blobs looked at, and how many stored bytes were re-hashed. */
  blobs: number;
  hashedBytes: number;
}

export const FINDINGS_KEPT = 1000;
const LIVE_GRACE_MS = 10 * 60_000;

export async function runFsck(options: FsckOptions): Promise<FsckReport> {
  const verify = options.verify ?? true;
  const repair = options.repair === true && options.live !== true;
  const now = options.now ?? Date.now;
  const spareSince = options.live ? now() - LIVE_GRACE_MS : Infinity;
  const all: Finding[] = [];
  const summary = emptySummary();
  let blobs = 0;
  let hashedBytes = 0;

  const report = async (f: Finding): Promise<void> => {
    if (all.length < FINDINGS_KEPT) all.push(f);
    if (!repair || !f.repair) {
      tally(summary, f, false);
      options.onFinding?.(f, 'found');
      return;
    }
    try {
      await applyRepair(f.repair, options);
      tally(summary, f, true);
      options.onFinding?.(f, 'repaired');
    } catch (err) {
      tally(summary, f, false);
      options.onFinding?.(f, { failed: (err as Error).message });
    }
  };

  for (const problem of await options.integrity.selfCheck()) {
    await report({ kind: 'catalog-corrupt', severity: 'error', subject: 'catalog', message: problem });
  }

  // The blob log first: what its replay puts back is then not reported as lost.
  const segments = options.live ? [] : ((await options.blobs.logReplay?.leftovers()) ?? []);
  if (segments.length > 0) {
    await report({
      kind: 'unreplayed-log',
      severity: 'warning',
      subject: 'blob-log',
      message: `${segments.length} segment(s) of the blob log were left by a crash: the next start-up (or --repair) puts back the small files whose stored copies the crash took`,
      repair: { kind: 'replay-blob-log' },
    });
  }

  // Interrupted hot/cold swaps next: repairing them settles which form each blob keeps.
  if (!options.live) {
    for (const sha of await options.blobs.forms.unfinishedSwaps()) {
      await report({
        kind: 'unfinished-swap',
        severity: 'warning',
        subject: sha,
        message: 'a hot/cold swap was interrupted: the next start-up (or --repair) keeps one form and drops the other',
        repair: { kind: 'finish-swaps' },
      });
    }
  }

  const stored = groupBySha(storedForms(options.blobs, spareSince, report));
  for await (const pair of pairBySha(catalogBlobs(options.catalog), stored)) {
    blobs++;
    if (verify) {
      const kept: StoredForm[] = [];
      for (const form of pair.forms) {
        const verified = await hashForm(options.blobs, pair.sha256, form);
        // A form that went away since it was listed (a live server swapped it) is not judged.
        if (!verified) continue;
        form.verified = verified;
        if ('size' in verified) hashedBytes += verified.size;
        kept.push(form);
      }
      pair.forms = kept;
    }
    const refs = pair.row ? await options.catalog.blobRefCount(pair.sha256) : 0;
    for (const f of classifyBlob(pair.sha256, pair.row, refs, pair.forms, spareSince)) await report(f);
  }

  for await (const dir of options.integrity.staleDirs()) {
    await report({ kind: 'stale-dir', severity: 'warning', subject: dir, message: `folder ${dir} is listed but holds no files`, repair: { kind: 'remove-dir-row', dir } });
  }
  for await (const dir of options.integrity.missingDirs()) {
    await report({
      kind: 'missing-dir',
      severity: 'error',
      subject: dir,
      message: `folder ${dir} holds files but is missing from the folder index (its files are not listed)`,
      repair: { kind: 'add-dir-row', dir },
    });
  }

  // After the blob pass: a lost blob's repair above has already given its bytes back.
  for (const d of await options.integrity.usageDrift()) {
    await report({
      kind: 'usage-drift',
      severity: 'warning',
      subject: d.namespace,
      message: `${d.namespace}'s usage is counted as ${d.counted} bytes but its versions hold ${d.actual}: its quota is checked against the wrong figure`,
      repair: { kind: 'recount-usage', namespace: d.namespace },
    });
  }

  if (!options.live) {
    for await (const entry of options.blobs.inventory.list('tmp')) {
      const location = entry.location;
      await report({ kind: 'temp-leftover', severity: 'warning', subject: location, message: `temporary leftover of an earlier run: ${location}`, repair: { kind: 'remove-temp', location } });
    }
  }

  const parts = [];
  for await (const p of options.blobs.inventory.list('parts')) {
    if (p.partId !== undefined) parts.push({ id: p.partId, location: p.location, size: p.size, modifiedAt: p.modifiedAt });
  }
  for (const f of classifyUploads(await options.integrity.uploads(), parts, spareSince)) await report(f);

  return { summary, findings: all, blobs, hashedBytes };
}

async function* catalogBlobs(catalog: Catalog): AsyncGenerator<BlobRecord> {
  let after: string | undefined;
  for (;;) {
    const page = await catalog.listBlobs({ after, limit: 500 });
    yield* page;
    if (page.length < 500) return;
    after = page[page.length - 1]?.sha256;
  }
}

/**
 * The store's blob area in SHA-256 order as fsck's stored forms. Anything that is not a stored
 * form where it belongs is reported as a stray (unless it may belong to a write in flight).
 */
async function* storedForms(
  blobs: BlobStore,
  spareSince: number,
  report: (f: Finding) => Promise<void>,
): AsyncGenerator<{ sha256: string; form: StoredForm }> {
  for await (const e of blobs.inventory.list('blobs')) {
    if (e.form) {
      yield { sha256: e.form.sha256, form: { codec: e.form.codec, location: e.location, storedBytes: e.size, modifiedAt: e.modifiedAt } };
      continue;
    }
    if (e.modifiedAt >= spareSince) continue;
    await report(strayFinding(e));
  }
}

function strayFinding(e: StoreEntry): Finding {
  return {
    kind: 'stray-file',
    severity: 'warning',
    subject: e.location,
    message: `unexpected entry in the blob tree: ${e.location}`,
    repair: { kind: 'quarantine', location: e.location },
  };
}

/** SHA-256 and size of one form's plain content, streamed from the store; undefined when it vanished. */
async function hashForm(blobs: BlobStore, sha256: string, form: StoredForm): Promise<StoredForm['verified']> {
  const where = form.codec === null ? { state: 'hot' as const, codec: null } : { state: 'cold' as const, codec: form.codec };
  try {
    return await blobs.inventory.hash(sha256, where);
  } catch (err) {
    if (err instanceof NotFoundError) return undefined;
    return { unreadable: (err as Error).message };
  }
}

async function applyRepair(action: RepairAction, options: FsckOptions): Promise<void> {
  const { catalog, integrity } = options;
  switch (action.kind) {
    case 'delete-form': {
      // Re-checked here: bytes are deleted only when no catalog row needs this form.
      const row = await catalog.getBlob(action.sha256);
      if (!row && (await catalog.blobRefCount(action.sha256)) > 0) throw new Error('a file references it now');
      if (row && formNeeded(row, action.codec)) throw new Error('the catalog uses this form now');
      await options.blobs.inventory.removeEntry(action.location);
      return;
    }
    case 'quarantine':
      await options.blobs.inventory.quarantineEntry(action.location);
      return;
    case 'update-blob':
      await catalog.updateBlob(action.sha256, action.change);
      return;
    case 'release-blob':
      if (await catalog.deleteBlobIfUnreferenced(action.sha256)) await options.blobs.delete(action.sha256);
      return;
    case 'drop-lost-files': {
      // Every version that held the lost bytes goes; current files get a deletion on top.
      for (const path of await catalog.dropLostBlob(action.sha256, Date.now())) options.onLost?.(path, action.sha256);
      if (await catalog.deleteBlobIfUnreferenced(action.sha256)) await options.blobs.delete(action.sha256);
      return;
    }
    case 'remove-temp':
    case 'remove-part':
      await options.blobs.inventory.removeEntry(action.location);
      return;
    case 'remove-dir-row':
      await integrity.removeDir(action.dir);
      return;
    case 'add-dir-row':
      await integrity.addDir(action.dir);
      return;
    case 'remove-upload-row':
      await catalog.deleteUpload(action.id);
      return;
    case 'set-upload-offset':
      await catalog.setUploadOffset(action.id, action.offset);
      return;
    case 'recount-usage':
      await integrity.recountUsage(action.namespace);
      return;
    case 'replay-blob-log':
      await replayBlobLog({ blobs: options.blobs, catalog, locks: new KeyedMutex() });
      return;
    case 'finish-swaps':
      // Idempotent: the first call finishes every journaled swap, later ones find none.
      await repairSwaps({ blobs: options.blobs, catalog, locks: new KeyedMutex(), clock: options.now ?? Date.now, log: () => {} });
      return;
  }
}

/** Whether the form stored with `codec` (null: plain) is the one a catalog row points at. */
function formNeeded(row: BlobRecord, codec: string | null): boolean {
  return row.state === 'hot' ? codec === null : codec === row.codec;
}
