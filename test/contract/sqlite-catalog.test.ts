import { SqliteCatalog } from '../../storage/sqlite-catalog.js';
import { catalogContract } from './catalog-contract.js';

catalogContract('SqliteCatalog', async () => {
  const catalog = new SqliteCatalog({ file: ':memory:' });
  return { catalog, close: () => catalog.close() };
});
