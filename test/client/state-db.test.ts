import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StateDb, type FileRecord } from '../../client/state-db.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'cb-state-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('StateDb', () => {
  it('creates its folder, migrates, and keeps records across reopening', () => {
    const file = join(dir, 'nested', 'state.sqlite');
    const rec: FileRecord = { path: 'a/Grüße.txt', remotePath: 'alice/d/a/Grüße.txt', size: 5, mtimeMs: 1_700_000_000_123.456, sha256: 'a'.repeat(64), via: 'put', confirmedAt: 1 };
    const db = new StateDb(file);
    db.putFile(rec);
    db.putFile({ ...rec, path: 'A/Grüße.txt' });
    // An update replaces every field.
    db.putFile({ ...rec, size: 6, sha256: 'b'.repeat(64), via: 'tus', confirmedAt: 2 });
    db.close();
    const again = new StateDb(file);
    try {
      expect(again.getFile('a/Grüße.txt')).toEqual({ ...rec, size: 6, sha256: 'b'.repeat(64), via: 'tus', confirmedAt: 2 });
      // Names are compared exactly: case and Unicode form matter.
      expect(again.getFile('A/Grüße.txt')?.size).toBe(5);
      expect(again.getFile('a/Gru\u0308ße.txt')).toBeUndefined();
      expect(again.countFiles()).toBe(2);
    } finally {
      again.close();
    }
  });

  it('filesIn: the records directly in one folder (not below it, not beside it); allPaths; putFiles', () => {
    const db = new StateDb(join(dir, 'folders.sqlite'));
    try {
      const rec = (path: string): FileRecord => ({ path, remotePath: `alice/d/${path}`, size: 1, mtimeMs: 2.5, sha256: 'a'.repeat(64), via: 'put', confirmedAt: 3 });
      const paths = ['top.txt', 'a/x', 'a/y', 'a/b/deep', 'a0/beside', 'a.b/dot', 'ab/other', 'a/Grüße', 'b/z'];
      db.putFiles(paths.map(rec));
      expect([...db.filesIn('a').keys()].sort()).toEqual(['a/Grüße', 'a/x', 'a/y']);
      expect(db.filesIn('a').get('a/x')).toEqual(rec('a/x'));
      expect([...db.filesIn('a/b').keys()]).toEqual(['a/b/deep']);
      expect([...db.filesIn('').keys()]).toEqual(['top.txt']);
      expect(db.filesIn('missing').size).toBe(0);
      expect(db.allPaths()).toEqual([...paths].sort());
    } finally {
      db.close();
    }
  });

  it('stores, replaces and deletes resumable uploads', () => {
    const db = new StateDb(join(dir, 'uploads.sqlite'));
    try {
      const up = { path: 'big.iso', remotePath: 'alice/d/big.iso', url: 'http://s/uploads/x', size: 10, mtimeMs: 5, sha256: 'c'.repeat(64), createdAt: 1 };
      db.putUpload(up);
      db.putUpload({ ...up, url: 'http://s/uploads/y' });
      expect(db.getUpload('big.iso')?.url).toBe('http://s/uploads/y');
      db.deleteUpload('big.iso');
      expect(db.getUpload('big.iso')).toBeUndefined();
      db.setMeta('server', 'http://s');
      expect(db.getMeta('server')).toBe('http://s');
    } finally {
      db.close();
    }
  });

  it('lists records below a folder, and tracks files gone locally until deleted', () => {
    const db = new StateDb(join(dir, 'missing.sqlite'));
    try {
      const rec = (path: string): FileRecord => ({ path, remotePath: `alice/d/${path}`, size: 1, mtimeMs: 1, sha256: 'a'.repeat(64), via: 'put', confirmedAt: 1 });
      for (const p of ['a', 'a/x', 'a/y/z', 'a b/x', 'a0', 'a-/x', 'ab/x', 'b/x']) db.putFile(rec(p));
      expect(db.filesUnder('a').map((r) => r.path)).toEqual(['a/x', 'a/y/z']);
      expect(db.filesUnder('a/y').map((r) => r.path)).toEqual(['a/y/z']);
      expect(db.filesUnder('zz')).toEqual([]);
      expect(db.allFiles()).toHaveLength(8);

      // The first sighting is kept, later ones do not move it.
      expect(db.markMissing('a/x', 100)).toBe(100);
      expect(db.markMissing('a/x', 200)).toBe(100);
      expect(db.missingPaths()).toEqual(['a/x']);
      db.clearMissing('a/x');
      expect(db.markMissing('a/x', 300)).toBe(300);
      db.deleteFile('a/x');
      expect(db.getFile('a/x')).toBeUndefined();
      expect(db.countMissing()).toBe(0);
      expect(db.countFiles()).toBe(7);
    } finally {
      db.close();
    }
  });

  it('a DB that lacks a migration gets it when opened (drizzle\'s migrator, loaded only then); a current one is left as it is', () => {
    const file = join(dir, 'old.sqlite');
    new StateDb(file).close();
    // As a DB written before 0001_missing: its table and its migration row gone.
    const raw = new Database(file);
    const [newest, count] = [raw.prepare('select max(created_at) from __drizzle_migrations').pluck().get(), raw.prepare('select count(*) from __drizzle_migrations').pluck().get() as number];
    raw.exec(`drop table missing; delete from __drizzle_migrations where created_at = ${Number(newest)}`);
    raw.close();
    const db = new StateDb(file);
    try {
      expect(db.markMissing('a', 7)).toBe(7);
      expect(db.sqlite.prepare('select count(*) from __drizzle_migrations').pluck().get()).toBe(count);
    } finally {
      db.close();
    }
    new StateDb(file).close();
    const after = new Database(file);
    try {
      expect(after.prepare('select count(*) from __drizzle_migrations').pluck().get()).toBe(count);
      expect(after.prepare('select since from missing').pluck().all()).toEqual([7]);
    } finally {
      after.close();
    }
  });
});

