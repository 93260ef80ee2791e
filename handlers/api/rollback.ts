import type { FileEntry } from '../../storage/catalog/catalog.js';
import { NotFoundError } from '../../core/errors.js';
import { linkFile } from '../../core/commit.js';
import type { AppDeps } from '../../core/deps.js';

const PAGE = 500;

export interface RollbackReport {
  /** Paths given back the content they had at the moment (changed or deleted since). */
  restored: number;
  /** Paths created since, now deleted. */
  deleted: number;
  unchanged: number;
  /** Paths whose old content was pruned meanwhile. */
  failed: number;
}

/** Every entry of a listing, in path order, a page at a time. */
async function* walk(deps: AppDeps, prefix: string, at: number | undefined): AsyncGenerator<FileEntry> {
  let after: string | undefined;
  for (;;) {
    const page = await deps.catalog.listFiles({ prefix, limit: PAGE, after, at });
    yield* page;
    const last = page[page.length - 1];
    if (page.length < PAGE || !last) return;
    after = last.path;
  }
}

/**
 * Rolls the folder under `prefix` back to moment `at`: a merge of the tree then and the tree
 * now (both sorted by path). Each change is a new version (content re-linked by SHA-256, no
 * bytes copied) or a deletion, so nothing is lost and the rollback itself can be undone. A
 * rollback cut short leaves a mix of both moments, each path whole; running it again finishes it.
 */
export async function rollbackFolder(deps: AppDeps, prefix: string, at: number): Promise<RollbackReport> {
  const report: RollbackReport = { restored: 0, deleted: 0, unchanged: 0, failed: 0 };
  const past = walk(deps, prefix, at);
  const now = walk(deps, prefix, undefined);
  let p = await past.next();
  let n = await now.next();
  while (!p.done || !n.done) {
    const then = p.done ? undefined : p.value;
    const current = n.done ? undefined : n.value;
    if (then && (!current || then.path < current.path)) {
      await restoreEntry(deps, then, report);
      p = await past.next();
    } else if (current && (!then || current.path < then.path)) {
      if (await deps.catalog.deleteFile(current.path, deps.clock())) report.deleted++;
      n = await now.next();
    } else if (then && current) {
      if (then.sha256 === current.sha256 && then.mtime === current.mtime) report.unchanged++;
      else await restoreEntry(deps, then, report);
      p = await past.next();
      n = await now.next();
    }
  }
  return report;
}

async function restoreEntry(deps: AppDeps, e: FileEntry, report: RollbackReport): Promise<void> {
  try {
    await linkFile(deps, { path: e.path, sha256: e.sha256, size: e.size, mtime: e.mtime, quota: 'exempt' });
    report.restored++;
  } catch (err) {
    if (!(err instanceof NotFoundError)) throw err;
    report.failed++;
  }
}
