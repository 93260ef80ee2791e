import { afterAll, beforeAll, describe, it } from 'vitest';
import { PgCatalog } from '../../storage/pg-catalog.js';
import { postgresUnavailable, startPostgres, type TestPostgres } from '../helpers/postgres.js';
import { catalogContract } from './catalog-contract.js';

const missing = postgresUnavailable();

if (missing) {
  describe.skip(`Catalog contract: PgCatalog (skipped: ${missing})`, () => {
    it('needs PostgreSQL', () => {});
  });
} else {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.stop();
  });
  // A fresh database per test: the migrations run on each, as on a new deployment.
  catalogContract('PgCatalog on a real PostgreSQL', async () => {
    const catalog = await PgCatalog.open({ url: await server.createDatabase(), max: 4 });
    return { catalog, close: () => catalog.close() };
  });
}
