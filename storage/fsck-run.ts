/**
 * fsck, the I/O half: walks the catalog and the data directory side by side, re-hashes stored
 * content (streamed), and with `repair` applies what storage/fsck.ts decided. Repairs assume no
 * server is running on the data dir (the admin CLI checks); a check alone is safe at any time.
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { BlobStore } from './blob-store.js';
import type { BlobRecord, Catalog } from './catalog.js';
import { codecOfSuffix, createDecompressor } from './codec.js';
import { repairSwaps } from './form-swap.js';
import { KeyedMutex } from './keyed-mutex.js';
import type { CatalogIntegrity } from './sqlite-integrity.js';
import {
  classifyBlob,
  classifyUploads,
  groupBySha,
  pairBySha,
  parseFormName,
  emptySummary,
  tally,
  type Finding,
  type FsckSummary,
  type RepairAction,
  type StoredForm,
} from './fsck.js';

export interface FsckOptions {
  /** The data directory: blobs/, tmp/, uploads/ below it. */
  root: string;
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
  const blobDir = join(options.root, 'blobs');
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

  // Interrupted hot/cold swaps first: repairing them settles which form each blob keeps.
  if (!options.live) {
    for (const sha of await options.blobs.unfinishedSwaps()) {
      await report({
        kind: 'unfinished-swap',
        severity: 'warning',
        subject: sha,
        message: 'a hot/cold swap was interrupted: the next start-up (or --repair) keeps one form and drops the other',
        repair: { kind: 'finish-swaps' },
      });
    }
  }

  const stored = groupBySha(walkBlobTree(blobDir, spareSince, report));
  for await (const pair of pairBySha(catalogBlobs(options.catalog), stored)) {
    blobs++;
    if (verify) {
      for (const form of pair.forms) {
        form.verified = await hashForm(form);
        if ('size' in form.verified) hashedBytes += form.verified.size;
      }
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
    for (const entry of await listDir(join(options.root, 'tmp'))) {
      const location = join(options.root, 'tmp', entry);
      await report({ kind: 'temp-leftover', severity: 'warning', subject: location, message: `temporary leftover of an earlier run: ${location}`, repair: { kind: 'remove-temp', location } });
    }
  }

  const partsDir = join(options.root, 'uploads');
  const parts = [];
  for (const id of await listDir(partsDir)) {
    const location = join(partsDir, id);
    const st = await stat(location).catch(() => undefined);
    if (st) parts.push({ id, location, size: st.size, modifiedAt: st.mtimeMs });
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

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/**
 * The blob tree `ab/cd/<name>` in SHA-256 order, one directory listing at a time. Anything that
 * is not a stored form where it belongs is reported as a stray.
 */
async function* walkBlobTree(
  blobDir: string,
  spareSince: number,
  report: (f: Finding) => Promise<void>,
): AsyncGenerator<{ sha256: string; form: StoredForm }> {
  const stray = async (location: string) => {
    const st = await stat(location).catch(() => undefined);
    if (!st || st.mtimeMs >= spareSince) return;
    await report({
      kind: 'stray-file',
      severity: 'warning',
      subject: location,
      message: `unexpected entry in the blob tree: ${location}`,
      repair: { kind: 'quarantine', location },
    });
  };
  const LEVEL = /^[0-9a-f]{2}$/;
  for (const l1 of await listDir(blobDir)) {
    const d1 = join(blobDir, l1);
    if (!LEVEL.test(l1) || !(await isDir(d1))) {
      await stray(d1);
      continue;
    }
    for (const l2 of await listDir(d1)) {
      const d2 = join(d1, l2);
      if (!LEVEL.test(l2) || !(await isDir(d2))) {
        await stray(d2);
        continue;
      }
      for (const name of await listDir(d2)) {
        const location = join(d2, name);
        const parsed = parseFormName(l1, l2, name, codecOfSuffix);
        const st = parsed ? await stat(location).catch(() => undefined) : undefined;
        if (!parsed || !st?.isFile()) {
          await stray(location);
          continue;
        }
        yield { sha256: parsed.sha256, form: { codec: parsed.codec, location, storedBytes: st.size, modifiedAt: st.mtimeMs } };
      }
    }
  }
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}

/** SHA-256 and size of a form's plain content, streamed. */
async function hashForm(form: StoredForm): Promise<NonNullable<StoredForm['verified']>> {
  const hash = createHash('sha256');
  let size = 0;
  try {
    const file = createReadStream(form.location, { highWaterMark: 1 << 20 });
    let stream: NodeJS.ReadableStream = file;
    if (form.codec !== null) {
      const decoder = createDecompressor(form.codec);
      file.on('error', (err) => decoder.destroy(err));
      stream = file.pipe(decoder);
    }
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      hash.update(chunk);
      size += chunk.byteLength;
    }
  } catch (err) {
    return { unreadable: (err as Error).message };
  }
  return { sha256: hash.digest('hex'), size };
}

async function applyRepair(action: RepairAction, options: FsckOptions): Promise<void> {
  const { catalog, integrity } = options;
  switch (action.kind) {
    case 'delete-form': {
      // Re-checked here: bytes are deleted only when no catalog row needs this form.
      const row = await catalog.getBlob(action.sha256);
      if (!row && (await catalog.blobRefCount(action.sha256)) > 0) throw new Error('a file references it now');
      if (row && formNeeded(row, action.location)) throw new Error('the catalog uses this form now');
      await rm(action.location, { force: true });
      return;
    }
    case 'quarantine': {
      const dir = join(options.root, 'quarantine');
      await mkdir(dir, { recursive: true });
      await rename(action.location, join(dir, `${Date.now()}-${basename(action.location)}`));
      return;
    }
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
      await rm(action.location, { force: true, recursive: true });
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
    case 'finish-swaps':
      // Idempotent: the first call finishes every journaled swap, later ones find none.
      await repairSwaps({ blobs: options.blobs, catalog, locks: new KeyedMutex(), clock: options.now ?? Date.now, log: () => {} });
      return;
  }
}

/** Whether `location` is the stored form a catalog row points at. */
function formNeeded(row: BlobRecord, location: string): boolean {
  const name = basename(location);
  const dot = name.indexOf('.');
  const codec = dot < 0 ? null : (codecOfSuffix(name.slice(dot + 1)) ?? '?');
  return row.state === 'hot' ? codec === null : codec === row.codec;
}
