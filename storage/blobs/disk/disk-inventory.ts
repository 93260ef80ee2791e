import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { basename, join, relative, sep } from 'node:path';
import type { BlobLocation, StoreArea, StoreEntry, StoreInventory } from '../blob-store.js';
import { codecOfSuffix } from '../../hot-cold/codec.js';
import type { DiskBlobForms } from './disk-blob-forms.js';
import { parseFormName } from '../../fsck/fsck.js';

export interface DiskInventoryOptions {
  /** The data directory: blobs/, tmp/, uploads/ and quarantine/ below it. */
  root: string;
  forms: DiskBlobForms;
}

const AREA_DIR: Record<StoreArea, string> = { blobs: 'blobs', tmp: 'tmp', parts: 'uploads', quarantine: 'quarantine' };
const LEVEL = /^[0-9a-f]{2}$/;

/** The disk store's contents for fsck: directory listings, one folder at a time, sorted. */
export class DiskInventory implements StoreInventory {
  constructor(readonly options: DiskInventoryOptions) {}

  async *list(area: StoreArea): AsyncIterable<StoreEntry> {
    const dir = join(this.options.root, AREA_DIR[area]);
    if (area === 'blobs') {
      yield* this.#walkBlobTree(dir);
      return;
    }
    for (const name of await listDir(dir)) {
      const location = join(dir, name);
      const st = await stat(location).catch(() => undefined);
      if (!st) continue;
      yield { location, size: st.size, modifiedAt: st.mtimeMs, ...(area === 'parts' ? { partId: name } : {}) };
    }
  }

  /**
   * The blob tree `ab/cd/<name>` in SHA-256 order. Anything that is not a stored form where it
   * belongs (a misplaced blob, a folder of the wrong name, a note) is listed as a stray.
   */
  async *#walkBlobTree(blobDir: string): AsyncGenerator<StoreEntry> {
    const stray = async (location: string): Promise<StoreEntry | undefined> => {
      const st = await stat(location).catch(() => undefined);
      return st && { location, size: st.size, modifiedAt: st.mtimeMs };
    };
    for (const l1 of await listDir(blobDir)) {
      const d1 = join(blobDir, l1);
      if (!LEVEL.test(l1) || !(await isDir(d1))) {
        const s = await stray(d1);
        if (s) yield s;
        continue;
      }
      for (const l2 of await listDir(d1)) {
        const d2 = join(d1, l2);
        if (!LEVEL.test(l2) || !(await isDir(d2))) {
          const s = await stray(d2);
          if (s) yield s;
          continue;
        }
        for (const name of await listDir(d2)) {
          const location = join(d2, name);
          const parsed = parseFormName(l1, l2, name, codecOfSuffix);
          const st = await stat(location).catch(() => undefined);
          if (!st) continue;
          const where: BlobLocation | undefined = parsed && (parsed.codec === null ? { state: 'hot', codec: null } : { state: 'cold', codec: parsed.codec });
          if (!parsed || !where || !st.isFile()) yield { location, size: st.size, modifiedAt: st.mtimeMs };
          else yield { location, size: st.size, modifiedAt: st.mtimeMs, form: { sha256: parsed.sha256, ...where } };
        }
      }
    }
  }

  hash(sha256: string, where: BlobLocation): Promise<{ sha256: string; size: number } | { unreadable: string }> {
    return this.options.forms.hash(sha256, where);
  }

  async quarantineEntry(location: string): Promise<void> {
    this.#inside(location);
    const dir = join(this.options.root, AREA_DIR.quarantine);
    await mkdir(dir, { recursive: true });
    await rename(location, join(dir, `${Date.now()}-${basename(location)}`));
  }

  async removeEntry(location: string): Promise<void> {
    this.#inside(location);
    await rm(location, { force: true, recursive: true });
  }

  /** Only entries of the areas above: a location from anywhere else is refused, never touched. */
  #inside(location: string): void {
    const rel = relative(this.options.root, location);
    const top = rel.split(sep)[0] ?? '';
    if (rel.startsWith('..') || !Object.values(AREA_DIR).includes(top) || rel === top) throw new Error(`${location} is not an entry of this store`);
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

async function isDir(path: string): Promise<boolean> {
  return (await stat(path).catch(() => undefined))?.isDirectory() ?? false;
}
