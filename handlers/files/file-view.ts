import type { Catalog, DirListing, FileEntry, Stats } from '../../storage/catalog/catalog.js';
import { DEFAULT_MIN_SIZE, fileHeat } from '../../storage/hot-cold/hot-cold-policy.js';
import type { FileJson } from '../../shared/wire.js';
import type { Principal } from '../auth.js';
import type { AppDeps } from '../../core/deps.js';

/**
 * What a client is shown of where its files' bytes sit. Content is stored once for every
 * namespace that holds it, so the blob's stored form (hot or cold, stored size) moves with other
 * clients' reads: a client shown it could watch another read the same content. An admin runs the
 * store and sees the stored form; every other client sees its own file: `state` is the file's
 * own heat (cold once unread by this file's reads for the hot time) and `storedSize` its size.
 * `lastAccess` is the file's own for everybody (storage/catalog/catalog.ts).
 */
export interface Viewer {
  admin: boolean;
  now: number;
  hotTimeMs: number;
}

export function viewerOf(principal: Principal, deps: Pick<AppDeps, 'clock' | 'config'>): Viewer {
  return { admin: principal.admin, now: deps.clock(), hotTimeMs: deps.config.hotTimeMs };
}

/** The entry as `viewer` may see it. */
export function asSeenBy(viewer: Viewer, e: FileEntry): FileEntry {
  if (viewer.admin) return e;
  const state = fileHeat(e, viewer.now, { hotTimeMs: viewer.hotTimeMs, minSize: DEFAULT_MIN_SIZE });
  return { ...e, state, codec: null, storedSize: e.size };
}

export function listingSeenBy(viewer: Viewer, listing: DirListing): DirListing {
  return viewer.admin ? listing : { ...listing, files: listing.files.map((f) => asSeenBy(viewer, f)) };
}

/**
 * Totals of `namespace` (everything when undefined, admins only) as `viewer` may see them: a
 * client's hot / cold count its own files' heat, and nothing is shown saved by compression.
 */
export async function statsSeenBy(viewer: Viewer, catalog: Catalog, namespace: string | undefined): Promise<Stats> {
  const stats = await catalog.stats(namespace);
  if (viewer.admin || namespace === undefined) return stats;
  const heat = await catalog.countFileHeat(namespace, viewer.now - viewer.hotTimeMs, DEFAULT_MIN_SIZE);
  return { ...stats, storedBytes: stats.blobBytes, hot: heat.hot, cold: heat.cold };
}

/** The JSON shape of a file in every API answer, as `viewer` may see it. */
export function fileJson(viewer: Viewer, entry: FileEntry): FileJson {
  const e = asSeenBy(viewer, entry);
  return {
    path: e.path,
    size: e.size,
    mtime: e.mtime,
    sha256: e.sha256,
    state: e.state,
    storedSize: e.storedSize,
    lastAccess: e.lastAccess,
    uploadedAt: e.uploadedAt,
    version: e.version,
  };
}
