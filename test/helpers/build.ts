import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { staleSource } from '../../shared/build-freshness.js';
import { ROOT } from './server.js';

export const DIST = join(ROOT, 'dist');

/** Compiles dist/ (as `npm install` does) when it is missing or older than a source; else keeps it. */
export function ensureFreshBuild(): void {
  if (existsSync(join(DIST, 'adapters/node/main.js')) && staleSource(ROOT, DIST) === undefined) return;
  const tsc = join(ROOT, 'node_modules/typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 240_000 });
  if (r.status !== 0) throw new Error(`npm run build failed (${r.status ?? r.signal}):\n${r.stdout}${r.stderr}`);
}
