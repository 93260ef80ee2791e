import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statNow } from '../../client/hashing.js';
import { statOf } from '../../client/uploader.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cb-stat-'));
  await writeFile(join(dir, 'file.txt'), 'twelve bytes');
  await mkdir(join(dir, 'folder'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('a file looked at again (async statOf while sending, statNow in a batch): the same answers', () => {
  it('a regular file: its size and mtime; gone, a folder, or below what is now a file: undefined', async () => {
    const file = await statOf(join(dir, 'file.txt'));
    expect(file).toMatchObject({ size: 12 });
    expect(statNow(join(dir, 'file.txt'))).toEqual(file);
    for (const gone of ['missing.txt', 'folder', 'file.txt/child.txt', 'missing/child.txt']) {
      expect(await statOf(join(dir, gone)), gone).toBeUndefined();
      expect(statNow(join(dir, gone)), gone).toBeUndefined();
    }
  });
});
