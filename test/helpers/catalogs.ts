import { afterAll } from 'vitest';
import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from './postgres.js';

/**
 * Both catalogs for `describe.each`: SQLite in memory, and PostgreSQL when its binaries are here
 * (one throwaway cluster for the test file, a fresh database per call, stopped after the file).
 * Call it at the top level of a test file.
 */
export function bothCatalogs(): [string, () => Promise<SqliteCatalog | PgCatalog>][] {
  let pgServer: TestPostgres | undefined;
  afterAll(async () => {
    await pgServer?.stop();
  });
  const backends: [string, () => Promise<SqliteCatalog | PgCatalog>][] = [['SqliteCatalog', async () => new SqliteCatalog({ file: ':memory:' })]];
  if (!postgresUnavailable()) {
    backends.push([
      'PgCatalog',
      async () => {
        pgServer ??= await startPostgres();
        return PgCatalog.open({ url: await pgServer.createDatabase(), max: 2 });
      },
    ]);
  }
  return backends;
}
