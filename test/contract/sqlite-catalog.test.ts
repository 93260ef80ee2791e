import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { catalogContract } from './catalog-contract.js';

catalogContract('SqliteCatalog', async () => {
  const catalog = new SqliteCatalog({ file: ':memory:' });
  return { catalog, close: () => catalog.close() };
});

describe('SqliteCatalog durability', () => {
  // What waits for the WAL's sync, durable or not: test/unit/wal-sync.test.ts.
  it('runs the WAL with synchronous NORMAL: durable commits sync it off the main thread (WalSync), --durable false not at all', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-sync-'));
    try {
      const durable = new SqliteCatalog({ file: join(dir, 'a.sqlite') });
      expect(durable.sqlite.pragma('synchronous', { simple: true })).toBe(1);
      await durable.close();
      const fast = new SqliteCatalog({ file: join(dir, 'b.sqlite'), durable: false });
      expect(fast.sqlite.pragma('synchronous', { simple: true })).toBe(1);
      expect(fast.sqlite.pragma('journal_mode', { simple: true })).toBe('wal');
      await fast.close();
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
