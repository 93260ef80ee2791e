import { describe, expect, it } from 'vitest';
import { worthDraining } from '../../adapters/node/body-drain.js';
import { LARGE_BODY, wantsFastBody } from '../../adapters/node/request-body.js';

describe('wantsFastBody: which request bodies skip @hono/node-server Readable.toWeb', () => {
  it.each([
    ['PUT', 1, String(LARGE_BODY), undefined, true],
    ['PUT', 1, String(LARGE_BODY - 1), undefined, false],
    ['PATCH', 1, '1073741824', undefined, true],
    ['POST', 1, '120', undefined, false],
    ['PUT', 1, undefined, 'chunked', true],
    ['PUT', 1, undefined, undefined, false],
    ['PUT', 1, 'abc', undefined, false],
    ['GET', 1, '999999', undefined, false],
    ['HEAD', 1, undefined, 'chunked', false],
    ['PUT', 2, '999999', undefined, false],
    ['TRACE', 1, undefined, 'chunked', false],
    ['CONNECT', 1, '999999', undefined, false],
    ['PROPFIND', 1, undefined, 'chunked', false],
  ])('%s HTTP/%d, length %s, transfer-encoding %s -> %s', (method, version, length, te, want) => {
    expect(wantsFastBody(method, version, length, te)).toBe(want);
  });
});

describe('worthDraining: whether the rest of a body can be read before answering', () => {
  const limits = { bytes: 1000, ms: 1 };
  it.each([
    [undefined, false, true], // chunked: try
    ['1000', false, true],
    ['1001', false, false], // nothing read and more than the limit declared: answer at once
    ['5000', true, true], // part was read: the rest may be small
    ['abc', false, true],
  ])('Content-Length %s, read before %s -> %s', (length, read, want) => {
    expect(worthDraining(length, read, limits)).toBe(want);
  });
});
