import type { DirListing, DirSort, FileEntry } from '../../storage/catalog/catalog.js';
import { BadRequestError } from '../../core/errors.js';
import { fileJson, type Viewer } from '../files/file-view.js';

/** Rows per page, HTML and JSON alike: small enough to render fast, large enough to scroll. */
export const PAGE_SIZE = 200;
/** Longest filter text accepted (a name is at most 255 bytes anyway). */
export const MAX_FILTER_CHARS = 255;
const MAX_CURSOR_CHARS = 2048;
const SORTS: readonly DirSort[] = ['name', 'size', 'mtime', 'uploaded'];

export interface ListingParams {
  sort: DirSort;
  descending: boolean;
  /** Name filter ('' = none). */
  q: string;
  cursor?: string;
}

/** Validates the query string of a listing: ?sort=&order=&q=&cursor=. */
export function parseListingParams(get: (name: string) => string | undefined): ListingParams {
  const sort = get('sort') || 'name';
  if (!SORTS.includes(sort as DirSort)) throw new BadRequestError('sort must be name, size, mtime or uploaded');
  const order = get('order') || 'asc';
  if (order !== 'asc' && order !== 'desc') throw new BadRequestError('order must be asc or desc');
  const q = (get('q') ?? '').trim();
  if (q.length > MAX_FILTER_CHARS) throw new BadRequestError(`q must be at most ${MAX_FILTER_CHARS} characters`);
  const cursor = get('cursor') || undefined;
  if (cursor !== undefined && cursor.length > MAX_CURSOR_CHARS) throw new BadRequestError('invalid cursor');
  return { sort: sort as DirSort, descending: order === 'desc', q, cursor };
}

/** The JSON variant of a listing page (?format=json), for the page script and other tools. */
export function listingJson(viewer: Viewer, dir: string, listing: DirListing, extra: { rows: string; next: string | null }) {
  return {
    dir,
    folders: listing.folders,
    files: listing.files.map((f: FileEntry) => ({ name: f.name, ...fileJson(viewer, f) })),
    nextCursor: listing.nextCursor,
    /** URL of the next page, HTML form. */
    next: extra.next,
    /** Rendered `<tr>`s, escaped on the server, so the page script never builds markup from names. */
    rows: extra.rows,
  };
}
