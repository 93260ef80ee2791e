import type { MiddlewareHandler } from 'hono';
import { matchedRoutes } from 'hono/route';
import type { RequestObserver } from '../../core/deps.js';

/** Hono's method of `app.use` middleware: such a match says nothing about which route served. */
const MIDDLEWARE_METHOD = 'ALL';

/**
 * The label of the route a request went to: the pattern of the first matched handler
 * (`/files/*`, `/uploads/:id`), so that metrics get one series per route, not per path.
 */
export function routeLabel(matched: readonly { method: string; path: string }[]): string {
  return matched.find((r) => r.method !== MIDDLEWARE_METHOD)?.path ?? 'unmatched';
}

/** Tells the observer each request's route and client once the app has answered (errors too). */
export function tagRequests(observer: RequestObserver): MiddlewareHandler {
  return async (c, next) => {
    try {
      await next();
    } finally {
      observer.tag(c.req.raw, { route: routeLabel(matchedRoutes(c)), client: c.get('principal')?.name });
    }
  };
}
