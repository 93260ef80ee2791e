import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
});
