// `npm run build` after tsc: the server's entry, dist/adapters/node/main.js, replaced by a bundle of
// what tsc compiled (esbuild bundles the .js as tsc wrote it: one compiler). Node's ESM loader
// allocates for every module it resolves and compiles; one entry file and a few chunks instead of
// ~280 modules is what brings the idle server under its memory goal (docs/BENCHMARKS.md). What is
// imported on first use stays so: each dynamic import becomes a chunk of its own.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..');

/** Chunks, next to the entry; emptied by each build (their names carry a content hash). */
export const CHUNK_FOLDER = 'bundle';

/** The bundle's first line: a bundle is never bundled again (its chunks are gone by then). */
export const BUNDLE_BANNER = '// cloud-backup server: bundled by scripts/bundle-server.ts from the tsc output';

/**
 * Left to node at run time: a native addon (better-sqlite3), and the backends only some servers
 * load (pg; the AWS SDK, large, resolved from node_modules when the S3 backend is chosen).
 */
const EXTERNAL = ['better-sqlite3', 'pg', '@aws-sdk/*'];

/** esbuild's account of the bundle (inputs and imports of each output), written next to the chunks. */
export const META_FILE = 'meta.json';

/** Whether dist/'s server entry is a bundle (not tsc's own output). */
export function isBundled(dist: string): boolean {
  const entry = join(dist, 'adapters/node/main.js');
  return existsSync(entry) && readFileSync(entry, 'utf8').startsWith(BUNDLE_BANNER);
}

export function bundleServer(dist = join(ROOT, 'dist')): void {
  const outdir = join(dist, 'adapters/node');
  const entry = join(outdir, 'main.js');
  if (isBundled(dist)) {
    throw new Error(`${entry} is already a bundle: run \`npm run build\`, which compiles it again first`);
  }
  rmSync(join(outdir, CHUNK_FOLDER), { recursive: true, force: true });
  const result = buildSync({
    entryPoints: { main: entry },
    outdir,
    // The entry is its own input: tsc has just written it.
    allowOverwrite: true,
    bundle: true,
    splitting: true,
    chunkNames: `${CHUNK_FOLDER}/[name]-[hash]`,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: EXTERNAL,
    banner: { js: BUNDLE_BANNER },
    logLevel: 'warning',
    // Names and layout kept: stack traces in an operator's log stay readable.
    minify: false,
    metafile: true,
  });
  writeFileSync(join(outdir, CHUNK_FOLDER, META_FILE), JSON.stringify(result.metafile, null, 1));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) bundleServer();
