import { mkdir, mkdtemp, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { staleSource } from '../../shared/build-freshness.js';

let root: string | undefined;
afterEach(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** A project with files at the given mtimes (seconds); paths under dist/ are the compiled ones. */
async function project(files: Record<string, number>): Promise<string> {
  root = await mkdtemp(join(tmpdir(), 'cb-fresh-'));
  for (const [path, mtime] of Object.entries(files)) {
    await mkdir(dirname(join(root, path)), { recursive: true });
    await writeFile(join(root, path), '');
    await utimes(join(root, path), mtime, mtime);
  }
  return root;
}

describe('staleSource', () => {
  const cases: { name: string; files: Record<string, number>; stale: string | undefined }[] = [
    { name: 'every compiled file newer than its source', files: { 'a/x.ts': 100, 'dist/a/x.js': 200, 'b/y.ts': 150, 'dist/b/y.js': 200 }, stale: undefined },
    { name: 'a source edited after the build', files: { 'a/x.ts': 100, 'dist/a/x.js': 200, 'b/y.ts': 300, 'dist/b/y.js': 200 }, stale: join('b', 'y.ts') },
    { name: 'a deployment of dist/ without sources', files: { 'dist/a/x.js': 200 }, stale: undefined },
    { name: 'a source removed since the build', files: { 'a/x.ts': 100, 'dist/a/x.js': 200, 'dist/gone.js': 200 }, stale: undefined },
    { name: 'other files in dist/ are not compared', files: { 'a/x.ts': 300, 'dist/a/x.d.ts': 200, 'dist/a/x.js': 400 }, stale: undefined },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const dir = await project(c.files);
      expect(staleSource(dir, join(dir, 'dist'))).toBe(c.stale);
    });
  }
});
