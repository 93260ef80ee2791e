/**
 * The hot/cold decisions as pure functions (no I/O, no clock): which blobs to compress, whether a
 * compressed result is worth keeping, and how to finish a stored-form swap that a crash
 * interrupted. storage/hot-cold/sweeper.ts and storage/hot-cold/form-swap.ts apply them.
 */
import type { BlobLocation, StoredForm } from '../blobs/blob-store.js';
import type { BlobRecord } from '../catalog/catalog.js';

export interface HotColdPolicy {
  /** A blob unread this long (ms) is compressed. */
  hotTimeMs: number;
  /** Blobs smaller than this stay plain: the saving would not pay for the work. */
  minSize: number;
  /** A compressed form larger than this fraction of the plain size is not kept. */
  maxRatio: number;
}

export const DEFAULT_MIN_SIZE = 4096;
export const DEFAULT_MAX_RATIO = 0.9;

export function makePolicy(hotTimeMs: number, overrides: Partial<Omit<HotColdPolicy, 'hotTimeMs'>> = {}): HotColdPolicy {
  return { hotTimeMs, minSize: DEFAULT_MIN_SIZE, maxRatio: DEFAULT_MAX_RATIO, ...overrides };
}

export type BlobHeat = Pick<BlobRecord, 'size' | 'state' | 'incompressible' | 'lastAccess'>;

/** Last access at or before this time means cold enough to compress. */
export function coldCutoff(now: number, policy: HotColdPolicy): number {
  return now - policy.hotTimeMs;
}

/** Whether the sweeper should compress this blob now. */
export function shouldCompress(blob: BlobHeat, now: number, policy: HotColdPolicy): boolean {
  return (
    blob.state === 'hot' &&
    !blob.incompressible &&
    blob.size >= policy.minSize &&
    blob.lastAccess <= coldCutoff(now, policy)
  );
}

/** The blobs (in the given order) the sweeper should compress now. */
export function selectForCompression<T extends BlobHeat>(blobs: readonly T[], now: number, policy: HotColdPolicy): T[] {
  return blobs.filter((b) => shouldCompress(b, now, policy));
}

/** Whether a compressed form of `storedSize` bytes is worth keeping for `plainSize` plain bytes. */
export function compressionPaysOff(plainSize: number, storedSize: number, policy: Pick<HotColdPolicy, 'maxRatio'>): boolean {
  return storedSize <= plainSize * policy.maxRatio;
}

export interface SwapRepair {
  /** The form the blob is served from afterwards (null: nothing left to keep). */
  keep: StoredForm | null;
  /** Catalog correction, applied before any form is dropped. */
  catalog: Partial<Pick<BlobRecord, 'state' | 'codec' | 'storedSize'>> | null;
  /** Forms to delete, after the catalog points at `keep`. */
  drop: BlobLocation[];
}

function locationOf(f: StoredForm): BlobLocation {
  return { state: f.state, codec: f.codec };
}

/**
 * How to finish a swap between a blob's plain and compressed forms that a crash interrupted.
 * The catalog's word wins where the form it names is there and, for a compressed form, has the
 * size the catalog recorded (a compressed form is complete before the catalog names it; if the
 * sizes disagree it is in doubt and the plain form is safer). Otherwise the plain form wins, and
 * failing that any compressed form, and the catalog is corrected to match. A blob the catalog
 * no longer knows is left alone (that is fsck's business, not a swap's).
 */
export function planSwapRepair(row: Pick<BlobRecord, 'state' | 'codec' | 'size' | 'storedSize'> | undefined, found: readonly StoredForm[]): SwapRepair {
  if (!row || found.length === 0) return { keep: null, catalog: null, drop: [] };
  const plain = found.find((f) => f.state === 'hot');
  const named =
    row.state === 'hot'
      ? plain
      : found.find((f) => f.state === 'cold' && f.codec === row.codec && f.storedSize === row.storedSize);
  const keep = named ?? plain ?? found.find((f) => f.state === 'cold' && f.codec === row.codec) ?? (found[0] as StoredForm);
  const drop = found.filter((f) => f !== keep).map(locationOf);
  const agrees = keep.state === row.state && keep.codec === row.codec;
  const expectedStored = keep.state === 'hot' ? row.size : keep.storedSize;
  const catalog =
    agrees && row.storedSize === expectedStored
      ? null
      : { state: keep.state, codec: keep.state === 'hot' ? null : keep.codec, storedSize: expectedStored };
  return { keep, catalog, drop };
}

/**
 * A file's own heat, from its own reads and writes alone: cold once unread for the hot time and
 * big enough to be worth compressing. What a client is shown: its content's stored form is
 * shared with other namespaces' copies, so it moves with their reads (docs/hot-cold.md).
 */
export function fileHeat(file: { size: number; lastAccess: number }, now: number, policy: Pick<HotColdPolicy, 'hotTimeMs' | 'minSize'>): 'hot' | 'cold' {
  return file.size >= policy.minSize && file.lastAccess <= now - policy.hotTimeMs ? 'cold' : 'hot';
}
