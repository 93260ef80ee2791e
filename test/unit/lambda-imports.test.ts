import { describe, expect, it } from 'vitest';
import { reachable } from '../helpers/imports.js';

describe('adapters/lambda bundle', () => {
  it('reaches no SQLite, no local-disk store and no Node HTTP server', () => {
    const { files, packages } = reachable('adapters/lambda/index.ts');
    expect(files).toContain('storage/blobs/s3/s3-blob-store.ts');
    expect(files).toContain('storage/catalog/pg/pg-catalog.ts');
    expect(files.filter((f) => /sqlite|disk-|adapters\/node\/(server|backends)/.test(f))).toEqual([]);
    expect(packages.filter((p) => /sqlite|@hono\/node-server/.test(p))).toEqual([]);
  });
});
