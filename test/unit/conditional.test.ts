import { describe, expect, it } from 'vitest';
import { evaluateConditions, ifRangeAllows, parseEtagList } from '../../handlers/conditional.js';
import { contentDisposition } from '../../handlers/content-disposition.js';
import { parseContentDigest, parseMtime } from '../../handlers/headers.js';
import { BadRequestError } from '../../storage/errors.js';

const v = { etag: '"abc"', lastModified: 1_700_000_000 };
const date = (s: number) => new Date(s * 1000).toUTCString();

describe('evaluateConditions (RFC 9110 13.2.2)', () => {
  it.each<[Record<string, string>, string]>([
    [{}, 'proceed'],
    [{ 'if-none-match': '"abc"' }, 'not-modified'],
    [{ 'if-none-match': 'W/"abc"' }, 'not-modified'],
    [{ 'if-none-match': '"x", "abc"' }, 'not-modified'],
    [{ 'if-none-match': '*' }, 'not-modified'],
    [{ 'if-none-match': '"x"' }, 'proceed'],
    [{ 'if-modified-since': date(v.lastModified) }, 'not-modified'],
    [{ 'if-modified-since': date(v.lastModified + 10) }, 'not-modified'],
    [{ 'if-modified-since': date(v.lastModified - 1) }, 'proceed'],
    [{ 'if-modified-since': 'garbage' }, 'proceed'],
    // If-None-Match wins over If-Modified-Since
    [{ 'if-none-match': '"x"', 'if-modified-since': date(v.lastModified + 10) }, 'proceed'],
    [{ 'if-match': '"abc"' }, 'proceed'],
    [{ 'if-match': '*' }, 'proceed'],
    [{ 'if-match': 'W/"abc"' }, 'precondition-failed'],
    [{ 'if-match': '"x"' }, 'precondition-failed'],
    [{ 'if-unmodified-since': date(v.lastModified - 1) }, 'precondition-failed'],
    [{ 'if-unmodified-since': date(v.lastModified) }, 'proceed'],
  ])('%j -> %s', (headers, expected) => {
    expect(evaluateConditions((n) => headers[n], v)).toBe(expected);
  });
});

describe('ifRangeAllows (RFC 9110 13.1.5)', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, true],
    ['"abc"', true],
    ['"other"', false],
    ['W/"abc"', false],
    [date(v.lastModified), true],
    [date(v.lastModified + 1), false],
    ['nonsense', false],
  ])('%s -> %s', (h, expected) => {
    expect(ifRangeAllows(h, v)).toBe(expected);
  });
  it('parses etag lists', () => {
    expect(parseEtagList('"a", W/"b",*')).toEqual(['"a"', 'W/"b"', '*']);
  });
});

describe('Content-Disposition (RFC 6266)', () => {
  it.each([
    ['report.pdf', 'attachment; filename="report.pdf"'],
    ['中文 报告.pdf', `attachment; filename="__ __.pdf"; filename*=UTF-8''%E4%B8%AD%E6%96%87%20%E6%8A%A5%E5%91%8A.pdf`],
    ['a"b\\c.txt', `attachment; filename="a_b_c.txt"; filename*=UTF-8''a%22b%5Cc.txt`],
    ["it's (1).txt", `attachment; filename="it's (1).txt"`],
    ['café.txt', `attachment; filename="caf_.txt"; filename*=UTF-8''caf%C3%A9.txt`],
  ])('%s', (name, expected) => {
    expect(contentDisposition(name)).toBe(expected);
  });
});

describe('request headers', () => {
  it('parses Content-Digest sha-256 and ignores other algorithms', () => {
    const b64 = Buffer.alloc(32, 1).toString('base64');
    expect(parseContentDigest(`sha-256=:${b64}:`)).toBe('01'.repeat(32));
    expect(parseContentDigest(`sha-512=:AAAA:, sha-256=:${b64}:`)).toBe('01'.repeat(32));
    expect(parseContentDigest('sha-512=:AAAA:')).toBeUndefined();
    expect(parseContentDigest(undefined)).toBeUndefined();
    expect(() => parseContentDigest('sha-256=:short:')).toThrow(BadRequestError);
    expect(() => parseContentDigest('sha-256=abc')).toThrow(BadRequestError);
  });
  it('parses X-File-Mtime', () => {
    expect(parseMtime('1700000000123')).toBe(1700000000123);
    expect(parseMtime(undefined)).toBeNull();
    expect(() => parseMtime('-1')).toThrow(BadRequestError);
    expect(() => parseMtime('1e9')).toThrow(BadRequestError);
  });
});
