import type { Catalog } from '../../storage/catalog/catalog.js';
import type { ServerConfig } from './config.js';
import { openBackends } from './backends.js';
import { liveServerPid } from './pid-file.js';

/**
 * The admin's history commands: `purge` (the only way to destroy history before retention
 * does) and `resume-prune` (lifts a ransomware-guard hold); `status` is in status-command.ts.
 */

function mib(bytes: number): string {
  return `${(bytes / 1024 ** 2).toFixed(1)} MiB`;
}

/** Removes every version of a path, or of every path under a prefix ending in '/'; frees blobs nothing references. */
export async function purgeCommand(config: ServerConfig, target: string): Promise<number> {
  if (!/^[^/]+\/./.test(target)) {
    console.error('purge needs <namespace>/<path> or <namespace>/<folder>/ (a trailing / purges the whole folder)');
    return 2;
  }
  // With the SQLite catalog the blob locks live inside the server process: a purge beside it
  // could free a blob at the moment an upload of the same content relies on it. PostgreSQL's
  // locks are shared by every process, so there a purge runs beside live servers.
  const pid = config.databaseUrl ? undefined : await liveServerPid(config.dataDir);
  if (pid !== undefined) {
    console.error(
      `purge: a server (pid ${pid}) is running on ${config.dataDir}: stop it, purge, then start it again ` +
        '(with the SQLite catalog a purge beside a live server could free a blob an upload is relying on); nothing was purged',
    );
    return 2;
  }
  const backends = await openBackends(config, () => {});
  try {
    const { catalog, blobs, locks } = backends;
    const r = await catalog.purge(target);
    let freed = 0;
    let freedBytes = 0;
    for (const sha of r.orphans) {
      // Under the blob lock, as the server frees blobs: a commit of the same content waits.
      await locks.run(sha, async () => {
        const row = await catalog.getBlob(sha);
        if (row && (await catalog.deleteBlobIfUnreferenced(sha))) {
          await blobs.delete(sha);
          freed++;
          freedBytes += row.storedSize;
        }
      });
    }
    if (r.paths === 0) {
      console.error(`nothing to purge: no history under ${target}`);
      return 1;
    }
    console.log(`purged ${r.paths} path(s), ${r.versions} version(s); freed ${freed} blob(s), ${mib(freedBytes)} of storage`);
    return 0;
  } finally {
    await backends.close();
  }
}

export async function resumePruneCommand(catalog: Catalog, namespace: string): Promise<number> {
  if (!(await catalog.resumePruning(namespace, Date.now()))) {
    console.error(`pruning of ${namespace} is not held`);
    return 1;
  }
  console.log(`pruning of ${namespace} resumes at the next sweep; changes before now no longer count for the guard`);
  return 0;
}
