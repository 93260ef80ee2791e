import path from 'node:path';
import { UsageError } from './errors.js';

/** Which path rules a local folder follows. */
export type PathFlavor = 'win32' | 'posix';

/**
 * Windows rules for `C:\...`, `\\server\share` and `\\?\C:\...` folders (or on Windows itself),
 * POSIX rules otherwise: the folder string decides, so a Windows path maps the same everywhere.
 */
export function pathFlavor(folder: string, platform: NodeJS.Platform = process.platform): PathFlavor {
  if (platform === 'win32' || /^[A-Za-z]:([\\/]|$)/.test(folder) || folder.startsWith('\\\\')) return 'win32';
  return 'posix';
}

export function pathApi(flavor: PathFlavor): path.PlatformPath {
  return flavor === 'win32' ? path.win32 : path.posix;
}

/**
 * The names from `root` down to `file`, exactly as the file system spells them (no case folding,
 * no Unicode normalisation, trailing dots and spaces kept); undefined when `file` is not below
 * `root` (another drive, `..`, the root itself).
 */
export function relativeSegments(root: string, file: string, flavor: PathFlavor): string[] | undefined {
  const api = pathApi(flavor);
  const rel = api.relative(root, file);
  if (rel === '' || api.isAbsolute(rel)) return undefined;
  const segments = rel.split(flavor === 'win32' ? /[\\/]/ : '/');
  if (segments.some((s) => s === '..' || s === '')) return undefined;
  return segments;
}

/** The key a file has in the state DB and the tail of its remote path: names joined by '/'. */
export function relativeKey(segments: readonly string[]): string {
  return segments.join('/');
}

/**
 * `--prefix` as segments. '' means "straight under the namespace"; '/' or '\' separate levels
 * (a user on Windows may well type `laptop\Documents`).
 */
export function parsePrefix(prefix: string): string[] {
  if (prefix === '') return [];
  const segments = prefix.split(/[\\/]/);
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') {
      throw new UsageError(`--prefix "${prefix}": empty, "." and ".." levels are not allowed`);
    }
  }
  return segments;
}

/** The default `--prefix`: the folder's own name. A drive or file-system root has none. */
export function defaultPrefix(folder: string, flavor: PathFlavor): string {
  const name = pathApi(flavor).basename(folder);
  if (name === '') {
    throw new UsageError(`"${folder}" is a root and has no name of its own: pass --prefix NAME`);
  }
  return name;
}

/** `NAME/PREFIX/relative/path`: the file's path on the server. */
export function remotePath(namespace: string, prefix: readonly string[], relative: readonly string[]): string {
  return [namespace, ...prefix, ...relative].join('/');
}

/** Percent-encodes each segment (UTF-8) for a `/files/...` URL: the wire contract's encoding. */
export { encodePath as encodeRemotePath } from '../shared/wire.js';
