import type { Dirent } from 'node:fs';
import { lstat, opendir } from 'node:fs/promises';
import { pathApi, type PathFlavor } from './remote-path.js';

export type ScanEntry =
  | { kind: 'file'; segments: string[]; abs: string; size: number; mtimeMs: number }
  /** Not followed / not a regular file: reported so the user knows it is not backed up. */
  | { kind: 'skipped'; segments: string[]; abs: string; reason: 'symlink' | 'special' }
  /** Could not be listed or examined now (EACCES, EBUSY, EPERM...): tried again next pass. */
  | { kind: 'error'; segments: string[]; abs: string; code: string; message: string };

export interface ScanOptions {
  flavor: PathFlavor;
  /** Paths never reported, e.g. the client's own state DB when it lies inside the folder. */
  ignore?: (abs: string) => boolean;
}

/** Vanished between listing and looking: a deleted file is simply no longer there to back up. */
function vanished(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function errorEntry(segments: string[], abs: string, err: unknown): ScanEntry {
  const e = err as NodeJS.ErrnoException;
  return { kind: 'error', segments, abs, code: e.code ?? 'EUNKNOWN', message: e.message };
}

/** Files stat'ed at once: a rescan of 100k unchanged files is mostly waiting for lstat. */
const STAT_BATCH = 64;

async function* statBatch(files: { abs: string; segments: string[] }[]): AsyncGenerator<ScanEntry> {
  const stats = await Promise.all(files.map((f) => lstat(f.abs).catch((err: unknown) => err as NodeJS.ErrnoException)));
  for (let i = 0; i < files.length; i++) {
    const { abs, segments } = files[i] as { abs: string; segments: string[] };
    const st = stats[i];
    if (st instanceof Error) {
      if (!vanished(st)) yield errorEntry(segments, abs, st);
    } else if (st?.isFile()) {
      yield { kind: 'file', segments, abs, size: st.size, mtimeMs: st.mtimeMs };
    }
  }
}

/**
 * Walks `root` depth-first as a stream of entries: only the directories still to visit are held
 * in memory, never the list of all files, so a tree of 100k+ files costs little. Symlinks are
 * reported and not followed (no loops, nothing outside the folder).
 */
export async function* scanTree(root: string, options: ScanOptions): AsyncGenerator<ScanEntry> {
  const api = pathApi(options.flavor);
  const pending: { abs: string; segments: string[] }[] = [{ abs: root, segments: [] }];
  while (pending.length > 0) {
    const dir = pending.pop() as { abs: string; segments: string[] };
    let handle: AsyncIterable<Dirent>;
    try {
      handle = await opendir(dir.abs, { bufferSize: 64 });
    } catch (err) {
      if (dir.segments.length > 0 && vanished(err)) continue;
      yield errorEntry(dir.segments, dir.abs, err);
      continue;
    }
    const subdirs: { abs: string; segments: string[] }[] = [];
    let files: { abs: string; segments: string[] }[] = [];
    try {
      for await (const d of handle) {
        const abs = api.join(dir.abs, d.name);
        const segments = [...dir.segments, d.name];
        if (options.ignore?.(abs)) continue;
        if (d.isSymbolicLink()) {
          yield { kind: 'skipped', segments, abs, reason: 'symlink' };
        } else if (d.isDirectory()) {
          subdirs.push({ abs, segments });
        } else if (d.isFile()) {
          files.push({ abs, segments });
          if (files.length >= STAT_BATCH) {
            yield* statBatch(files);
            files = [];
          }
        } else {
          yield { kind: 'skipped', segments, abs, reason: 'special' };
        }
      }
      yield* statBatch(files);
    } catch (err) {
      // The listing broke off half way (a removed or locked directory): report, keep the rest.
      if (!vanished(err)) yield errorEntry(dir.segments, dir.abs, err);
    }
    // Reversed so that the stack visits them in listing order.
    for (let i = subdirs.length - 1; i >= 0; i--) pending.push(subdirs[i] as { abs: string; segments: string[] });
  }
}

/** Stats one path found by the watcher: the same entry kinds as the walk, or undefined if gone. */
export async function examine(abs: string, segments: string[]): Promise<ScanEntry | 'directory' | undefined> {
  try {
    const st = await lstat(abs);
    if (st.isSymbolicLink()) return { kind: 'skipped', segments, abs, reason: 'symlink' };
    if (st.isDirectory()) return 'directory';
    if (st.isFile()) return { kind: 'file', segments, abs, size: st.size, mtimeMs: st.mtimeMs };
    return { kind: 'skipped', segments, abs, reason: 'special' };
  } catch (err) {
    return vanished(err) ? undefined : errorEntry(segments, abs, err);
  }
}
