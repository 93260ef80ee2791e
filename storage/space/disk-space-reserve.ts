import { statSync } from 'node:fs';
import { open, rename, rm, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { isOutOfSpace } from '../../core/errors.js';
import { canRestore, type SpaceReserve } from './space-reserve.js';

const CHUNK = 1 << 20;

/**
 * The reserve as one file of real (not sparse) blocks in the data directory, `space-reserve`.
 * Written under a temporary name and renamed, so a crash never leaves a short reserve that
 * looks whole; deleting it frees its blocks at once.
 */
export class DiskSpaceReserve implements SpaceReserve {
  readonly file: string;

  constructor(
    readonly dataDir: string,
    readonly bytes: number,
  ) {
    this.file = join(dataDir, 'space-reserve');
  }

  /** Asked before every upload: a direct stat (no thread-pool round trip, no error object when missing). */
  async held(): Promise<boolean> {
    try {
      return statSync(this.file, { throwIfNoEntry: false })?.size === this.bytes;
    } catch {
      return false;
    }
  }

  async release(): Promise<boolean> {
    if (!(await this.held())) return false;
    await rm(this.file, { force: true });
    return true;
  }

  async restore(): Promise<boolean> {
    if (this.bytes === 0) return false;
    if (await this.held()) return true;
    const fs = await statfs(this.dataDir);
    if (!canRestore(fs.bavail * fs.bsize, this.bytes)) return false;
    const temp = `${this.file}.tmp`;
    const fh = await open(temp, 'w');
    try {
      const zeros = Buffer.alloc(CHUNK);
      for (let written = 0; written < this.bytes; written += CHUNK) {
        await fh.write(zeros, 0, Math.min(CHUNK, this.bytes - written));
      }
      await fh.sync();
      await fh.close();
      await rename(temp, this.file);
      return true;
    } catch (err) {
      await fh.close().catch(() => {});
      await rm(temp, { force: true });
      if (isOutOfSpace(err)) return false;
      throw err;
    }
  }
}
