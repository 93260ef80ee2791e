import type { MiddlewareHandler } from 'hono';
import { CONTENT_SECURITY_POLICY } from '../browse/security.js';

/** Headers every response carries, whoever produced it (error answers included). */
const ALWAYS: Readonly<Record<string, string>> = {
  'X-Content-Type-Options': 'nosniff',
  'Referrer-Policy': 'no-referrer',
};

/** Headers every HTML response carries unless its handler chose stricter ones (downloads: sandbox). */
const HTML: Readonly<Record<string, string>> = {
  // No inline script: an escaping slip in a file name cannot run code in our origin.
  'Content-Security-Policy': CONTENT_SECURITY_POLICY,
  'X-Frame-Options': 'DENY',
};

/**
 * A safety net under every route: a page or error added later cannot ship without these headers.
 * Headers a handler already set are kept.
 */
export function securityHeaders(): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const wanted = /^text\/html/i.test(c.res.headers.get('content-type') ?? '') ? { ...ALWAYS, ...HTML } : ALWAYS;
    const missing = Object.entries(wanted).filter(([name]) => !c.res.headers.has(name));
    if (missing.length === 0) return;
    try {
      for (const [name, value] of missing) c.res.headers.set(name, value);
    } catch {
      // Immutable headers (a Response from elsewhere): copy it once.
      c.res = new Response(c.res.body, c.res);
      for (const [name, value] of missing) c.res.headers.set(name, value);
    }
  };
}
