import type { RunningServer } from '../../adapters/node/server.js';
import { releaseBlob } from '../../core/commit.js';

/** What `npm run admin -- purge` does, in-process: every version under `target` goes, orphaned blobs are freed. */
export async function purgeHistory(server: RunningServer, target: string): Promise<void> {
  const r = await server.catalog.purge(target);
  for (const sha of r.orphans) await releaseBlob(server.deps, sha);
}
