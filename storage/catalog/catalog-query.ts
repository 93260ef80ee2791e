import { BadRequestError } from '../../core/errors.js';

/**
 * Query pieces both catalogs (SQLite and PostgreSQL) share, so that their LIKE patterns and
 * listing cursors mean exactly the same thing.
 */

/** Parent folders of a full path, nearest last: 'a/b/c.txt' -> ['a', 'a/b']. */
export function ancestorsOf(path: string): string[] {
  const out: string[] = [];
  for (let i = path.indexOf('/'); i >= 0; i = path.indexOf('/', i + 1)) out.push(path.slice(0, i));
  return out;
}

/** 'a/b/c.txt' -> 'a/b'; a namespace's parent is ''. */
export function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

/** 'alice/b/c.txt' -> 'alice'. */
export function namespaceOf(path: string): string {
  const i = path.indexOf('/');
  return i < 0 ? path : path.slice(0, i);
}

/** 'a/b/c.txt' -> 'c.txt'. */
export function nameOf(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** Escapes LIKE wildcards so a user's prefix matches literally (ESCAPE '\'). */
export function likePrefix(prefix: string): string {
  return prefix.replace(/[\\%_]/g, (c) => `\\${c}`) + '%';
}

/**
 * The smallest string above every string that starts with `prefix` (last code point + 1), or
 * null when there is none to give. `path >= prefix AND path < prefixEnd(prefix)` selects the
 * prefix exactly and case-sensitively, on the path index: SQLite's LIKE is case-insensitive
 * for ASCII and cannot use a BINARY index, so LIKE alone scans every file.
 */
export function prefixEnd(prefix: string): string | null {
  const chars = Array.from(prefix);
  const last = chars.pop();
  if (last === undefined) return null;
  const next = (last.codePointAt(0) as number) + 1;
  if (next > 0x10ffff || (next >= 0xd800 && next <= 0xdfff)) return null;
  return chars.join('') + String.fromCodePoint(next);
}

/** A LIKE pattern matching names that contain `text` literally (ESCAPE '\'). */
export function likeContains(text: string): string {
  return '%' + likePrefix(text);
}

/** listDir position: [sort key, name] of the last file shown. */
export type DirFileCursor = [string | number | null, string];
/** listDir pages folders first: this cursor means "after this folder", files not started yet. */
export type DirFolderCursor = { d: string };

export function encodeDirCursor(c: DirFileCursor | DirFolderCursor): string {
  return Buffer.from(JSON.stringify(c)).toString('base64url');
}

/** Parses a cursor from a URL; anything else is a BadRequestError. */
export function decodeDirCursor(s: string): DirFileCursor | DirFolderCursor {
  try {
    const v: unknown = JSON.parse(Buffer.from(s, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[1] === 'string') {
      const k: unknown = v[0];
      if (k === null || typeof k === 'string' || typeof k === 'number') return [k, v[1]];
    }
    if (v !== null && typeof v === 'object' && !Array.isArray(v) && typeof (v as DirFolderCursor).d === 'string') {
      return { d: (v as DirFolderCursor).d };
    }
  } catch {
    // fall through
  }
  throw new BadRequestError('invalid cursor');
}
