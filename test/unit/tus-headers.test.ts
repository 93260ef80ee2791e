import { describe, expect, it } from 'vitest';
import { BadRequestError, PreconditionFailedError, UnsupportedMediaTypeError } from '../../core/errors.js';
import { KeyedMutex } from '../../storage/locks/keyed-mutex.js';
import { reclaimIntervalMs } from '../../handlers/tus/expire.js';
import {
  checkOffsetStream,
  checkTusResumable,
  hasOffsetStream,
  parseByteCount,
  parseUploadChecksum,
  parseUploadMetadata,
  uploadFields,
} from '../../handlers/tus/headers.js';
import { uploadLocation } from '../../handlers/tus/post.js';
import { UploadGate } from '../../handlers/tus/upload-lock.js';
import { isUploadId, newUploadId } from '../../handlers/tus/uploads.js';
import { sha256 } from '../helpers/bytes.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('Tus-Resumable', () => {
  it.each([['1.0.0'], [' 1.0.0 ']])('accepts %j', (v) => expect(() => checkTusResumable(v)).not.toThrow());
  it.each([[undefined], [''], ['0.2.2'], ['1.0']])('412 for %j', (v) => {
    expect(() => checkTusResumable(v)).toThrow(PreconditionFailedError);
  });
});

describe('Upload-Offset / Upload-Length', () => {
  it.each([
    ['0', 0],
    ['52428800', 52428800],
    [' 7 ', 7],
  ])('%j -> %d', (v, n) => expect(parseByteCount('Upload-Offset', v)).toBe(n));
  it.each([[undefined], [''], ['-1'], ['1.5'], ['1e3'], ['0x10'], ['99999999999999999']])('400 for %j', (v) => {
    expect(() => parseByteCount('Upload-Offset', v)).toThrow(BadRequestError);
  });
});

describe('Content-Type of PATCH', () => {
  it.each([['application/offset+octet-stream'], ['Application/Offset+Octet-Stream; charset=binary']])('accepts %j', (v) => {
    expect(() => checkOffsetStream(v)).not.toThrow();
    expect(hasOffsetStream(v)).toBe(true);
  });
  it.each([[undefined], ['application/octet-stream'], ['text/plain']])('415 for %j', (v) => {
    expect(() => checkOffsetStream(v)).toThrow(UnsupportedMediaTypeError);
    expect(hasOffsetStream(v)).toBe(false);
  });
});

describe('Upload-Metadata', () => {
  it.each<[string | undefined, Record<string, string>]>([
    [undefined, {}],
    ['', {}],
    [`path ${b64('alice/a b.txt')}`, { path: 'alice/a b.txt' }],
    [`path ${b64('alice/ü.txt')},filetype ${b64('text/plain')}, flag`, { path: 'alice/ü.txt', filetype: 'text/plain', flag: '' }],
    [`empty `, { empty: '' }],
  ])('%j', (header, expected) => {
    expect(Object.fromEntries(parseUploadMetadata(header))).toEqual(expected);
  });
  it.each([
    ['path a b'],
    [`path ${b64('x')},path ${b64('y')}`],
    [`,path ${b64('x')}`],
    ['path ***'],
    ['path YQ'],
    [`path ${Buffer.from([0xff, 0xfe]).toString('base64')}`],
    [`k ${b64('x'.repeat(20_000))}`],
  ])('400 for %j', (header) => {
    expect(() => parseUploadMetadata(header)).toThrow(BadRequestError);
  });

  it('reads path, mtime and sha256 (hex, any case)', () => {
    const sha = sha256('x');
    expect(uploadFields(new Map([['path', 'alice/a'], ['mtime', '1700000000000'], ['sha256', sha.toUpperCase()]]))).toEqual({
      path: 'alice/a',
      mtime: 1700000000000,
      sha256: sha,
    });
    expect(uploadFields(new Map([['path', 'alice/a'], ['filename', 'a']]))).toEqual({ path: 'alice/a', mtime: null, sha256: null });
  });
  it.each<[Record<string, string>]>([[{}], [{ path: '' }], [{ path: 'a/b', mtime: 'yesterday' }], [{ path: 'a/b', sha256: 'abc' }]])(
    '400 for %j',
    (meta) => {
      expect(() => uploadFields(new Map(Object.entries(meta)))).toThrow(BadRequestError);
    },
  );
});

describe('Upload-Checksum', () => {
  const digest = Buffer.from(sha256('hello'), 'hex').toString('base64');
  it('sha256 <base64> -> hex', () => {
    expect(parseUploadChecksum(undefined)).toBeUndefined();
    expect(parseUploadChecksum(`sha256 ${digest}`)).toBe(sha256('hello'));
    expect(parseUploadChecksum(`SHA256 ${digest}`)).toBe(sha256('hello'));
  });
  it.each([[`sha1 ${digest}`], [`md5 ${digest}`], [digest], ['sha256 abc='], [`sha256 ${digest.slice(0, -2)}==`]])('400 for %j', (v) => {
    expect(() => parseUploadChecksum(v)).toThrow(BadRequestError);
  });
});

describe('upload ids and locations', () => {
  it('ids are 22 URL-safe characters and differ', () => {
    const ids = new Set(Array.from({ length: 200 }, newUploadId));
    expect(ids.size).toBe(200);
    for (const id of ids) expect(isUploadId(id)).toBe(true);
    expect(isUploadId('../../x')).toBe(false);
  });
  it.each([
    ['/uploads/', 'ID', 'ID'],
    ['/uploads', 'ID', 'uploads/ID'],
    ['/backup/uploads/', 'ID', 'ID'],
    ['/backup/uploads', 'ID', 'uploads/ID'],
  ])('POST %s -> Location %s resolves under the creation URL', (path, id, location) => {
    expect(uploadLocation(path, id)).toBe(location);
    const base = `https://example.test${path}`;
    expect(new URL(uploadLocation(path, id), base).pathname).toBe(`${path.replace(/\/$/, '')}/${id}`);
  });
  it.each([
    [60_000, 15_000],
    [24 * 3600_000, 15 * 60_000],
    [10, 1_000],
  ])('expiry %d ms -> reclaim every %d ms', (expiry, interval) => expect(reclaimIntervalMs(expiry)).toBe(interval));
});

describe('UploadGate', () => {
  it('runs one request per upload at a time and asks the holder to stop when another arrives', async () => {
    const gate = new UploadGate(new KeyedMutex());
    const events: string[] = [];
    let release!: () => void;
    const first = gate.run('u', async (takenOver) => {
      events.push('first start');
      await new Promise<void>((resolve) => {
        release = resolve;
        takenOver.addEventListener('abort', () => {
          events.push('first asked to stop');
          resolve();
        });
      });
      events.push('first end');
    });
    await new Promise((r) => setImmediate(r));
    const other = gate.run('v', async () => events.push('other upload runs'));
    await other;
    const second = gate.run('u', async (takenOver) => {
      events.push(`second start (aborted=${takenOver.aborted})`);
    });
    await Promise.all([first, second]);
    release();
    expect(events).toEqual(['first start', 'other upload runs', 'first asked to stop', 'first end', 'second start (aborted=false)']);
  });
});
