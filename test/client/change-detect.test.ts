import { describe, expect, it } from 'vitest';
import { chooseTransport, type ConfirmedRecord, decideAfterHash, decideFromStat, deleteWaitMs, isUnder, repairReason, sameStat } from '../../client/change-detect.js';

const NOW = 1_700_000_000_000;
const SETTLE = 3000;
const REMOTE = 'alice/Docs/a.txt';
const rec: ConfirmedRecord = { size: 10, mtimeMs: NOW - 60_000, sha256: 'a'.repeat(64), remotePath: REMOTE };

describe('decideFromStat', () => {
  it.each([
    ['never seen, old file', { size: 10, mtimeMs: NOW - 60_000 }, undefined, REMOTE, { action: 'hash' }],
    ['never seen, written just now', { size: 10, mtimeMs: NOW - 1000 }, undefined, REMOTE, { action: 'defer', retryAtMs: NOW + 2000 }],
    ['never seen, exactly settled', { size: 10, mtimeMs: NOW - SETTLE }, undefined, REMOTE, { action: 'hash' }],
    ['same size and mtime', { size: 10, mtimeMs: NOW - 60_000 }, rec, REMOTE, { action: 'unchanged' }],
    // Unchanged files are never deferred, however recent their mtime.
    ['same, recent mtime', { size: 10, mtimeMs: NOW - 100 }, { ...rec, mtimeMs: NOW - 100 }, REMOTE, { action: 'unchanged' }],
    ['size differs', { size: 11, mtimeMs: NOW - 60_000 }, rec, REMOTE, { action: 'hash' }],
    ['mtime differs', { size: 10, mtimeMs: NOW - 50_000 }, rec, REMOTE, { action: 'hash' }],
    ['sub-millisecond mtime difference', { size: 10, mtimeMs: NOW - 60_000 + 0.25 }, rec, REMOTE, { action: 'hash' }],
    ['mtime differs, still being written', { size: 10, mtimeMs: NOW - 10 }, rec, REMOTE, { action: 'defer', retryAtMs: NOW - 10 + SETTLE }],
    ['meant for another remote path (new --prefix)', { size: 10, mtimeMs: NOW - 60_000 }, rec, 'alice/Other/a.txt', { action: 'hash' }],
    ['mtime slightly in the future (clock skew, still settling)', { size: 10, mtimeMs: NOW + 1000 }, undefined, REMOTE, { action: 'defer', retryAtMs: NOW + 1000 + SETTLE }],
    ['mtime far in the future is not waited for', { size: 10, mtimeMs: NOW + 86_400_000 }, undefined, REMOTE, { action: 'hash' }],
  ] as const)('%s', (_name, local, record, remote, expected) => {
    expect(decideFromStat(local, record, remote, NOW, SETTLE)).toEqual(expected);
  });

  it('settle 0 never defers', () => {
    expect(decideFromStat({ size: 1, mtimeMs: NOW }, undefined, REMOTE, NOW, 0)).toEqual({ action: 'hash' });
  });
});

describe('decideAfterHash', () => {
  it.each([
    ['no record', 'a'.repeat(64), undefined, REMOTE, 'send'],
    ['same content, touched', 'a'.repeat(64), rec, REMOTE, 'record'],
    ['new content', 'b'.repeat(64), rec, REMOTE, 'send'],
    ['same content, new remote path', 'a'.repeat(64), rec, 'alice/Other/a.txt', 'send'],
  ] as const)('%s -> %s', (_name, sha, record, remote, action) => {
    expect(decideAfterHash(sha, record, remote).action).toBe(action);
  });
});

describe('chooseTransport', () => {
  const MiB = 1024 * 1024;
  it.each([
    [0, true, 'put'],
    [8 * MiB, true, 'put'],
    [8 * MiB + 1, true, 'tus'],
    [8 * MiB + 1, false, 'put'],
    [10 * 1024 * MiB, false, 'put'],
  ] as const)('%i bytes, tus %s -> %s', (size, tus, expected) => {
    expect(chooseTransport(size, tus, 8 * MiB)).toBe(expected);
  });
});

describe('sameStat', () => {
  const before = { size: 5, mtimeMs: 100 };
  it.each([
    ['untouched', before, true],
    ['gone', undefined, false],
    ['grew', { size: 6, mtimeMs: 100 }, false],
    ['shrank', { size: 4, mtimeMs: 100 }, false],
    ['rewritten, same size', { size: 5, mtimeMs: 200 }, false],
    ['touched by a fraction of a millisecond', { size: 5, mtimeMs: 100.5 }, false],
  ] as const)('%s -> %s', (_name, after, expected) => {
    expect(sameStat(before, after)).toBe(expected);
  });
});

describe('repairReason', () => {
  const record = { size: 5, mtimeMs: 1, sha256: 'a'.repeat(64), remotePath: 'alice/d/x' };
  it.each([
    ['the server holds the same content', 'a'.repeat(64), undefined],
    ['the server lost it', undefined, 'missing'],
    ['the server holds other bytes', 'b'.repeat(64), 'different'],
  ] as const)('%s -> %s', (_name, held, expected) => {
    expect(repairReason(record, held)).toBe(expected);
  });
});

describe('isUnder', () => {
  it.each([
    ['a/b.txt', [], false],
    ['a/b.txt', [''], true],
    ['a/b.txt', ['a'], true],
    ['a/b.txt', ['a/b.txt'], true],
    ['ab/c.txt', ['a'], false],
    ['a b/c.txt', ['a'], false],
    ['x/y/z', ['q', 'x/y'], true],
    ['x/yz', ['x/y'], false],
  ] as const)('%s under %j -> %s', (key, dirs, expected) => {
    expect(isUnder(key, dirs)).toBe(expected);
  });
});

describe('deleteWaitMs', () => {
  it.each([
    [1000, 1000, 3000, 3000],
    [1000, 3500, 3000, 500],
    [1000, 4000, 3000, 0],
    [1000, 9000, 3000, 0],
    [1000, 1000, 0, 0],
  ])('gone since %i, now %i, settle %i -> wait %i', (since, now, settle, wait) => {
    expect(deleteWaitMs(since, now, settle)).toBe(wait);
  });
});
