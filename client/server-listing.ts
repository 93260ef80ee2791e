import { CancelledError } from './errors.js';
import { expectStatus, type HttpClient } from './http.js';
import type { FileJson, Page } from '../shared/wire.js';

/** Items per page: the server's maximum, so 100k files cost 100 requests per full scan. */
const PAGE = 1000;

/** The part of a GET /api/files page a full scan compares. */
type ListedPage = Page<Pick<FileJson, 'path' | 'sha256'>>;

function parsePage(text: string): ListedPage {
  const v = JSON.parse(text) as { items?: unknown; nextCursor?: unknown };
  if (!Array.isArray(v.items) || (v.nextCursor !== null && typeof v.nextCursor !== 'string')) {
    throw new Error('GET /api/files: unexpected answer');
  }
  const items = v.items.filter((i): i is { path: string; sha256: string } => typeof i?.path === 'string' && typeof i?.sha256 === 'string');
  return { items, nextCursor: v.nextCursor };
}

/**
 * What the server holds under `folder` (`NAME/PREFIX/`): remote path -> SHA-256, from one paged
 * listing. Held as a map for the pass (a path and a hash per file; never file content).
 */
export async function listServerFolder(http: HttpClient, folder: string, signal: AbortSignal): Promise<Map<string, string>> {
  const held = new Map<string, string>();
  let cursor: string | null = null;
  do {
    if (signal.aborted) throw new CancelledError();
    const q = new URLSearchParams({ prefix: folder, limit: String(PAGE), ...(cursor ? { cursor } : {}) });
    const res = expectStatus(await http.request('GET', `api/files?${q}`, { signal }), [200], 'GET', '/api/files');
    const page = parsePage(res.text);
    for (const item of page.items) held.set(item.path, item.sha256);
    cursor = page.nextCursor;
  } while (cursor);
  return held;
}
