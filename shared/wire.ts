/**
 * The wire contract the server, the backup client and the page scripts share: the tus version,
 * how a path goes into a URL, and the JSON of files and versions. Pure and free of Node and DOM
 * types, so the server and client import it and the page scripts (handlers/browse/*.js) take its
 * types in their JSDoc; the scripts' own copies of the constants are checked against it by
 * test/unit/embedded-assets.test.ts.
 */

/** The tus protocol version spoken at /uploads/ (Tus-Resumable, Tus-Version). */
export const TUS_VERSION = '1.0.0';

/** Percent-encodes each segment (UTF-8) of a path for a /files/... URL; '/' stays the separator. */
export function encodePath(path: string): string {
  return path.split('/').map(encodeURIComponent).join('/');
}

/** One file in GET /api/files (and the other answers that show a file), as a client may see it. */
export interface FileJson {
  path: string;
  size: number;
  /** The client's modification time (X-File-Mtime), ms since the epoch; null when none was sent. */
  mtime: number | null;
  sha256: string;
  state: 'hot' | 'cold';
  storedSize: number;
  lastAccess: number;
  /** Server time of the upload of this version, ms since the epoch. */
  uploadedAt: number;
  version: string;
}

/** One entry of a file's history in GET /api/versions: a content version or a deletion. */
export interface VersionJson {
  version: string;
  sha256: string | null;
  size: number;
  mtime: number | null;
  uploadedAt: number;
  deleted: boolean;
}

/** A file of a ?at= or ?deleted=true listing. */
export interface HistoryFileJson {
  path: string;
  size: number;
  mtime: number | null;
  sha256: string;
  uploadedAt: number;
  version: string;
  /** In ?deleted=true listings: when it was deleted. */
  deletedAt?: number;
}

/** A page of any cursor-paged listing. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}
