import { ASSET_FILES, type AssetName } from './asset-routes.js';
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

/** What asset-routes.ts serves at each asset's path (imported by it on first use). */
export const ASSET_BODIES: Readonly<Record<AssetName, string>> = { js: BROWSE_JS, history: HISTORY_JS, css: BROWSE_CSS };

const versioned = (name: AssetName) => `${ASSET_FILES[name].path}?v=${contentVersion(ASSET_BODIES[name])}`;

/** Versioned URLs the pages link to: a new server version gets fresh files, never stale ones. */
export const ASSET_URLS = { js: versioned('js'), history: versioned('history'), css: versioned('css') } as const;
