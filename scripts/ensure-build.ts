// The compiled build for the test and the bench that run dist/: built as `npm install` does
// when it is missing or older than a source, else kept.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { staleSource } from '../shared/build-freshness.js';
import { isBundled } from './bundle-server.js';

const ROOT = resolve(import.meta.dirname, '..');
export const DIST = join(ROOT, 'dist');

export function ensureFreshBuild(): void {
  if (isBundled(DIST) && staleSource(ROOT, DIST) === undefined) return;
  // package.json's build script is the one definition of the build (tsc, then the server's bundle).
  const r = spawnSync('npm', ['run', '-s', 'build'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`npm run build failed (${r.status ?? r.signal ?? r.error?.message}):\n${r.stdout}${r.stderr}`);
}
