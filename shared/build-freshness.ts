import { readdirSync, statSync } from 'node:fs';
import { basename, dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The first source file (relative to `root`) newer than its compiled `.js` in `dist`, or
 * undefined. Only sources that have a compiled file are compared: a new module counts through
 * its importer, which had to change to import it, and a deployment without sources never is stale.
 */
export function staleSource(root: string, dist: string): string | undefined {
  for (const js of compiledFiles(dist)) {
    const source = relative(dist, js).replace(/\.js$/, '.ts');
    const st = statSync(join(root, source), { throwIfNoEntry: false });
    if (st && st.mtimeMs > statSync(js).mtimeMs) return source;
  }
  return undefined;
}

function* compiledFiles(dir: string): Generator<string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) yield* compiledFiles(path);
    else if (entry.name.endsWith('.js')) yield path;
  }
}

/**
 * Called first by every compiled entry point: a dist/ built before the last source change must
 * not run as if it were current (after a `git pull` without `npm install`, or an edit without
 * `npm run build`). Run from source (tsx), there is nothing to compare.
 */
export function exitIfStaleBuild(entryUrl: string, program: string): void {
  let dist = dirname(fileURLToPath(entryUrl));
  if (!entryUrl.endsWith('.js')) return;
  while (basename(dist) !== 'dist') {
    if (dirname(dist) === dist) return;
    dist = dirname(dist);
  }
  const stale = staleSource(dirname(dist), dist);
  if (stale === undefined) return;
  console.error(`${program}: the compiled build in ${dist} is older than ${stale}: run \`npm run build\` (\`npm install\` does it too)`);
  process.exit(2);
}
