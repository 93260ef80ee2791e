import { describe, expect, it } from 'vitest';
import { UsageError } from '../../client/errors.js';
import {
  defaultPrefix,
  encodeRemotePath,
  parsePrefix,
  pathFlavor,
  relativeKey,
  relativeSegments,
  remotePath,
} from '../../client/remote-path.js';

describe('pathFlavor', () => {
  it.each([
    ['C:\\Users\\me\\Documents', 'linux', 'win32'],
    ['c:/Users/me', 'linux', 'win32'],
    ['D:', 'linux', 'win32'],
    ['\\\\server\\share\\folder', 'linux', 'win32'],
    ['\\\\?\\C:\\very\\long', 'linux', 'win32'],
    ['/home/me/Documents', 'linux', 'posix'],
    ['relative/dir', 'linux', 'posix'],
    ['relative\\dir', 'win32', 'win32'],
    ['/home/me', 'darwin', 'posix'],
  ] as const)('%s on %s -> %s', (folder, platform, flavor) => {
    expect(pathFlavor(folder, platform)).toBe(flavor);
  });
});

describe('relativeSegments (win32 rules)', () => {
  it.each([
    ['drive letter', 'C:\\Users\\me\\Documents', 'C:\\Users\\me\\Documents\\a\\b.txt', ['a', 'b.txt']],
    ['forward slashes', 'C:/Users/me/Documents', 'C:\\Users\\me\\Documents\\a/b.txt', ['a', 'b.txt']],
    ['root given with trailing slash', 'C:\\Docs\\', 'C:\\Docs\\f.txt', ['f.txt']],
    ['UNC root', '\\\\server\\share\\folder', '\\\\server\\share\\folder\\x\\y.txt', ['x', 'y.txt']],
    ['UNC share itself', '\\\\server\\share\\', '\\\\server\\share\\top.txt', ['top.txt']],
    ['long-path prefix', '\\\\?\\C:\\Docs', '\\\\?\\C:\\Docs\\deep\\f.txt', ['deep', 'f.txt']],
    ['trailing dots and spaces kept', 'C:\\Docs', 'C:\\Docs\\dir. \\name. ', ['dir. ', 'name. ']],
    // Windows matches the root case-insensitively, but the file's own name keeps its case.
    ['case-only difference in the root', 'C:\\Docs', 'c:\\docs\\Readme.TXT', ['Readme.TXT']],
    ['another drive', 'C:\\Docs', 'D:\\Docs\\f.txt', undefined],
    ['a sibling folder', 'C:\\Docs', 'C:\\Docs2\\f.txt', undefined],
    ['the root itself', 'C:\\Docs', 'C:\\Docs', undefined],
  ] as const)('%s', (_name, root, file, expected) => {
    expect(relativeSegments(root, file, 'win32')).toEqual(expected);
  });

  it('keeps a long path of many levels intact', () => {
    const names = Array.from({ length: 40 }, (_, i) => `level ${i} ${'x'.repeat(20)}`);
    const file = `\\\\?\\C:\\Docs\\${names.join('\\')}\\f.txt`;
    expect(relativeSegments('\\\\?\\C:\\Docs', file, 'win32')).toEqual([...names, 'f.txt']);
  });
});

describe('relativeSegments (POSIX rules)', () => {
  it.each([
    ['nested', '/home/me/Documents', '/home/me/Documents/a/b.txt', ['a', 'b.txt']],
    // On Linux a backslash is an ordinary character of a name.
    ['backslash inside a name', '/data', '/data/a\\b.txt', ['a\\b.txt']],
    ['no Unicode normalisation (NFD stays NFD)', '/d', '/d/Cafe\u0301.txt', ['Cafe\u0301.txt']],
    ['case-only differences are different files', '/d', '/d/README', ['README']],
    ['outside', '/home/me/Documents', '/home/me/other.txt', undefined],
  ] as const)('%s', (_name, root, file, expected) => {
    expect(relativeSegments(root, file, 'posix')).toEqual(expected);
  });
});

describe('prefix', () => {
  it.each([
    ['Documents', ['Documents']],
    ['laptop/Documents', ['laptop', 'Documents']],
    ['laptop\\Documents', ['laptop', 'Documents']],
    ['', []],
  ] as const)('parsePrefix(%j)', (prefix, expected) => {
    expect(parsePrefix(prefix)).toEqual(expected);
  });

  it.each(['a//b', '/a', 'a/', '.', 'a/../b'])('refuses %j', (prefix) => {
    expect(() => parsePrefix(prefix)).toThrow(UsageError);
  });

  it.each([
    ['C:\\Users\\me\\Documents', 'win32', 'Documents'],
    ['C:\\Users\\me\\Documents\\', 'win32', 'Documents'],
    ['\\\\server\\share\\', 'win32', 'share'],
    ['/home/me/My Files', 'posix', 'My Files'],
  ] as const)('default prefix of %s is %s', (folder, flavor, expected) => {
    expect(defaultPrefix(folder, flavor)).toBe(expected);
  });

  it.each([
    ['C:\\', 'win32'],
    ['/', 'posix'],
  ] as const)('a root (%s) has no default prefix', (folder, flavor) => {
    expect(() => defaultPrefix(folder, flavor)).toThrow(/--prefix/);
  });
});

describe('remote paths', () => {
  it.each([
    ['alice', ['Documents'], ['a', 'b.txt'], 'alice/Documents/a/b.txt', 'alice/Documents/a/b.txt'],
    ['alice', [], ['x.txt'], 'alice/x.txt', 'alice/x.txt'],
    ['alice', ['My Docs'], ['Grüße 名前.txt'], 'alice/My Docs/Grüße 名前.txt', 'alice/My%20Docs/Gr%C3%BC%C3%9Fe%20%E5%90%8D%E5%89%8D.txt'],
    ['bob', ['d'], ['100% #1?.txt'], 'bob/d/100% #1?.txt', 'bob/d/100%25%20%231%3F.txt'],
  ] as const)('%s + %j + %j', (ns, prefix, rel, remote, encoded) => {
    expect(remotePath(ns, prefix, rel)).toBe(remote);
    expect(encodeRemotePath(remote)).toBe(encoded);
  });

  it('relativeKey joins with /', () => {
    expect(relativeKey(['a', 'b c', 'd.txt'])).toBe('a/b c/d.txt');
  });
});
