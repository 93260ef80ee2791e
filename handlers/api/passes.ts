import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { collectHealth, type ClientHealth } from '../../storage/clients/backup-health.js';
import type { PassRecord } from '../../storage/catalog/catalog.js';
import { BadRequestError, ForbiddenError, TooLargeError } from '../../core/errors.js';
import { parseLimit } from './api.js';
import { assertRead, assertWrite, type Principal } from '../auth.js';
import type { AppDeps } from '../../core/deps.js';
import { jsonBody } from './history.js';
import { parseDecodedPath } from '../../core/path.js';
import { textField } from './roots.js';

const COUNTS = ['scanned', 'uploaded', 'failed', 'deleted', 'bytes'] as const;

export function passJson(p: PassRecord) {
  const { id, namespace, root, host, folder, startedAt, endedAt, receivedAt, scanned, uploaded, failed, deleted, bytes, stopped } = p;
  return { id, namespace, root, host, folder, startedAt, endedAt, receivedAt, scanned, uploaded, failed, deleted, bytes, stopped, ok: failed === 0 && !stopped };
}

export function healthJson(h: ClientHealth) {
  return {
    ...h,
    lastPass: h.lastPass && passJson(h.lastPass),
    lastSuccess: h.lastSuccess && passJson(h.lastSuccess),
    sources: h.sources.map((s) => ({ root: s.root, last: passJson(s.last), lastSuccess: s.lastSuccess && passJson(s.lastSuccess) })),
  };
}

function whole(body: Record<string, unknown>, key: string, what: string): number {
  const v = body[key];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw new BadRequestError(`${key} must be ${what}, a whole number >= 0`);
  return v;
}

/** The admin's health view of every client; 403 for other clients. */
export async function healthOf(deps: AppDeps, p: Principal): Promise<{ now: number; staleAfterMs: number; clients: ClientHealth[] }> {
  if (!p.admin) throw new ForbiddenError(`backup health is for admin clients; ${p.name} is not one`);
  const now = deps.clock();
  const staleAfterMs = deps.config.staleAfterMs;
  return { now, staleAfterMs, clients: await collectHealth(deps.catalog, now, staleAfterMs) };
}

/**
 * /api/passes: a backup client reports each pass (what it looked at, sent, failed), so the admin
 * sees who backed up when; /api/health is that view for admins (also the /health page).
 */
export function passRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });

  const passBodyLimit = bodyLimit({
    maxSize: 64 * 1024,
    onError: () => {
      throw new TooLargeError('a pass report is a JSON object of at most 64 KiB');
    },
  });

  app.post('/passes', passBodyLimit, async (c) => {
    const body = await jsonBody(c, 'POST /api/passes');
    if (typeof body.root !== 'string') throw new BadRequestError('root must be a string: the remote folder backed up, namespace first (alice/docs)');
    const fp = parseDecodedPath(body.root.replace(/\/$/, ''), { folder: true });
    assertWrite(c.get('principal'), fp.namespace);
    const host = body.host === undefined ? '' : textField(body, 'host');
    const folder = body.folder === undefined ? '' : textField(body, 'folder');
    const startedAt = whole(body, 'startedAt', 'the start in ms since the epoch');
    const endedAt = whole(body, 'endedAt', 'the end in ms since the epoch');
    if (endedAt < startedAt) throw new BadRequestError('endedAt must not be before startedAt');
    const counts = Object.fromEntries(COUNTS.map((k) => [k, whole(body, k, k === 'bytes' ? 'the bytes backed up' : 'a count of files')])) as Record<(typeof COUNTS)[number], number>;
    if (body.stopped !== undefined && typeof body.stopped !== 'boolean') throw new BadRequestError('stopped must be true or false');
    const pass = await deps.catalog.recordPass({
      namespace: fp.namespace,
      root: fp.path,
      host,
      folder,
      startedAt,
      endedAt,
      receivedAt: deps.clock(),
      ...counts,
      stopped: body.stopped === true,
    });
    return c.json({ pass: passJson(pass) }, 201);
  });

  app.get('/passes', async (c) => {
    const p = c.get('principal');
    const namespace = c.req.query('namespace') || (p.admin ? undefined : p.name);
    if (namespace !== undefined) assertRead(p, namespace);
    const limit = parseLimit(c.req.query('limit'));
    const cursor = c.req.query('cursor');
    if (cursor !== undefined && !/^\d{1,15}$/.test(cursor)) throw new BadRequestError('invalid cursor');
    const rows = await deps.catalog.listPasses({ namespace, limit: limit + 1, before: cursor });
    const items = rows.slice(0, limit);
    const last = items[items.length - 1];
    return c.json({ items: items.map(passJson), nextCursor: rows.length > limit && last ? last.id : null });
  });

  app.get('/health', async (c) => {
    const h = await healthOf(deps, c.get('principal'));
    return c.json({ ...h, clients: h.clients.map(healthJson) });
  });

  return app;
}
