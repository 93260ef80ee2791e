import { Hono } from 'hono';
import type { AppDeps } from '../../core/deps.js';

type Pages = typeof import('./pages.js');
let pages: Promise<Pages> | undefined;

/**
 * The pages' code, imported on the first page request rather than at start-up: a backup server
 * mostly serves the API, and the renderers, the embedded assets and client-zip are some 20 modules.
 * A failed import is not kept, so the next request tries again.
 */
export function loadPages(): Promise<Pages> {
  pages ??= import('./pages.js').catch((err: unknown) => {
    pages = undefined;
    throw err;
  });
  return pages;
}

/**
 * The browser side: GET / and /browse/<dir>/ (listing, ?format=json for the page script),
 * /zip/<dir>/ (the folder as one streamed archive), /health, /logout. The route patterns are
 * registered here (the metrics label requests by them); the handlers are in pages.ts.
 */
export function browseRoutes(deps: AppDeps): Hono {
  const log = deps.log ?? ((line: string) => console.log(line));
  const app = new Hono();
  app.get('/', async (c) => (await loadPages()).rootPage(c, deps));
  app.get('/browse/*', async (c) => (await loadPages()).browsePage(c, deps));
  app.get('/zip/*', async (c) => (await loadPages()).zipPage(c, deps, log));
  app.get('/health', async (c) => (await loadPages()).healthPage(c, deps));
  app.get('/logout', async () => (await loadPages()).logoutPage());
  return app;
}
