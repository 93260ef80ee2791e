/**
 * Swapping a blob between its plain (hot) and compressed (cold) stored forms, over any BlobStore
 * and Catalog. The protocol, so that every blob is readable in one complete form at every instant
 * and a crash anywhere is repaired at the next start-up:
 *
 *   1. convert: stream the current form into a pending new form (temporary, fsynced; no lock:
 *      this is the long part, and uploads or deletes of the blob must not wait for it);
 *   2. under the blob's lock (the one commit and delete take), re-check the catalog, then:
 *      forms.beginSwap (journal mark) -> forms.install (rename next to the old form) -> catalog
 *      update -> forms.delete (old form) -> forms.endSwap.
 *
 * A crash between begin and end leaves the mark; repairSwaps() then keeps the form the catalog
 * names (or the plain one when in doubt, see planSwapRepair) and drops the other.
 */
import type { BlobLocation, BlobStore, PendingForm } from '../blobs/blob-store.js';
import type { BlobRecord, Catalog } from '../catalog/catalog.js';
import { compressionPaysOff, planSwapRepair, shouldCompress, type HotColdPolicy } from './hot-cold-policy.js';
import type { KeyedMutex } from '../locks/keyed-mutex.js';
import { PLAIN } from '../blobs/form-layout.js';

export interface SwapContext {
  blobs: BlobStore;
  catalog: Catalog;
  locks: KeyedMutex;
  clock: () => number;
  log: (line: string) => void;
}


export type CompressOutcome =
  | { kind: 'compressed'; plainSize: number; storedSize: number }
  | { kind: 'incompressible'; plainSize: number; storedSize: number }
  /** The blob changed meanwhile (read, deleted, already cold): nothing done. */
  | { kind: 'skipped' };

export interface CompressOptions {
  codec: string;
  policy: HotColdPolicy;
  signal?: AbortSignal;
  /** A read not yet flushed to the catalog (see AccessTracker.lastSeen). */
  lastSeen?: (sha256: string) => number | undefined;
}

function eligible(row: BlobRecord | undefined, now: number, options: CompressOptions): row is BlobRecord {
  if (!row) return false;
  const pending = options.lastSeen?.(row.sha256);
  const lastAccess = pending === undefined ? row.lastAccess : Math.max(row.lastAccess, pending);
  return shouldCompress({ ...row, lastAccess }, now, options.policy);
}

/** Compresses one hot blob if the policy still wants it; marks it incompressible when it does not shrink enough. */
export async function compressBlob(ctx: SwapContext, sha256: string, options: CompressOptions): Promise<CompressOutcome> {
  if (!eligible(await ctx.catalog.getBlob(sha256), ctx.clock(), options)) return { kind: 'skipped' };
  const pending = await ctx.blobs.forms.convert(sha256, PLAIN, { state: 'cold', codec: options.codec }, { signal: options.signal });
  return installUnderLock(ctx, pending, async (row, install) => {
    // Re-checked under the lock: a read, a delete or a re-upload may have happened meanwhile.
    if (!eligible(row, ctx.clock(), options)) return { kind: 'skipped' };
    if (!compressionPaysOff(row.size, pending.storedSize, options.policy)) {
      await ctx.catalog.updateBlob(sha256, { incompressible: true });
      return { kind: 'incompressible', plainSize: row.size, storedSize: pending.storedSize };
    }
    await install({ state: 'cold', codec: options.codec, storedSize: pending.storedSize }, PLAIN);
    return { kind: 'compressed', plainSize: row.size, storedSize: pending.storedSize };
  });
}

/** Turns a cold blob back into a plain one. Returns false when there was nothing to do. */
export async function promoteBlob(ctx: SwapContext, sha256: string, signal?: AbortSignal): Promise<boolean> {
  const before = await ctx.catalog.getBlob(sha256);
  if (!before || before.state !== 'cold' || before.codec === null) return false;
  const cold: BlobLocation = { state: 'cold', codec: before.codec };
  const pending = await ctx.blobs.forms.convert(sha256, cold, PLAIN, { signal });
  return installUnderLock(ctx, pending, async (row, install) => {
    if (!row || row.state !== 'cold' || row.codec !== before.codec) return false;
    await install({ state: 'hot', codec: null, storedSize: row.size, lastAccess: ctx.clock() }, cold);
    return true;
  });
}

type Install = (change: Partial<Pick<BlobRecord, 'state' | 'codec' | 'storedSize' | 'lastAccess'>>, old: BlobLocation) => Promise<void>;

/**
 * Runs `decide` under the blob's lock with the current catalog row and an `install` step that
 * performs the journaled swap. The pending form is discarded unless installed; if the swap fails
 * before the catalog names the new form, the new form is removed again.
 */
async function installUnderLock<T>(
  ctx: SwapContext,
  pending: PendingForm,
  decide: (row: BlobRecord | undefined, install: Install) => Promise<T>,
): Promise<T> {
  const sha = pending.sha256;
  let installed = false;
  try {
    return await ctx.locks.run(sha, async () => {
      const row = await ctx.catalog.getBlob(sha);
      return decide(row, async (change, old) => {
        await ctx.blobs.forms.beginSwap(sha);
        let named = false;
        try {
          await ctx.blobs.forms.install(pending);
          installed = true;
          await ctx.catalog.updateBlob(sha, change);
          named = true;
          await ctx.blobs.forms.delete(sha, old);
          await ctx.blobs.forms.endSwap(sha);
        } catch (err) {
          // Not yet in the catalog: take the new form back out. Once named, the old form is the
          // leftover and the journal mark lets the next start-up finish the job.
          if (installed && !named) {
            await ctx.blobs.forms.delete(sha, pending).catch(() => {});
            await ctx.blobs.forms.endSwap(sha).catch(() => {});
          }
          throw err;
        }
      });
    });
  } finally {
    if (!installed) await ctx.blobs.forms.discard(pending);
  }
}

export interface RepairReport {
  /** Journal marks found (swaps a crash interrupted). */
  swaps: number;
  /** Stored forms dropped as leftovers. */
  dropped: number;
  /** Catalog rows corrected to the form actually kept. */
  corrected: number;
}

/**
 * Finishes or undoes the swaps a crash interrupted (call at start-up, before serving and before
 * the sweeper starts). Only the journaled blobs are looked at, so start-up stays fast however
 * many blobs there are.
 */
export async function repairSwaps(ctx: SwapContext): Promise<RepairReport> {
  const report: RepairReport = { swaps: 0, dropped: 0, corrected: 0 };
  for (const sha of await ctx.blobs.forms.unfinishedSwaps()) {
    report.swaps++;
    await ctx.locks.run(sha, async () => {
      const row = await ctx.catalog.getBlob(sha);
      const plan = planSwapRepair(row, await ctx.blobs.forms.list(sha));
      if (row && !plan.keep) ctx.log(`start-up: blob ${sha} has no stored form left (fsck reports the files affected)`);
      if (plan.catalog) {
        await ctx.catalog.updateBlob(sha, plan.catalog);
        report.corrected++;
      }
      for (const where of plan.drop) {
        await ctx.blobs.forms.delete(sha, where);
        report.dropped++;
      }
      await ctx.blobs.forms.endSwap(sha);
    });
  }
  return report;
}
