// The compiled build for the test and the bench that run dist/: built as `npm install` does
// when it is missing or older than a source, else kept.
import { spawnSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { staleSource } from '../shared/build-freshness.js';
import { bundleServer, isBundled } from './bundle-server.js';

const ROOT = resolve(import.meta.dirname, '..');
export const DIST = join(ROOT, 'dist');

export function ensureFreshBuild(): void {
  if (isBundled(DIST) && staleSource(ROOT, DIST) === undefined) return;
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`npm run build failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
  bundleServer(DIST);
}
