import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { BadRequestError, NotFoundError, TooLargeError, UnsupportedMediaTypeError } from '../../core/errors.js';
import { parseLimit } from './api.js';
import { assertRead, assertWrite } from '../auth.js';
import { linkFile } from '../../core/commit.js';
import { fileJson, viewerOf } from '../files/file-view.js';
import type { AppDeps } from '../../core/deps.js';
import { parseMoment } from './moment.js';
import { parseDecodedPath } from '../../core/path.js';
import { rollbackFolder } from './rollback.js';
import type { VersionJson } from '../../shared/wire.js';

/** Reads a small JSON body, refusing other content types (no cross-site form can send JSON). */
export async function jsonBody(c: { req: { header(n: string): string | undefined; json(): Promise<unknown> } }, route: string): Promise<Record<string, unknown>> {
  const type = c.req.header('content-type') ?? '';
  if (!/^application\/json\s*(;|$)/i.test(type)) throw new UnsupportedMediaTypeError(`${route} needs Content-Type: application/json`);
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new BadRequestError('body must be a JSON object');
  }
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw new BadRequestError('body must be a JSON object');
  return body as Record<string, unknown>;
}

/** /api/versions and /api/restore: a path's history, and bringing the past back. */
export function historyRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });

  app.get('/versions', async (c) => {
    const raw = c.req.query('path');
    if (raw === undefined || raw === '') throw new BadRequestError('path is required: /api/versions?path=<namespace>/<path>');
    const fp = parseDecodedPath(raw);
    assertRead(c.get('principal'), fp.namespace);
    const limit = parseLimit(c.req.query('limit'));
    const cursor = c.req.query('cursor');
    if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) throw new BadRequestError('invalid cursor');
    const rows = await deps.catalog.listVersions({ path: fp.path, limit: limit + 1, before: cursor });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return c.json({
      path: fp.path,
      items: items.map((v): VersionJson => ({ version: v.version, sha256: v.sha256, size: v.size, mtime: v.mtime, uploadedAt: v.uploadedAt, deleted: v.deleted })),
      nextCursor: rows.length > limit && last ? last.version : null,
    });
  });

  const restoreBodyLimit = bodyLimit({
    maxSize: 64 * 1024,
    onError: () => {
      throw new TooLargeError('a restore request is JSON {path, version} or {prefix, at} of at most 64 KiB');
    },
  });

  app.post('/restore', restoreBodyLimit, async (c) => {
    const body = await jsonBody(c, 'POST /api/restore');
    const p = c.get('principal');
    if (typeof body.path === 'string' && body.version !== undefined) {
      if (typeof body.version !== 'string') throw new BadRequestError('version must be a string (from /api/versions)');
      const fp = parseDecodedPath(body.path);
      assertWrite(p, fp.namespace);
      const v = await deps.catalog.getVersion(fp.path, body.version);
      if (!v) throw new NotFoundError(`no version ${body.version} of ${fp.path} with content`);
      const result = await linkFile(deps, { path: fp.path, sha256: v.sha256, size: v.size, mtime: v.mtime, quota: 'exempt' });
      return c.json({ restored: fileJson(viewerOf(p, deps), result.entry) }, result.created ? 201 : 200);
    }
    if (typeof body.prefix === 'string' && body.at !== undefined) {
      const fp = parseDecodedPath(body.prefix.replace(/\/$/, ''), { folder: true });
      assertWrite(p, fp.namespace);
      const at = parseMoment(body.at);
      const report = await rollbackFolder(deps, `${fp.path}/`, at);
      return c.json({ prefix: `${fp.path}/`, at, ...report });
    }
    throw new BadRequestError('body must be {path, version} or {prefix, at}');
  });

  return app;
}
