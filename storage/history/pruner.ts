import type { Catalog } from '../catalog/catalog.js';
import { prunableVersions, type RetentionPolicy } from './retention.js';

/**
 * Applies retention (storage/history/retention.ts) to the history, a bounded number of paths per run
 * (the next run goes on where this one stopped), with the ransomware guard in front: a
 * namespace where many files were overwritten or deleted lately is not pruned at all until an
 * admin resumes it, so a client encrypting or wiping its files cannot age its history out.
 */

export interface RansomwareGuard {
  /** How far back changes count (default 1 h). */
  windowMs: number;
  /** At least this many changed paths (default 100)... */
  minChanged: number;
  /** ...and more than this share of the namespace's files (default 0.3). */
  ratio: number;
}

export const DEFAULT_GUARD: RansomwareGuard = { windowMs: 3600_000, minChanged: 100, ratio: 0.3 };

export interface PrunerOptions {
  catalog: Catalog;
  clock: () => number;
  policy: RetentionPolicy;
  /** Frees a blob no version references any more (the adapter passes handlers' releaseBlob). */
  release: (sha256: string) => Promise<void>;
  log: (line: string) => void;
  guard?: RansomwareGuard;
  /** Paths looked at per run (default 5000). */
  pathsPerRun?: number;
}

export interface PruneReport {
  paths: number;
  versions: number;
  blobs: number;
  /** Namespaces skipped because the guard holds them. */
  held: string[];
}

const PAGE = 500;

export class Pruner {
  #cursor: string | undefined;
  readonly #o: PrunerOptions;

  constructor(options: PrunerOptions) {
    this.#o = options;
  }

  /** Whether the guard holds `namespace` now (checking, and holding it, when it should). */
  async isHeld(namespace: string, now: number): Promise<boolean> {
    const { catalog } = this.#o;
    const guard = this.#o.guard ?? DEFAULT_GUARD;
    const hold = await catalog.getPruneHold(namespace);
    if (hold?.heldSince != null) return true;
    const since = Math.max(now - guard.windowMs, hold?.resumedAt ?? 0);
    const { changed, total } = await catalog.recentChanges(namespace, since);
    if (changed < guard.minChanged || changed <= guard.ratio * total) return false;
    const reason = `${changed} of ${total} files overwritten or deleted within ${Math.round(guard.windowMs / 60_000)} min`;
    await catalog.holdPruning(namespace, now, reason);
    this.#o.log(
      `RANSOMWARE GUARD: pruning of namespace ${namespace} is stopped (${reason}); its history is kept whole. ` +
        `Check the client, then: npm run admin -- resume-prune ${namespace}`,
    );
    return true;
  }

  async pruneOnce(): Promise<PruneReport> {
    const { catalog, policy } = this.#o;
    const now = this.#o.clock();
    const report: PruneReport = { paths: 0, versions: 0, blobs: 0, held: [] };
    const verdicts = new Map<string, boolean>();
    const limit = this.#o.pathsPerRun ?? 5000;
    let seen = 0;
    while (seen < limit) {
      const page = await catalog.listHistory({ after: this.#cursor, limit: PAGE });
      for (const { path, versions } of page) {
        const ns = path.split('/')[0] ?? '';
        if (!verdicts.has(ns)) verdicts.set(ns, await this.isHeld(ns, now));
        if (verdicts.get(ns)) continue;
        const doomed = prunableVersions(versions, now, policy);
        if (!doomed.length) continue;
        const { removed, orphans } = await catalog.deleteVersions(path, doomed);
        if (removed > 0) report.paths++;
        report.versions += removed;
        for (const sha of orphans) {
          await this.#o.release(sha);
          report.blobs++;
        }
      }
      seen += page.length;
      const last = page[page.length - 1];
      this.#cursor = page.length < PAGE || !last ? undefined : last.path;
      if (this.#cursor === undefined) break;
    }
    report.held = [...verdicts].filter(([, held]) => held).map(([ns]) => ns);
    if (report.versions > 0) this.#o.log(`prune: removed ${report.versions} old version(s) of ${report.paths} path(s), freed ${report.blobs} blob(s)`);
    return report;
  }
}
