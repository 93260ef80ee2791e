import { Hono } from 'hono';
import { apiRoutes } from './api/api.js';
import { batchRoutes } from './files/batch.js';
import { requireAuth } from './auth.js';
import { assetRoutes } from './browse/asset-routes.js';
import { browseRoutes } from './browse/routes.js';
import type { AppDeps } from '../core/deps.js';
import { errorResponse } from './http/error-response.js';
import { fileRoutes } from './files/files.js';
import { assertNoDotSegments } from '../core/path.js';
import { metricsRoutes } from './api/metrics.js';
import { tagRequests } from './http/request-tags.js';
import { historyRoutes } from './api/history.js';
import { passRoutes } from './api/passes.js';
import { rootRoutes } from './api/roots.js';
import { securityHeaders } from './http/security-headers.js';
import { tusRoutes } from './tus/routes.js';

/**
 * The whole HTTP surface as one Hono app over injected dependencies: no file system, no
 * database driver, no timers here. Adapters (adapters/node, adapters/lambda) serve it.
 */
export function createApp(deps: AppDeps): Hono {
  const log = deps.log ?? ((line: string) => console.log(line));
  const app = new Hono();

  app.onError((err, c) => errorResponse(c, err, log));
  app.notFound((c) => c.json({ error: 'not found' }, 404));

  if (deps.requests) app.use('*', tagRequests(deps.requests));
  app.use('*', securityHeaders());
  app.use('*', async (c, next) => {
    const target = deps.rawTarget?.(c.env);
    if (target !== undefined) assertNoDotSegments(target);
    await next();
  });
  app.get('/healthz', (c) => c.json({ ok: true }));
  // Before requireAuth: the metrics token is not a client's token.
  app.route('/', metricsRoutes(deps));
  // The page's script and style are public: a signed-out page must load them without a prompt.
  app.route('/', assetRoutes());

  app.use('*', requireAuth(deps));
  app.route('/files', fileRoutes(deps));
  app.route('/api', apiRoutes(deps));
  app.route('/api', historyRoutes(deps));
  app.route('/api', rootRoutes(deps));
  app.route('/api', passRoutes(deps));
  app.route('/api', batchRoutes(deps));
  app.route('/uploads', tusRoutes(deps));
  app.route('/', browseRoutes(deps));
  return app;
}
