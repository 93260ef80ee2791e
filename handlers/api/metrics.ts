import { Hono } from 'hono';
import { ForbiddenError, NotFoundError } from '../../core/errors.js';
import { authorize, constantTimeEqual, hashToken, parseAuthorization } from '../auth.js';
import type { AppDeps } from '../../core/deps.js';

/** Whether `presented` is the configured metrics token (compared as hashes, without an early exit). */
export async function isMetricsToken(configured: string | undefined, presented: string): Promise<boolean> {
  if (!configured) return false;
  return constantTimeEqual(await hashToken(configured), await hashToken(presented));
}

/**
 * `GET /metrics` for a scraper: readable by admin clients and by the metrics token, which
 * opens nothing else (a Prometheus config holding it cannot read any file).
 */
export function metricsRoutes(deps: AppDeps): Hono {
  const app = new Hono();
  app.get('/metrics', async (c) => {
    const metrics = deps.metrics;
    if (!metrics) throw new NotFoundError('this server does not collect metrics');
    const creds = parseAuthorization(c.req.header('Authorization'));
    if (!creds || !(await isMetricsToken(deps.config.metricsToken, creds.token))) {
      const principal = await authorize(c, deps);
      c.set('principal', principal);
      if (!principal.admin) throw new ForbiddenError('metrics need an admin client or the metrics token');
    }
    c.header('Cache-Control', 'no-store');
    return c.body(await metrics.render(), 200, { 'Content-Type': metrics.contentType });
  });
  return app;
}
