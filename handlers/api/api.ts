import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { BadRequestError, ForbiddenError, NotFoundError, TooLargeError, UnsupportedMediaTypeError } from '../../core/errors.js';
import { isSha256 } from '../../core/sha.js';
import { assertWrite, type Principal } from '../auth.js';
import { linkFile } from '../../core/commit.js';
import { fileJson, statsSeenBy, viewerOf } from '../files/file-view.js';
import type { AppDeps } from '../../core/deps.js';
import { parseMoment } from './moment.js';
import { parseDecodedPath } from '../../core/path.js';
import type { HistoryFileJson } from '../../shared/wire.js';
import { ListingDigest, type ListingDigestJson } from '../../shared/listing-digest.js';

export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

/** `limit` of a paged API listing: 1..MAX_PAGE, DEFAULT_PAGE when absent. */
export function parseLimit(value: string | undefined): number {
  if (value === undefined || value === '') return DEFAULT_PAGE;
  if (!/^\d{1,6}$/.test(value)) throw new BadRequestError('limit must be a positive integer');
  const n = Number(value);
  if (n < 1) throw new BadRequestError('limit must be a positive integer');
  return Math.min(n, MAX_PAGE);
}

function encodeCursor(path: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(path)))
    .replace(/\+/g, '-')
    .replace(/\//g, '_')
    .replace(/=+$/, '');
}

function decodeCursor(cursor: string): string {
  try {
    const b64 = cursor.replace(/-/g, '+').replace(/_/g, '/');
    const bin = atob(b64 + '='.repeat((4 - (b64.length % 4)) % 4));
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
  } catch {
    throw new BadRequestError('invalid cursor');
  }
}

/** Rows per catalog query while computing a listing digest. */
const DIGEST_PAGE = 5000;

/** The prefix a listing covers: a client's own namespace when it names none, never another's. */
function listedPrefix(p: Principal, asked: string | undefined): string {
  const prefix = asked ?? '';
  if (p.admin) return prefix;
  if (prefix === '' || prefix === p.name) return `${p.name}/`;
  if (!prefix.startsWith(`${p.name}/`)) throw new ForbiddenError(`client ${p.name} may only list ${p.name}/...`);
  return prefix;
}

/** JSON API under /api. */
export function apiRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    // Before the handler: c.json takes it from the prepared headers. Set after it, c.header
    // rebuilds the finished answer (on @hono/node-server a whole Web Response per request).
    c.header('Cache-Control', 'no-store');
    await next();
  });

  app.get('/whoami', (c) => {
    const p = c.get('principal');
    return c.json({ name: p.name, admin: p.admin });
  });

  app.get('/files/digest', async (c) => {
    const prefix = listedPrefix(c.get('principal'), c.req.query('prefix'));
    // Pages of the catalog, not one query: other requests are answered between them.
    const digest = new ListingDigest();
    let after: string | undefined;
    for (;;) {
      const rows = await deps.catalog.listPathHashes({ prefix, after, limit: DIGEST_PAGE });
      for (const r of rows) digest.add(r.path, r.sha256);
      if (rows.length < DIGEST_PAGE) break;
      after = rows[rows.length - 1]?.path;
    }
    const body: ListingDigestJson = { prefix, files: digest.files, digest: await digest.digest() };
    return c.json(body);
  });

  app.get('/files', async (c) => {
    const p = c.get('principal');
    const prefix = listedPrefix(p, c.req.query('prefix'));
    const limit = parseLimit(c.req.query('limit'));
    const cursor = c.req.query('cursor');
    const after = cursor ? decodeCursor(cursor) : undefined;
    const page = <T extends { path: string }>(rows: T[]) => {
      const items = rows.slice(0, limit);
      const last = items[items.length - 1];
      return { items, nextCursor: rows.length > limit && last ? encodeCursor(last.path) : null };
    };
    const atParam = c.req.query('at');
    const deleted = c.req.query('deleted');
    if (deleted !== undefined && deleted !== 'true' && deleted !== 'false') throw new BadRequestError('deleted must be true or false');
    if (deleted === 'true') {
      if (atParam !== undefined) throw new BadRequestError('choose one of at and deleted=true');
      // The trash: each item is the content a restore brings back, with when it was deleted.
      const { items, nextCursor } = page(await deps.catalog.listDeleted({ prefix, limit: limit + 1, after }));
      return c.json({
        items: items.map((d): HistoryFileJson => ({ path: d.path, size: d.size, mtime: d.mtime, sha256: d.sha256, version: d.version, uploadedAt: d.uploadedAt, deletedAt: d.deletedAt })),
        nextCursor,
      });
    }
    const at = atParam === undefined ? undefined : parseMoment(atParam);
    const { items, nextCursor } = page(await deps.catalog.listFiles({ prefix, limit: limit + 1, after, at }));
    const viewer = viewerOf(p, deps);
    return c.json({ items: items.map((e) => fileJson(viewer, e)), nextCursor });
  });

  app.get('/stats', async (c) => {
    const p = c.get('principal');
    const s = await statsSeenBy(viewerOf(p, deps), deps.catalog, p.admin ? undefined : p.name);
    return c.json({ ...s, savedBytes: s.blobBytes - s.storedBytes, scope: p.admin ? 'all' : p.name });
  });

  // The JSON is read whole: a small cap keeps a client from making the server buffer a huge body.
  const linkBodyLimit = bodyLimit({
    maxSize: 64 * 1024,
    onError: () => {
      throw new TooLargeError('a link request is JSON {path, sha256, mtime} of at most 64 KiB');
    },
  });

  app.post('/link', linkBodyLimit, async (c) => {
    const p = c.get('principal');
    // A cross-site form can send text/plain with the browser's cached Basic credentials, but
    // not application/json without a CORS preflight we never grant.
    const type = c.req.header('content-type') ?? '';
    if (!/^application\/json\s*(;|$)/i.test(type)) throw new UnsupportedMediaTypeError('POST /api/link needs Content-Type: application/json');
    let body: unknown;
    try {
      body = await c.req.json();
    } catch {
      throw new BadRequestError('body must be JSON {path, sha256, mtime}');
    }
    const { path, sha256, mtime } = (body ?? {}) as { path?: unknown; sha256?: unknown; mtime?: unknown };
    if (typeof path !== 'string') throw new BadRequestError('path must be a string');
    if (typeof sha256 !== 'string' || !isSha256(sha256.toLowerCase())) throw new BadRequestError('sha256 must be 64 hex digits');
    if (mtime !== undefined && mtime !== null && (typeof mtime !== 'number' || !Number.isSafeInteger(mtime) || mtime < 0)) {
      throw new BadRequestError('mtime must be milliseconds since the epoch');
    }
    const fp = parseDecodedPath(path);
    assertWrite(p, fp.namespace);
    const sha = sha256.toLowerCase();
    // Only content this namespace already references (or anything, for an admin): answering
    // 201 for another namespace's blob would tell a client what someone else has stored.
    const allowed = p.admin || (await deps.catalog.namespaceHasBlob(fp.namespace, sha));
    const blob = allowed ? await deps.catalog.getBlob(sha) : undefined;
    if (!blob) throw new NotFoundError('content not held for this namespace: upload it');
    const result = await linkFile(deps, { path: fp.path, sha256: sha, size: blob.size, mtime: (mtime as number | null | undefined) ?? null });
    return c.json(fileJson(viewerOf(p, deps), result.entry), 201);
  });

  return app;
}
