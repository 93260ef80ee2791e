import { Hono } from 'hono';

/** The page's script, its history views and its stylesheet: where they are served, as what. */
export const ASSET_FILES = {
  js: { path: '/assets/browse.js', type: 'text/javascript; charset=utf-8' },
  history: { path: '/assets/history.js', type: 'text/javascript; charset=utf-8' },
  css: { path: '/assets/browse.css', type: 'text/css; charset=utf-8' },
} as const;

export type AssetName = keyof typeof ASSET_FILES;

/**
 * GET /assets/browse.js, history.js and browse.css, from strings (handlers never touch a disk).
 * The strings (assets.ts, some 60 KB) are imported on the first request for one of them.
 */
export function assetRoutes(): Hono {
  const app = new Hono();
  for (const name of Object.keys(ASSET_FILES) as AssetName[]) {
    const { path, type } = ASSET_FILES[name];
    app.get(path, async () => {
      const { ASSET_BODIES } = await import('./assets.js');
      return new Response(ASSET_BODIES[name], {
        headers: {
          'Content-Type': type,
          'X-Content-Type-Options': 'nosniff',
          // The URL carries the content version, so the file may be cached for long.
          'Cache-Control': 'private, max-age=31536000, immutable',
        },
      });
    });
  }
  return app;
}
