import { describe, expect, it } from 'vitest';
import { BadRequestError } from '../../core/errors.js';
import { assertNoDotSegments, encodePath, parseDecodedPath, parseFilePath } from '../../core/path.js';

describe('parseFilePath: accepted paths keep their names exactly', () => {
  it.each([
    ['alice/a.txt', 'alice/a.txt'],
    ['alice/docs/a%20b.txt', 'alice/docs/a b.txt'],
    ['alice/%E4%B8%AD%E6%96%87.txt', 'alice/中文.txt'],
    ['alice/caf%C3%A9.txt', 'alice/caf\u00e9.txt'], // NFC stays NFC
    ['alice/cafe%CC%81.txt', 'alice/cafe\u0301.txt'], // NFD stays NFD
    ['alice/%F0%9F%98%80.png', 'alice/😀.png'],
    ['alice/100%25.txt', 'alice/100%.txt'], // decoded exactly once
    ['alice/%252e%252e/x', 'alice/%2e%2e/x'],
    ['alice/.hidden', 'alice/.hidden'],
    ['alice/...', 'alice/...'],
    ['alice/ab:c', 'alice/ab:c'],
    ['alice/a:b.txt', 'alice/a:b.txt'], // a legal Linux name, not a drive
    ['alice/c:notes.txt', 'alice/c:notes.txt'],
    ['alice/docs/C:', 'alice/docs/C:'], // deeper down it is just a name
    ['alice/%EF%BB%BFa.txt', 'alice/\ufeffa.txt'], // a leading BOM is kept
    ['alice/%EF%BB%BF', 'alice/\ufeff'],
  ])('%s -> %s', (raw, path) => {
    expect(parseFilePath(raw).path).toBe(path);
  });

  it('splits namespace and relative path', () => {
    expect(parseFilePath('bob/x/y.txt')).toMatchObject({ namespace: 'bob', relative: 'x/y.txt', segments: ['bob', 'x', 'y.txt'] });
  });
});

describe('parseFilePath: the attack list is refused with 400', () => {
  const long = 'a'.repeat(256);
  it.each([
    ['../etc/passwd'],
    ['alice/../bob/x'],
    ['alice/%2e%2e/bob/x'],
    ['alice/%2E%2E/x'],
    ['alice/..%2fbob'],
    ['alice/..%2Fbob'],
    ['alice/.%2e/x'],
    ['alice/./x'],
    ['alice/%2e/x'],
    ['alice/a%00b'],
    ['alice/a%0ab'],
    ['alice/a%7fb'],
    ['alice/a%c2%85b'],
    ['alice/C:%5Cwindows'],
    ['C:/windows/x'],
    ['alice/C:'],
    ['alice/C:/windows'],
    ['alice/%5C%5Cserver%5Cshare'],
    ['alice/a%5Cb'],
    ['/alice/x'],
    ['//alice/x'],
    ['alice//x'],
    ['alice/x/'],
    ['alice'],
    [''],
    ['alice/%'],
    ['alice/%zz'],
    ['alice/%ff'],
    ['alice/%c0%ae%c0%ae'],
    ['alice/%ed%a0%80'],
    [`alice/${long}`],
    [`alice/${'d/'.repeat(70)}x`],
    [`alice/${('b'.repeat(200) + '/').repeat(21)}x`],
  ])('%s', (raw) => {
    expect(() => parseFilePath(raw)).toThrow(BadRequestError);
  });
});

describe('folders and decoded input', () => {
  it('accepts a bare namespace as a folder', () => {
    expect(parseFilePath('alice/', { folder: true }).path).toBe('alice');
    expect(parseFilePath('alice/docs/', { folder: true }).path).toBe('alice/docs');
  });
  it('keeps a leading BOM in decoded paths (tus metadata, JSON)', () => {
    expect(parseDecodedPath('alice/\ufeffa.txt').path).toBe('alice/\ufeffa.txt');
  });
  it('validates decoded paths the same way', () => {
    expect(parseDecodedPath('alice/a b/100%.txt').path).toBe('alice/a b/100%.txt');
    expect(() => parseDecodedPath('alice/../x')).toThrow(BadRequestError);
    expect(() => parseDecodedPath('alice\\x')).toThrow(BadRequestError);
  });
  it('encodes paths segment by segment', () => {
    expect(encodePath('alice/a b/#?.txt')).toBe('alice/a%20b/%23%3F.txt');
  });
});

describe('assertNoDotSegments: the request-target as sent', () => {
  it.each([
    ['/files/alice/../bob/x', false],
    ['/files/alice/./x', false],
    ['/files/alice/%2e%2e/bob/x', false],
    ['/files/alice/%2E./x', false],
    ['/files/alice/.%2E', false],
    ['/files/alice/%2e', false],
    ['/browse/alice/../', false],
    ['http://h:1/files/alice/../x', false],
    ['/files/alice/x?a=../b', true],
    ['/files/alice/%252e%252e/x', true],
    ['/files/alice/.../x', true],
    ['/files/alice/.hidden', true],
    ['/files/alice/a..b', true],
    ['/files/alice/%2e%2ex', true],
    ['http://h:1/files/alice/x', true],
    ['/', true],
  ])('%s -> accepted: %s', (target, ok) => {
    if (ok) expect(() => assertNoDotSegments(target)).not.toThrow();
    else expect(() => assertNoDotSegments(target)).toThrow(BadRequestError);
  });
});

describe('name and path limits count UTF-8 bytes, not characters', () => {
  it.each([
    ['€'.repeat(85), true],
    ['€'.repeat(86), false],
    ['😀'.repeat(63), true],
    ['😀'.repeat(64), false],
    ['é'.repeat(127), true],
    ['é'.repeat(128), false],
  ])('a name of %j fits: %s', (name, fits) => {
    const parse = () => parseDecodedPath(`alice/${name}`);
    if (fits) expect(parse().segments[1]).toBe(name);
    else expect(parse).toThrow(/longer than 255 bytes/);
  });

  it('a path of 4096 bytes fits, one more does not (multi-byte names)', () => {
    const dirs = (n: number) => Array.from({ length: n }, () => '€'.repeat(84)).join('/');
    // 'alice/' (6) + 16 names of 252 bytes with 15 slashes = 4053; fill up with ASCII.
    const base = `alice/${dirs(16)}/`;
    const fill = (bytes: number) => 'x'.repeat(bytes - Buffer.byteLength(base));
    expect(parseDecodedPath(base + fill(4096)).path).toBe(base + fill(4096));
    expect(() => parseDecodedPath(base + fill(4097))).toThrow(/longer than 4096 bytes/);
  });
});
