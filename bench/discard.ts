/**
 * Deleting a big tree between rows slows the rows after it: on ext4 without a journal (this
 * box's disk), a new inode is never one freed in the last 60 s (6 min while its inode table
 * block is not yet written back), and the allocator looks at each of them in turn, so after 100k files are
 * deleted every file created takes ~10x longer for minutes (perf: `recently_deleted` in
 * `__ext4_new_inode`). Rows therefore set what they are done with aside with a rename (no inode
 * is freed), and everything set aside is deleted once the run is over.
 */
import { rmSync } from 'node:fs';
import { rename, rm } from 'node:fs/promises';

const setAside: string[] = [];
let seq = 0;

/** Moves `path` out of the way (a sibling name), to be deleted by `deleteDiscarded`; missing is fine. */
export async function discard(path: string): Promise<void> {
  const to = `${path}.discarded-${process.pid}-${seq++}`;
  try {
    await rename(path, to);
    setAside.push(to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return;
    // Not renamable (another filesystem, a busy mount): deleted now after all.
    await rm(path, { recursive: true, force: true });
  }
}

/** Deletes everything discarded so far (at the end of the run, when nothing is timed any more). */
export function deleteDiscarded(): void {
  for (const p of setAside.splice(0)) rmSync(p, { recursive: true, force: true });
}
