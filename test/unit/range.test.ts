import { describe, expect, it } from 'vitest';
import { parseRange } from '../../handlers/http/range.js';

describe('parseRange (RFC 9110 14.2) on a 10000-byte file', () => {
  const size = 10_000;
  it.each([
    [undefined, { kind: 'none' }],
    ['bytes=0-499', { kind: 'ranges', ranges: [{ start: 0, end: 499 }] }],
    ['bytes=500-999', { kind: 'ranges', ranges: [{ start: 500, end: 999 }] }],
    ['bytes=-500', { kind: 'ranges', ranges: [{ start: 9500, end: 9999 }] }],
    ['bytes=9500-', { kind: 'ranges', ranges: [{ start: 9500, end: 9999 }] }],
    ['bytes=0-0,-1', { kind: 'ranges', ranges: [{ start: 0, end: 0 }, { start: 9999, end: 9999 }] }],
    ['bytes=9990-20000', { kind: 'ranges', ranges: [{ start: 9990, end: 9999 }] }],
    ['bytes=-20000', { kind: 'ranges', ranges: [{ start: 0, end: 9999 }] }],
    ['bytes= 0-1 , 5-6', { kind: 'ranges', ranges: [{ start: 0, end: 1 }, { start: 5, end: 6 }] }],
    ['BYTES=0-1', { kind: 'ranges', ranges: [{ start: 0, end: 1 }] }],
    // overlapping ranges are merged
    ['bytes=0-100,50-200', { kind: 'ranges', ranges: [{ start: 0, end: 200 }] }],
    ['bytes=10000-', { kind: 'unsatisfiable' }],
    ['bytes=10000-10001,20000-', { kind: 'unsatisfiable' }],
    ['bytes=-0', { kind: 'unsatisfiable' }],
    ['bytes=99999999999999999999999-', { kind: 'unsatisfiable' }],
    ['bytes=0-99999999999999999999999', { kind: 'ranges', ranges: [{ start: 0, end: 9999 }] }],
    // syntax we do not understand is ignored: the whole file is sent
    ['bytes=500-100', { kind: 'none' }],
    ['bytes=abc', { kind: 'none' }],
    ['bytes=-', { kind: 'none' }],
    ['bytes=', { kind: 'none' }],
    ['items=0-5', { kind: 'none' }],
    ['bytes=1-2-3', { kind: 'none' }],
    ['bytes=-1-', { kind: 'none' }],
    ['bytes=0x10-20', { kind: 'none' }],
    ['bytes=' + Array.from({ length: 101 }, (_, i) => `${i * 10}-${i * 10 + 1}`).join(','), { kind: 'none' }],
  ])('%s', (header, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });

  it('finds nothing satisfiable in an empty file', () => {
    expect(parseRange('bytes=0-', 0)).toEqual({ kind: 'unsatisfiable' });
    expect(parseRange('bytes=-5', 0)).toEqual({ kind: 'unsatisfiable' });
  });
});
