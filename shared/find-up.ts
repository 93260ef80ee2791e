import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `relative` (a folder of the project, e.g. `drizzle/migrations`) under the nearest ancestor of the
 * module at `moduleUrl` that holds it. Files the code reads at run time are found the same way from
 * source (under tsx), from the compiled dist/ and from a bundle, without copying them into dist/.
 */
export function findUp(moduleUrl: string, relative: string): string {
  const start = dirname(fileURLToPath(moduleUrl));
  for (let dir = start; ; dir = dirname(dir)) {
    const candidate = join(dir, relative);
    if (existsSync(candidate)) return candidate;
    if (dirname(dir) === dir) throw new Error(`${relative} not found in ${start} or any folder above it`);
  }
}
