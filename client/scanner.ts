import { lstatSync, opendirSync, type Dir, type Dirent } from 'node:fs';
import { lstat } from 'node:fs/promises';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { decodeName, displayBytes, displayName } from './display-name.js';
import { compileRules, extendChain, isExcluded, readIgnoreFile, type RuleChain } from './ignore-rules.js';
import { pathApi, type PathFlavor } from './remote-path.js';
import { isGoneError } from './errors.js';

export type ScanEntry =
  | { kind: 'file'; segments: string[]; abs: string; size: number; mtimeMs: number }
  /** Not followed / not a regular file: reported so the user knows it is not backed up. */
  | { kind: 'skipped'; segments: string[]; abs: string; reason: 'symlink' | 'special' }
  /** Could not be listed or examined now (EACCES, EBUSY, EPERM...): tried again next pass. */
  | { kind: 'error'; segments: string[]; abs: string; code: string; message: string }
  /** Left out by --exclude or a .cbignore (a folder: not entered). */
  | { kind: 'excluded'; segments: string[]; abs: string; dir: boolean }
  /** A name that is not UTF-8: the server cannot store it. `shown` is the path, escaped for output. */
  | { kind: 'badname'; segments: string[]; shown: string; dir: boolean };

export interface ScanOptions {
  flavor: PathFlavor;
  /** Paths never reported, e.g. the client's own state DB when it lies inside the folder. */
  ignore?: (abs: string) => boolean;
  /** Rules from --exclude (relative to the backed-up folder); .cbignore files add to them. */
  rules?: RuleChain;
}

interface Pending {
  abs: string;
  segments: string[];
  chain: RuleChain;
}

/** Vanished between listing and looking: a deleted file is simply no longer there to back up. */
const vanished = isGoneError;

function errorEntry(segments: string[], abs: string, err: unknown): ScanEntry {
  const e = err as NodeJS.ErrnoException;
  return { kind: 'error', segments, abs, code: e.code ?? 'EUNKNOWN', message: e.message };
}

/**
 * Entries looked at between two turns of the event loop. The walk's system calls are synchronous
 * (a sync lstat costs ~7 us of main-thread CPU where a promise one costs ~50 us on a slow VM), so
 * it yields now and then to keep timers, sockets and uploads in flight going.
 */
export const SCAN_ENTRIES_PER_TURN = 256;

/** A listed regular file as the walk reports it: lstat'ed now (vanished meanwhile: nothing). */
function fileEntry(abs: string, segments: string[]): ScanEntry | undefined {
  try {
    const st = lstatSync(abs, { throwIfNoEntry: false });
    if (st?.isFile()) return { kind: 'file', segments, abs, size: st.size, mtimeMs: st.mtimeMs };
    return undefined;
  } catch (err) {
    return vanished(err) ? undefined : errorEntry(segments, abs, err);
  }
}

/**
 * Walks `root` depth-first as a stream of entries: only the directories still to visit are held
 * in memory, never the list of all files (a directory is read a few hundred names at a time), so
 * a tree of 100k+ files costs little. Symlinks are reported and not followed (no loops, nothing
 * outside the folder).
 */
export async function* scanTree(root: string, options: ScanOptions, base: readonly string[] = []): AsyncGenerator<ScanEntry> {
  const api = pathApi(options.flavor);
  const pending: Pending[] = [{ abs: root, segments: [...base], chain: options.rules ?? [] }];
  let looked = 0;
  while (pending.length > 0) {
    const dir = pending.pop() as Pending;
    let handle: Dir;
    try {
      // Names as bytes: a name that is not UTF-8 would otherwise arrive with U+FFFD in it.
      // (Node's types know only string encodings here; 'buffer' works since Node 12.)
      handle = opendirSync(dir.abs, { bufferSize: 256, encoding: 'buffer' as BufferEncoding });
    } catch (err) {
      if (dir.segments.length > base.length && vanished(err)) continue;
      yield errorEntry(dir.segments, dir.abs, err);
      continue;
    }
    const subdirs: Pending[] = [];
    try {
      const chain = extendChain(dir.chain, dir.segments.length, compileRules(readIgnoreFile(dir.abs, api.join)));
      for (let d = handle.readSync() as Dirent<Buffer> | null; d !== null; d = handle.readSync() as Dirent<Buffer> | null) {
        if (++looked % SCAN_ENTRIES_PER_TURN === 0) await nextTurn();
        const name = decodeName(d.name);
        if (name === undefined) {
          const shown = [...dir.segments.map(displayName), displayBytes(d.name)].join('/');
          yield { kind: 'badname', segments: dir.segments, shown, dir: d.isDirectory() };
          continue;
        }
        const abs = api.join(dir.abs, name);
        const segments = [...dir.segments, name];
        if (options.ignore?.(abs)) continue;
        if (!d.isSymbolicLink() && isExcluded(chain, segments, d.isDirectory())) {
          yield { kind: 'excluded', segments, abs, dir: d.isDirectory() };
          continue;
        }
        if (d.isSymbolicLink()) {
          yield { kind: 'skipped', segments, abs, reason: 'symlink' };
        } else if (d.isDirectory()) {
          subdirs.push({ abs, segments, chain });
        } else if (d.isFile()) {
          const e = fileEntry(abs, segments);
          if (e) yield e;
        } else {
          yield { kind: 'skipped', segments, abs, reason: 'special' };
        }
      }
    } catch (err) {
      // The listing broke off half way (a removed or locked directory): report, keep the rest.
      if (!vanished(err)) yield errorEntry(dir.segments, dir.abs, err);
    } finally {
      handle.closeSync();
    }
    // Reversed so that the stack visits them in listing order.
    for (let i = subdirs.length - 1; i >= 0; i--) pending.push(subdirs[i] as Pending);
  }
}

/**
 * The rules that apply to a path the watcher reported, read from the .cbignore files of the
 * folders above it, or 'excluded' when the path or one of those folders is left out.
 */
export async function rulesAt(root: string, segments: readonly string[], options: ScanOptions): Promise<RuleChain | 'excluded'> {
  const api = pathApi(options.flavor);
  let chain = options.rules ?? [];
  let abs = root;
  for (let depth = 0; depth < segments.length; depth++) {
    chain = extendChain(chain, depth, compileRules(readIgnoreFile(abs, api.join)));
    const here = segments.slice(0, depth + 1);
    const isDir = depth < segments.length - 1;
    if (isDir && isExcluded(chain, here, true)) return 'excluded';
    abs = api.join(abs, segments[depth] as string);
  }
  return chain;
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
