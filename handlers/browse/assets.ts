import { Hono } from 'hono';
import { BROWSE_CSS } from './browse-css.generated.js';
import { BROWSE_JS } from './browse-js.generated.js';
import { HISTORY_JS } from './history-js.generated.js';

/** FNV-1a (32 bit) as hex: a cheap content version for cache-busting asset URLs. */
export function contentVersion(text: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0).toString(16).padStart(8, '0');
}

interface Asset {
  path: string;
  type: string;
  body: string;
}

const ASSETS: readonly Asset[] = [
  { path: '/assets/browse.js', type: 'text/javascript; charset=utf-8', body: BROWSE_JS },
  { path: '/assets/history.js', type: 'text/javascript; charset=utf-8', body: HISTORY_JS },
  { path: '/assets/browse.css', type: 'text/css; charset=utf-8', body: BROWSE_CSS },
];

/** Versioned URLs the pages link to: a new server version gets fresh files, never stale ones. */
export const ASSET_URLS = {
  js: `/assets/browse.js?v=${contentVersion(BROWSE_JS)}`,
  history: `/assets/history.js?v=${contentVersion(HISTORY_JS)}`,
  css: `/assets/browse.css?v=${contentVersion(BROWSE_CSS)}`,
} as const;

/** GET /assets/browse.js, history.js and browse.css, from strings (handlers never touch a disk). */
export function assetRoutes(): Hono {
  const app = new Hono();
  for (const a of ASSETS) {
    app.get(a.path, () => {
      return new Response(a.body, {
        headers: {
          'Content-Type': a.type,
          'X-Content-Type-Options': 'nosniff',
          // The URL carries the content version, so the file may be cached for long.
          'Cache-Control': 'private, max-age=31536000, immutable',
        },
      });
    });
  }
  return app;
}
