import { Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import type { RootRecord } from '../../storage/catalog/catalog.js';
import { BadRequestError, NotFoundError, TooLargeError } from '../../core/errors.js';
import { assertRead, assertWrite, hashToken } from '../auth.js';
import type { AppDeps } from '../../core/deps.js';
import { jsonBody } from './history.js';
import { parseDecodedPath } from '../../core/path.js';

const MAX_HOST = 255;
const MAX_FOLDER_BYTES = 4096;
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/** A Windows folder (`C:\...`, `\\server\share`): its names compare without case. */
const WINDOWS_FOLDER = /^(?:[A-Za-z]:[\\/]|\\\\)/;

/**
 * Who writes into a root: a hash of the host name (case-insensitive, as DNS) and the absolute
 * folder (exact, but case-insensitive with either slash for a Windows folder), so one folder on
 * one computer is one source however its client spells it.
 */
export async function sourceId(host: string, folder: string): Promise<string> {
  const folderKey = WINDOWS_FOLDER.test(folder) ? folder.replace(/\//g, '\\').toLowerCase() : folder;
  // The same SHA-256 hex as a token's hash: nothing secret here, just a fixed-length key.
  return hashToken(`${host.trim().toLowerCase()}\n${folderKey}`);
}

function rootJson(r: RootRecord) {
  return { root: r.path, sourceId: r.sourceId, host: r.host, folder: r.folder, createdAt: r.createdAt, claimedAt: r.claimedAt, lastSeen: r.lastSeen };
}

/** A source's host name or absolute folder from a JSON body (roots and pass reports). */
export function textField(body: Record<string, unknown>, key: 'host' | 'folder'): string {
  const v = body[key];
  if (typeof v !== 'string' || v.trim() === '') throw new BadRequestError(`${key} must be a non-empty string`);
  if (key === 'host' && (v.length > MAX_HOST || CONTROL.test(v))) throw new BadRequestError(`host must be a host name of at most ${MAX_HOST} characters`);
  if (key === 'folder' && (new TextEncoder().encode(v).byteLength > MAX_FOLDER_BYTES || v.includes('\u0000'))) {
    throw new BadRequestError(`folder must be an absolute folder of at most ${MAX_FOLDER_BYTES} bytes`);
  }
  return v;
}

/**
 * /api/roots: which source (a folder on one computer) backs up into which remote folder. The
 * backup client claims its root before its first pass; plain PUT and tus writes are not checked.
 */
export function rootRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  app.use('*', async (c, next) => {
    await next();
    c.header('Cache-Control', 'no-store');
  });

  const rootBodyLimit = bodyLimit({
    maxSize: 64 * 1024,
    onError: () => {
      throw new TooLargeError('a root claim is JSON {root, host, folder, adopt} of at most 64 KiB');
    },
  });

  app.post('/roots', rootBodyLimit, async (c) => {
    const body = await jsonBody(c, 'POST /api/roots');
    if (typeof body.root !== 'string') throw new BadRequestError('root must be a string: the remote folder, namespace first (alice/docs)');
    const fp = parseDecodedPath(body.root.replace(/\/$/, ''), { folder: true });
    assertWrite(c.get('principal'), fp.namespace);
    const host = textField(body, 'host');
    const folder = textField(body, 'folder');
    if (body.adopt !== undefined && typeof body.adopt !== 'boolean') throw new BadRequestError('adopt must be true or false');
    const result = await deps.catalog.claimRoot({ path: fp.path, sourceId: await sourceId(host, folder), host, folder, adopt: body.adopt === true, now: deps.clock() });
    switch (result.outcome) {
      case 'created':
        return c.json({ status: 'created', root: rootJson(result.root) }, 201);
      case 'same':
        return c.json({ status: 'same', root: rootJson(result.root) }, 200);
      case 'adopted':
        return c.json({ status: 'adopted', root: rootJson(result.root), previous: rootJson(result.previous) }, 200);
      case 'taken':
      case 'nested': {
        const o = result.other;
        const whose = `the backup root of ${o.folder} on ${o.host}`;
        const error =
          result.outcome === 'taken'
            ? `${fp.path} is ${whose}: another source; adopt: true takes it over`
            : o.path.startsWith(`${fp.path}/`)
              ? `${fp.path} holds ${o.path}, ${whose}: backup roots do not nest`
              : `${fp.path} lies inside ${o.path}, ${whose}: backup roots do not nest`;
        return c.json({ error, status: result.outcome, other: rootJson(o) }, 409);
      }
    }
  });

  app.get('/roots', async (c) => {
    const p = c.get('principal');
    const namespace = c.req.query('namespace') || (p.admin ? undefined : p.name);
    if (namespace !== undefined) assertRead(p, namespace);
    const roots = await deps.catalog.listRoots(namespace);
    return c.json({ items: roots.map(rootJson) });
  });

  app.delete('/roots', async (c) => {
    const raw = c.req.query('root');
    if (raw === undefined || raw === '') throw new BadRequestError('root is required: DELETE /api/roots?root=<namespace>/<folder>');
    const fp = parseDecodedPath(raw.replace(/\/$/, ''), { folder: true });
    assertWrite(c.get('principal'), fp.namespace);
    if (!(await deps.catalog.releaseRoot(fp.path))) throw new NotFoundError(`${fp.path} is no backup root`);
    return c.body(null, 204);
  });

  return app;
}
