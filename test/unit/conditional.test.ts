import { describe, expect, it } from 'vitest';
import { evaluateConditions, evaluateWriteConditions, hasWriteConditions, ifRangeAllows, parseEtagList } from '../../handlers/http/conditional.js';
import { contentDisposition } from '../../handlers/http/content-disposition.js';
import { parseContentDigest, parseMtime } from '../../handlers/http/headers.js';
import { BadRequestError } from '../../core/errors.js';

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

describe('evaluateWriteConditions (RFC 9110 13.2.2, for PUT)', () => {
  const cur = { etag: '"abc"', lastModified: 1_700_000_000 };
  it.each<[string, Record<string, string>, boolean, string]>([
    ['no conditions, new file', {}, false, 'proceed'],
    ['no conditions, existing', {}, true, 'proceed'],
    ['If-None-Match: * on a new file', { 'if-none-match': '*' }, false, 'proceed'],
    ['If-None-Match: * on an existing file', { 'if-none-match': '*' }, true, 'precondition-failed'],
    ['If-None-Match with the current ETag', { 'if-none-match': '"x", "abc"' }, true, 'precondition-failed'],
    ['If-None-Match with the current ETag, weak', { 'if-none-match': 'W/"abc"' }, true, 'precondition-failed'],
    ['If-None-Match with another ETag', { 'if-none-match': '"x"' }, true, 'proceed'],
    ['If-Match with the current ETag', { 'if-match': '"abc"' }, true, 'proceed'],
    ['If-Match listing the current ETag', { 'if-match': '"x", "abc"' }, true, 'proceed'],
    ['If-Match with a stale ETag', { 'if-match': '"x"' }, true, 'precondition-failed'],
    ['If-Match weak: strong comparison fails', { 'if-match': 'W/"abc"' }, true, 'precondition-failed'],
    ['If-Match: * on an existing file', { 'if-match': '*' }, true, 'proceed'],
    ['If-Match: * on a new file', { 'if-match': '*' }, false, 'precondition-failed'],
    ['If-Match with an ETag on a new file', { 'if-match': '"abc"' }, false, 'precondition-failed'],
    ['If-Match unparseable', { 'if-match': 'abc' }, true, 'precondition-failed'],
    ['If-Unmodified-Since before the change', { 'if-unmodified-since': date(cur.lastModified - 1) }, true, 'precondition-failed'],
    ['If-Unmodified-Since at the change', { 'if-unmodified-since': date(cur.lastModified) }, true, 'proceed'],
    ['If-Unmodified-Since on a new file is ignored', { 'if-unmodified-since': date(0) }, false, 'proceed'],
    ['If-Unmodified-Since ignored when If-Match is present', { 'if-match': '"abc"', 'if-unmodified-since': date(0) }, true, 'proceed'],
    ['If-Modified-Since does not apply to writes', { 'if-modified-since': date(cur.lastModified + 10) }, true, 'proceed'],
    ['If-Match passes, If-None-Match fails', { 'if-match': '"abc"', 'if-none-match': '*' }, true, 'precondition-failed'],
  ])('%s', (_name, headers, exists, expected) => {
    expect(evaluateWriteConditions((n) => headers[n], exists ? cur : undefined)).toBe(expected);
  });

  it('hasWriteConditions', () => {
    expect(hasWriteConditions(() => undefined)).toBe(false);
    expect(hasWriteConditions((n) => (n === 'if-none-match' ? '*' : undefined))).toBe(true);
    expect(hasWriteConditions((n) => (n === 'if-modified-since' ? date(0) : undefined))).toBe(false);
  });
});
