import { describe, expect, it } from 'vitest';
import { InsufficientStorageError, NotFoundError, StorageUnavailableError, TooLargeError, TooManyRequestsError } from '../../core/errors.js';
import { copyPartRanges, copySource, parseContentRange, sliceStream } from '../../storage/blobs/s3/s3-objects.js';
import { formOfSuffix } from '../../storage/blobs/form-layout.js';
import { classifyS3Error, fromS3Error } from '../../storage/blobs/s3/s3-errors.js';
import { planAppend, segmentName } from '../../storage/blobs/s3/s3-upload-parts.js';

const s3err = (name: string, status?: number) => Object.assign(new Error(name), { name, $metadata: { httpStatusCode: status } });

describe('classifyS3Error', () => {
  it.each([
    [s3err('NoSuchKey', 404), 'not-found'],
    [s3err('NotFound', 404), 'not-found'],
    [s3err('Unknown', 404), 'not-found'],
    [s3err('EntityTooLarge', 400), 'too-large'],
    [s3err('XMinioStorageFull', 507), 'full'],
    [s3err('QuotaExceeded', 403), 'full'],
    [s3err('SlowDown', 503), 'throttled'],
    [s3err('Unknown', 429), 'throttled'],
    [s3err('InternalError', 500), 'unavailable'],
    [s3err('Unknown', 502), 'unavailable'],
    [Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 'unavailable'],
    [s3err('NoSuchBucket', 404), 'misconfigured'],
    [s3err('AccessDenied', 403), 'misconfigured'],
    [s3err('SignatureDoesNotMatch', 403), 'misconfigured'],
    [s3err('Unknown', 403), 'misconfigured'],
    [s3err('InvalidArgument', 400), 'other'],
    [new Error('plain'), 'other'],
    ['a string', 'other'],
    [null, 'other'],
  ])('%s -> %s', (err, want) => {
    expect(classifyS3Error(err)).toBe(want);
  });

  it('maps to our typed errors where one fits', () => {
    expect(fromS3Error(s3err('NoSuchKey', 404), 'x')).toBeInstanceOf(NotFoundError);
    expect(fromS3Error(s3err('EntityTooLarge', 400), 'x')).toBeInstanceOf(TooLargeError);
    expect(fromS3Error(s3err('XMinioStorageFull', 507), 'x')).toBeInstanceOf(InsufficientStorageError);
    expect(fromS3Error(s3err('SlowDown', 503), 'x')).toBeInstanceOf(TooManyRequestsError);
    const denied = fromS3Error(s3err('AccessDenied', 403), 'reading blob');
    expect(denied).toBeInstanceOf(StorageUnavailableError);
    expect((denied as StorageUnavailableError).detail).toMatch(/reading blob.*credentials.*AccessDenied/);
    expect(fromS3Error(Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }), 'x')).toBeInstanceOf(StorageUnavailableError);
    const odd = new Error('odd');
    expect(fromS3Error(odd, 'x')).toBe(odd);
  });
});

describe('copyPartRanges', () => {
  it.each([
    [0, 5, []],
    [1, 5, [{ start: 0, end: 0 }]],
    [5, 5, [{ start: 0, end: 4 }]],
    [6, 5, [{ start: 0, end: 4 }, { start: 5, end: 5 }]],
    [12, 5, [{ start: 0, end: 4 }, { start: 5, end: 9 }, { start: 10, end: 11 }]],
  ])('size %i in parts of %i', (size, part, want) => {
    expect(copyPartRanges(size, part)).toEqual(want);
  });
  it('covers 6 GiB in 1 GiB parts', () => {
    const r = copyPartRanges(6 * 2 ** 30 + 1, 2 ** 30);
    expect(r).toHaveLength(7);
    expect(r[6]).toEqual({ start: 6 * 2 ** 30, end: 6 * 2 ** 30 });
  });
  it('refuses a zero part size', () => {
    expect(() => copyPartRanges(10, 0)).toThrow(RangeError);
  });
});

describe('parseContentRange / copySource', () => {
  it.each([
    ['bytes 0-0/26', { start: 0, end: 0 }],
    ['bytes 3-25/26', { start: 3, end: 25 }],
    ['bytes 3-25/*', { start: 3, end: 25 }],
    ['bytes */26', undefined],
    ['', undefined],
    [undefined, undefined],
  ])('%s', (v, want) => {
    expect(parseContentRange(v)).toEqual(want);
  });
  it('encodes key segments but keeps the slashes', () => {
    expect(copySource('b', 'p x/tmp/a+b')).toBe('b/p%20x/tmp/a%2Bb');
  });
});

describe('sliceStream', () => {
  async function run(chunks: string[], start: number, end: number): Promise<string> {
    const src = new ReadableStream<Uint8Array>({
      start(c) {
        for (const s of chunks) c.enqueue(new TextEncoder().encode(s));
        c.close();
      },
    });
    let out = '';
    for await (const c of src.pipeThrough(sliceStream({ start, end })) as unknown as AsyncIterable<Uint8Array>) out += new TextDecoder().decode(c);
    return out;
  }
  it.each([
    [['abcdef'], 0, 0, 'a'],
    [['abc', 'def'], 2, 3, 'cd'],
    [['a', 'b', 'c', 'd'], 1, 2, 'bc'],
    [['abc', 'def'], 5, 5, 'f'],
    [['abc', 'def'], 0, 5, 'abcdef'],
  ])('%j [%i, %i]', async (chunks, start, end, want) => {
    expect(await run(chunks, start, end)).toBe(want);
  });
});

describe('planAppend (S3 upload-part segments)', () => {
  const seg = (start: number, size: number) => ({ key: `k${start}`, start, size });
  it.each([
    ['empty part, offset 0', [], 0, { held: 0, drop: [], splits: false }],
    ['two segments, append at the end', [seg(0, 10), seg(10, 5)], 15, { held: 15, drop: [], splits: false }],
    ['unsorted listing', [seg(10, 5), seg(0, 10)], 15, { held: 15, drop: [], splits: false }],
    ['a segment past the recorded offset (died unrecorded)', [seg(0, 10), seg(10, 5)], 10, { held: 10, drop: ['k10'], splits: false }],
    ['offset beyond what is held', [seg(0, 10)], 12, { held: 10, drop: [], splits: false }],
    ['a gap: later segments are garbage', [seg(0, 10), seg(12, 5)], 10, { held: 10, drop: ['k12'], splits: false }],
    ['offset inside a segment', [seg(0, 10)], 4, { held: 10, drop: [], splits: true }],
    ['size query (no offset)', [seg(0, 10), seg(10, 5), seg(20, 1)], Infinity, { held: 15, drop: ['k20'], splits: false }],
  ])('%s', (_name, segments, offset, want) => {
    expect(planAppend(segments, offset)).toEqual(want);
  });
  it('segment names sort like their offsets', () => {
    const names = [0, 9, 10, 5_000_000_000].map(segmentName);
    expect([...names].sort()).toEqual(names);
    expect(segmentName(42)).toBe('0000000000000042');
  });
});

describe('formOfSuffix', () => {
  it.each([
    ['', { state: 'hot', codec: null }],
    ['.gz', { state: 'cold', codec: 'gzip' }],
    ['.br', { state: 'cold', codec: 'br' }],
    ['.zip', undefined],
    ['gz', undefined],
    ['.gz.tmp', undefined],
  ])('%j', (suffix, want) => {
    expect(formOfSuffix(suffix)).toEqual(want);
  });
});
