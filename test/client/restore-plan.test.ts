import { describe, expect, it } from 'vitest';
import { collisionKey, decide, partName, placeRemotePath, resumeOffset, targetMtime, type Action, type LocalState, type RemoteFile } from '../../client/restore-plan.js';

const SHA = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const remote: RemoteFile = { path: 'alice/Docs/x.txt', size: 10, sha256: SHA, mtime: 1_700_000_000_123, uploadedAt: 1_700_000_999_000 };

describe('placeRemotePath', () => {
  it.each([
    ['alice/Docs/a.txt', false, ['a.txt'], false],
    ['alice/Docs/sub/ü 日本.txt', false, ['sub', 'ü 日本.txt'], false],
    ['alice/Docs/CON.txt', false, ['CON.txt'], false],
    ['alice/Docs/CON.txt', true, ['CO%4E.txt'], true],
    ['alice/Docs/a?/b.', true, ['a%3F', 'b%2E'], true],
    ['alice/Docs/sub/ok.txt', true, ['sub', 'ok.txt'], false],
    // A backslash is a name character on POSIX, a separator on Windows: escaped there.
    ['alice/Docs/..\\..\\evil', true, ['..%5C..%5Cevil'], true],
    ['alice/Docs/..\\..\\evil', false, ['..\\..\\evil'], false],
  ])('%j (windows names: %s) -> %j', (path, windows, local, escaped) => {
    expect(placeRemotePath(path, 'alice/Docs/', windows)).toEqual({ ok: true, remoteSegments: path.slice('alice/Docs/'.length).split('/'), localSegments: local, escaped });
  });

  it.each([
    ['alice/Other/a.txt', /not below/],
    ['alice/Docs/../../etc/passwd', /"\.\."/],
    ['alice/Docs/./a', /"\."/],
    ['alice/Docs/a//b', /empty/],
    ['alice/Docs/', /empty/],
    ['alice/Docs/a\u0000b', /NUL/],
    ['alice/Docs/.cb-restore-partial/x', /partial downloads/],
  ])('refuses %j', (path, reason) => {
    const p = placeRemotePath(path, 'alice/Docs/', false);
    expect(p.ok).toBe(false);
    if (!p.ok) expect(p.reason).toMatch(reason);
  });

  it('a segment named like the partials folder is fine below the top', () => {
    expect(placeRemotePath('alice/Docs/sub/.cb-restore-partial', 'alice/Docs/', false).ok).toBe(true);
  });
});

describe('collisionKey', () => {
  it('folds case only where the file system does', () => {
    expect(collisionKey(['Sub', 'A.txt'], true)).toBe(collisionKey(['sub', 'a.TXT'], true));
    expect(collisionKey(['Sub', 'A.txt'], false)).not.toBe(collisionKey(['sub', 'a.TXT'], false));
  });
});

describe('partName', () => {
  it('depends on path and content, and is short', () => {
    expect(partName('alice/a', SHA)).toBe(partName('alice/a', SHA));
    expect(partName('alice/a', SHA)).not.toBe(partName('alice/a', OTHER));
    expect(partName('alice/a', SHA)).not.toBe(partName('alice/b', SHA));
    expect(partName('alice/a', SHA)).toMatch(/^[0-9a-f]{32}\.part$/);
  });
});

describe('targetMtime', () => {
  it.each([
    [{ mtime: 5, uploadedAt: 9 }, 5],
    [{ mtime: null, uploadedAt: 9 }, 9],
    [{ mtime: null, uploadedAt: undefined }, null],
  ])('%j -> %s', (f, t) => expect(targetMtime({ ...remote, ...f })).toBe(t));
});

describe('decide', () => {
  const m = remote.mtime as number;
  it.each<[string, LocalState, boolean, Action]>([
    ['missing', { kind: 'missing' }, false, { kind: 'download', replace: false }],
    ['same size, not hashed yet', { kind: 'file', size: 10, mtimeMs: m }, false, { kind: 'hash' }],
    ['right content and mtime', { kind: 'file', size: 10, mtimeMs: m, sha256: SHA }, false, { kind: 'unchanged' }],
    ['right content, mtime with sub-ms part', { kind: 'file', size: 10, mtimeMs: m + 0.7, sha256: SHA }, false, { kind: 'unchanged' }],
    ['right content, other mtime', { kind: 'file', size: 10, mtimeMs: m - 1000, sha256: SHA }, false, { kind: 'set-mtime' }],
    ['other content', { kind: 'file', size: 10, mtimeMs: m, sha256: OTHER }, false, { kind: 'refuse', reason: 'differs from the backup (same size, other content); not replaced without --overwrite' }],
    ['other size', { kind: 'file', size: 3, mtimeMs: m }, false, { kind: 'refuse', reason: 'differs from the backup (3 bytes here, 10 in the backup); not replaced without --overwrite' }],
    ['other content, --overwrite', { kind: 'file', size: 10, mtimeMs: m, sha256: OTHER }, true, { kind: 'download', replace: true }],
    ['other size, --overwrite', { kind: 'file', size: 3, mtimeMs: m }, true, { kind: 'download', replace: true }],
    ['right content, --overwrite', { kind: 'file', size: 10, mtimeMs: m, sha256: SHA }, true, { kind: 'unchanged' }],
    ['a folder', { kind: 'directory' }, true, { kind: 'refuse', reason: 'a local folder has this name' }],
    ['a symlink', { kind: 'other', what: 'symbolic link' }, false, { kind: 'refuse', reason: 'a symbolic link has this name; not replaced without --overwrite' }],
    ['a symlink, --overwrite', { kind: 'other', what: 'symbolic link' }, true, { kind: 'download', replace: true }],
  ])('%s', (_name, local, overwrite, action) => expect(decide(remote, local, overwrite)).toEqual(action));

  it('no mtime known: the content decides alone', () => {
    expect(decide({ ...remote, mtime: null, uploadedAt: undefined }, { kind: 'file', size: 10, mtimeMs: 1, sha256: SHA }, false)).toEqual({ kind: 'unchanged' });
  });
});

describe('resumeOffset', () => {
  it.each([
    [0, 10, 0],
    [4, 10, 4],
    [10, 10, 'check'],
    [0, 0, 'check'],
    [12, 10, 0],
  ])('partial %i of %i -> %s', (part, size, r) => expect(resumeOffset(part, size)).toBe(r));
});
