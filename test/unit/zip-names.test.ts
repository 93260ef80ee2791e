import { describe, expect, it } from 'vitest';
import { renamedFile, zipEntryName } from '../../handlers/browse/zip-names.js';

describe('renamedFile', () => {
  it.each([
    ['notes', 1, 'notes (file)'],
    ['notes', 2, 'notes (file 2)'],
    ['report.txt', 1, 'report (file).txt'],
    ['archive.tar.gz', 1, 'archive.tar (file).gz'],
    ['.config', 1, '.config (file)'],
    ['a.', 1, 'a (file).'],
  ])('%s #%i -> %s', (name, n, want) => {
    expect(renamedFile(name, n)).toBe(want);
  });
});

describe('zipEntryName', () => {
  const folders = new Set(['u/z/notes', 'u/z/log', 'u/z/log (file 2)', 'u/z/a/b']);
  const files = new Set(['u/z/log (file)']);
  const taken = { isFolder: async (p: string) => folders.has(p), isFile: async (p: string) => files.has(p) };
  it.each([
    ['u/z/plain.txt', 'plain.txt'],
    ['u/z/notes', 'notes (file)'],
    ['u/z/log', 'log (file 3)'],
    ['u/z/a/b', 'a/b (file)'],
    ['u/z/a/c', 'a/c'],
  ])('%s -> %s', async (path, want) => {
    expect(await zipEntryName(path, 'u/z', taken)).toBe(want);
  });
});
