import type { CommitOptions, TempBlob } from '../storage/blobs/blob-store.js';
import type { BlobRecord, PutFileResult } from '../storage/catalog/catalog.js';
import { NotFoundError, type QuotaExceededError } from './errors.js';
import type { AppDeps } from './deps.js';

/**
 * Makes a verified temporary blob the content of `path`: the blob becomes visible under its
 * SHA-256 (or is dropped when that content is already stored), then the catalog points the path
 * at it. Both steps run under the blob's lock so a concurrent delete of the same content cannot
 * remove it in between. PUT, tus completion and every other writer go through here.
 */
export async function commitFile(
  deps: AppDeps,
  input: { path: string; temp: TempBlob; mtime: number | null },
): Promise<PutFileResult> {
  let result: PutFileResult;
  try {
    result = await deps.locks.run(input.temp.sha256, async () => {
      const { stored, known } = await commitChecked(deps, input, await deps.catalog.getBlob(input.temp.sha256));
      try {
        const put = await deps.catalog.putFile({
          path: input.path,
          sha256: input.temp.sha256,
          size: input.temp.size,
          mtime: input.mtime,
          now: deps.clock(),
        });
        if (!known && !stored) await recordKeptForm(deps, input.temp.sha256);
        return put;
      } catch (err) {
        // The catalog refused (full disk, say): take back the bytes nothing points at, so no
        // orphan is left and a full disk gets its space back.
        if (stored && !(await deps.catalog.getBlob(input.temp.sha256).catch(() => true))) await deps.blobs.delete(input.temp.sha256);
        throw err;
      }
    });
  } catch (err) {
    await deps.blobs.discard(input.temp);
    throw err;
  }
  return result;
}

/**
 * commitFile for many files at once (POST /api/batch): every blob is committed under its lock
 * with the folders' fsyncs grouped, then one catalog transaction records every path, so the
 * batch costs one durable commit instead of one per file. A path past its quota is refused
 * alone (its error in its place); any other refusal of the catalog changes no path, and bytes
 * left without a reference are taken back. The temps
 * must be durable already (BlobStore.syncTemps); each path at most once.
 */
export async function commitFiles(
  deps: AppDeps,
  items: readonly { path: string; temp: TempBlob; mtime: number | null }[],
): Promise<(PutFileResult | QuotaExceededError)[]> {
  // One temporary object per content: the others hold the same bytes.
  const bySha = new Map<string, { path: string; temp: TempBlob }>();
  const spare: TempBlob[] = [];
  for (const it of items) {
    if (bySha.has(it.temp.sha256)) spare.push(it.temp);
    else bySha.set(it.temp.sha256, it);
  }
  await Promise.all(spare.map((t) => deps.blobs.discard(t)));
  const firsts = [...bySha.values()];
  try {
    return await deps.locks.runAll([...bySha.keys()], async () => {
      // The catalog's rows of the batch's contents in one query, not one per file.
      const rows = await deps.catalog.getBlobs(firsts.map((f) => f.temp.sha256));
      const settled = await Promise.allSettled(firsts.map((f) => commitChecked(deps, f, rows.get(f.temp.sha256), { deferSync: true })));
      const stored = firsts.filter((_, i) => settled[i]?.status === 'fulfilled' && settled[i].value.stored).map((f) => f.temp.sha256);
      // Bytes nothing points at are taken back (a full disk gets its space back).
      const takeBack = async () => {
        for (const sha of stored) if (!(await deps.catalog.getBlob(sha).catch(() => true))) await deps.blobs.delete(sha);
      };
      const failed = settled.find((r) => r.status === 'rejected');
      if (failed) {
        await takeBack();
        throw failed.reason;
      }
      try {
        await deps.blobs.syncCommits(stored);
        const now = deps.clock();
        const results = await deps.catalog.putFiles(items.map((it) => ({ path: it.path, sha256: it.temp.sha256, size: it.temp.size, mtime: it.mtime, now })));
        for (const [i, f] of firsts.entries()) {
          const r = settled[i];
          if (r?.status === 'fulfilled' && !r.value.known && !r.value.stored) await recordKeptForm(deps, f.temp.sha256);
        }
        // Content only paths past their quota wanted has no row: its bytes go too.
        if (results.some((r) => !('entry' in r))) await takeBack();
        return results;
      } catch (err) {
        await takeBack();
        throw err;
      }
    });
  } catch (err) {
    // Committed temps are gone already; this drops what the failure left.
    await Promise.all(firsts.map((f) => deps.blobs.discard(f.temp)));
    throw err;
  }
}

/**
 * BlobStore.commit with the catalog's record of the blob, so a stored copy that fails its check
 * is replaced by the verified upload; the catalog then names the plain form the store left.
 */
async function commitChecked(
  deps: AppDeps,
  input: { path: string; temp: TempBlob },
  /** The catalog's row of the content, read under the blob's lock (undefined: none). */
  row: BlobRecord | undefined,
  options?: CommitOptions,
): Promise<{ stored: boolean; known: boolean }> {
  const sha = input.temp.sha256;
  const known = row && { where: { state: row.state, codec: row.codec }, storedSize: row.storedSize };
  const outcome = await deps.blobs.commit(input.temp, known, options);
  if (outcome.healed) {
    (deps.log ?? console.log)(`integrity: blob ${sha} (upload of ${input.path}): ${outcome.healed}; replaced by the uploaded bytes`);
    if (row && (row.state !== 'hot' || row.storedSize !== input.temp.size)) {
      await deps.catalog.updateBlob(sha, { state: 'hot', codec: null, storedSize: input.temp.size });
    }
  }
  return { stored: outcome.stored, known: row !== undefined };
}

/**
 * Bytes stored without a catalog row (left by a crash between a delete's catalog step and its
 * byte step) were kept instead of the upload: the new row says hot, so when only a compressed
 * form is there, name that one.
 */
async function recordKeptForm(deps: AppDeps, sha256: string): Promise<void> {
  const forms = await deps.blobs.forms.list(sha256);
  if (forms.some((f) => f.state === 'hot')) return;
  const cold = forms[0];
  if (cold) await deps.catalog.updateBlob(sha256, { state: 'cold', codec: cold.codec, storedSize: cold.storedSize });
}

/**
 * Records `path` -> an already stored blob (instant upload by hash). `quota: 'exempt'` for
 * restores: they bring back what the namespace held, and refusing them when the history fills
 * the quota would block a recovery exactly when it is needed.
 */
export async function linkFile(
  deps: AppDeps,
  input: { path: string; sha256: string; size: number; mtime: number | null; quota?: 'enforce' | 'exempt' },
): Promise<PutFileResult> {
  const result = await deps.locks.run(input.sha256, async () => {
    // Re-checked under the lock: the last other reference may have been deleted meanwhile.
    if (!(await deps.catalog.getBlob(input.sha256))) throw new NotFoundError('content no longer stored: upload it');
    return deps.catalog.putFile({ path: input.path, sha256: input.sha256, size: input.size, mtime: input.mtime, now: deps.clock(), quota: input.quota });
  });
  return result;
}

/**
 * Frees a blob once no version references it: catalog row first, then the bytes. Writes never
 * orphan a blob (the old content stays in the history); retention and purge do.
 */
export async function releaseBlob(deps: AppDeps, sha256: string): Promise<void> {
  await deps.locks.run(sha256, async () => {
    if (await deps.catalog.deleteBlobIfUnreferenced(sha256)) await deps.blobs.delete(sha256);
  });
}
