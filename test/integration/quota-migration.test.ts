import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { drizzle } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS_FOLDER, SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';

interface Journal {
  entries: { idx: number; tag: string }[];
}

let dir: string | undefined;
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

describe('migration client_quotas on an existing catalog', () => {
  it('counts what each namespace already holds (current and history), with no quota set', async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-quota-mig-'));
    // The migrations as they were before quotas: the journal cut off before client_quotas.
    const before = join(dir, 'migrations');
    await cp(MIGRATIONS_FOLDER, before, { recursive: true });
    const journalFile = join(before, 'meta', '_journal.json');
    const journal = JSON.parse(await readFile(journalFile, 'utf8')) as Journal;
    const cut = journal.entries.findIndex((e) => e.tag.endsWith('_client_quotas'));
    expect(cut).toBeGreaterThan(0);
    await writeFile(journalFile, JSON.stringify({ ...journal, entries: journal.entries.slice(0, cut) }));

    const file = join(dir, 'catalog.sqlite');
    const old = new Database(file);
    migrate(drizzle(old), { migrationsFolder: before });
    old.exec(`
      insert into clients (name, token_id, token_hash, admin, created_at) values ('alice', 'a', 'ha', 0, 1), ('bob', 'b', 'hb', 0, 1), ('carol', 'c', 'hc', 0, 1);
      insert into blobs (sha256, size, stored_size, last_access, created_at) values ('s1', 10, 10, 1, 1), ('s2', 32, 32, 1, 1);
      insert into versions (path, namespace, sha256, size, uploaded_at) values
        ('alice/a', 'alice', 's1', 10, 1), ('alice/a', 'alice', 's2', 32, 2), ('alice/gone', 'alice', 's1', 10, 3),
        ('alice/gone', 'alice', null, 0, 4), ('bob/x', 'bob', 's2', 32, 5);`);
    old.close();

    const catalog = new SqliteCatalog({ file });
    try {
      expect(await catalog.quotaUsage('alice')).toEqual({ quotaBytes: null, usedBytes: 10 + 32 + 10 });
      expect(await catalog.quotaUsage('bob')).toEqual({ quotaBytes: null, usedBytes: 32 });
      expect(await catalog.quotaUsage('carol')).toEqual({ quotaBytes: null, usedBytes: 0 });
      expect((await catalog.getClient('alice'))?.quotaBytes).toBeNull();
    } finally {
      await catalog.close();
    }
  });
});
