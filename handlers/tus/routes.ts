import { Hono, type Handler } from 'hono';
import { BadRequestError } from '../../core/errors.js';
import type { AppDeps } from '../../core/deps.js';
import { deleteHandler } from './delete.js';
import { headHandler } from './head.js';
import { checkTusResumable, TUS_VERSION } from './headers.js';
import { optionsHandler } from './options.js';
import { patchHandler } from './patch.js';
import { postHandler } from './post.js';
import { UploadGate } from './upload-lock.js';
import { UploadQuota } from './upload-quota.js';

/**
 * The tus 1.0.0 resumable upload protocol, mounted at /uploads (auth runs before it).
 * Extensions: creation, creation-with-upload, termination, expiration, checksum (sha256).
 */
export function tusRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  const gate = new UploadGate(deps.locks);
  const quota = new UploadQuota({ maxOpenUploads: deps.config.maxOpenUploads, maxReservedBytes: deps.config.maxReservedUploadBytes });
  const patch = patchHandler(deps, gate, quota);
  const del = deleteHandler(deps, gate, quota);

  app.use('*', async (c, next) => {
    c.header('Tus-Resumable', TUS_VERSION);
    c.header('Cache-Control', 'no-store');
    if (c.req.method !== 'OPTIONS') {
      // A client of another version gets 412 and the versions we speak.
      c.header('Tus-Version', TUS_VERSION);
      checkTusResumable(c.req.header('tus-resumable'));
    }
    await next();
  });

  app.options('*', optionsHandler(deps));
  const create = postHandler(deps, gate, quota);
  app.post('/', create);
  // '/uploads/' too (mounting drops the trailing slash): an empty last segment.
  app.post('/:empty{^$}', create);
  // Hono answers HEAD with the GET route (and drops the body).
  app.get('/:id', headHandler(deps, gate));
  app.patch('/:id', patch);
  app.delete('/:id', del);
  // X-HTTP-Method-Override, for clients behind proxies that only pass GET and POST.
  const overridden: Handler = (c, next) => {
    const method = c.req.header('x-http-method-override')?.toUpperCase();
    if (method === 'PATCH') return patch(c, next);
    if (method === 'DELETE') return del(c, next);
    throw new BadRequestError('POST to an upload URL needs X-HTTP-Method-Override: PATCH or DELETE');
  };
  app.post('/:id', overridden);
  return app;
}
