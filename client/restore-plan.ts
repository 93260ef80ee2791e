/**
 * The pure decisions of a restore: which local name a remote path gets, whether that name is
 * safe, and what to do with what is already on disk there.
 */
import { createHash } from 'node:crypto';
import { escapeWindowsName } from './windows-names.js';

/** One file of the remote tree, as `GET /api/files` lists it. */
export interface RemoteFile {
  path: string;
  size: number;
  sha256: string;
  /** The client's mtime (ms) when it sent one. */
  mtime: number | null;
  uploadedAt?: number;
  /** The version to download (history-aware servers); absent: download the current content. */
  version?: string;
}

/** Folder inside the target that holds partial downloads (so a cut restore can resume). */
export const PARTS_DIR = '.cb-restore-partial';

export type Placement =
  | { ok: true; remoteSegments: string[]; localSegments: string[]; escaped: boolean }
  | { ok: false; reason: string };

/**
 * Where `path` (below `prefix`, which ends in '/') goes locally, as segments under the target.
 * Never a name that could leave the target: a server is trusted for bytes, not for paths.
 */
export function placeRemotePath(path: string, prefix: string, windowsNames: boolean): Placement {
  if (!path.startsWith(prefix)) return { ok: false, reason: `not below ${prefix}` };
  const remoteSegments = path.slice(prefix.length).split('/');
  for (const s of remoteSegments) {
    if (s === '' || s === '.' || s === '..') return { ok: false, reason: 'empty, "." or ".." level in the path' };
    if (s.includes('\u0000')) return { ok: false, reason: 'NUL in a name' };
    // On POSIX a backslash is an ordinary character; on Windows escaping turns it into %5C.
  }
  if (remoteSegments[0] === PARTS_DIR) return { ok: false, reason: `${PARTS_DIR} is the name restore keeps partial downloads under` };
  const localSegments = windowsNames ? remoteSegments.map(escapeWindowsName) : remoteSegments;
  const escaped = localSegments.some((s, i) => s !== remoteSegments[i]);
  return { ok: true, remoteSegments, localSegments, escaped };
}

/** The key under which two local paths are the same file (case-folded where the file system folds case). */
export function collisionKey(localSegments: readonly string[], caseInsensitive: boolean): string {
  const joined = localSegments.join('/');
  return caseInsensitive ? joined.toLowerCase() : joined;
}

/** The partial file of one remote file's content: tied to path and content, so a resume never mixes versions. */
export function partName(remotePath: string, sha256: string): string {
  return `${createHash('sha256').update(`${remotePath}\n${sha256}`).digest('hex').slice(0, 32)}.part`;
}

/** The modification time the restored file gets: the client's, else the upload time, else none. */
export function targetMtime(f: RemoteFile): number | null {
  return f.mtime ?? f.uploadedAt ?? null;
}

/** What is at the local path now (`sha256` only once hashed: it is asked for when sizes agree). */
export type LocalState =
  | { kind: 'missing' }
  | { kind: 'file'; size: number; mtimeMs: number; sha256?: string }
  | { kind: 'directory' }
  | { kind: 'other'; what: string };

export type Action =
  | { kind: 'download'; replace: boolean }
  | { kind: 'hash' }
  | { kind: 'unchanged' }
  | { kind: 'set-mtime' }
  | { kind: 'refuse'; reason: string };

/** The decision for one file, given what is on disk. */
export function decide(remote: RemoteFile, local: LocalState, overwrite: boolean): Action {
  switch (local.kind) {
    case 'missing':
      return { kind: 'download', replace: false };
    case 'directory':
      return { kind: 'refuse', reason: 'a local folder has this name' };
    case 'other':
      return overwrite ? { kind: 'download', replace: true } : { kind: 'refuse', reason: `a ${local.what} has this name; not replaced without --overwrite` };
    case 'file': {
      if (local.size === remote.size) {
        if (local.sha256 === undefined) return { kind: 'hash' };
        if (local.sha256 === remote.sha256) {
          const mtime = targetMtime(remote);
          return mtime === null || Math.floor(local.mtimeMs) === mtime ? { kind: 'unchanged' } : { kind: 'set-mtime' };
        }
      }
      if (overwrite) return { kind: 'download', replace: true };
      const what = local.size === remote.size ? 'same size, other content' : `${local.size} bytes here, ${remote.size} in the backup`;
      return { kind: 'refuse', reason: `differs from the backup (${what}); not replaced without --overwrite` };
    }
  }
}

/**
 * Where a download starts given the partial file's size: 0 (from scratch), an offset to resume
 * from, or 'check' when the partial may already be whole (verify it before fetching anything).
 */
export function resumeOffset(partSize: number, size: number): number | 'check' {
  if (partSize === size) return 'check';
  return partSize < size ? partSize : 0;
}
