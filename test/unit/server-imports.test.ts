import { describe, expect, it } from 'vitest';
import { reachable } from '../helpers/imports.js';

describe('adapters/node start-up', () => {
  it('a server on disk and SQLite loads neither the AWS SDK nor pg (they are imported only when configured)', () => {
    const { files, packages } = reachable('adapters/node/main.ts');
    expect(files).toContain('storage/catalog/sqlite/sqlite-catalog.ts');
    expect(packages.filter((p) => p.startsWith('@aws-sdk/') || p === 'pg' || p.startsWith('drizzle-orm/node-postgres'))).toEqual([]);
  });

  it('loads the browse pages, their assets and client-zip on first use, and prom-client class by class (issue 16)', () => {
    const { files, packages } = reachable('adapters/node/main.ts');
    // The route table is loaded; what renders the pages is not.
    expect(files).toContain('handlers/browse/routes.ts');
    expect(files.filter((f) => f.startsWith('handlers/browse/') && !/\/(routes|asset-routes|security)\.ts$/.test(f))).toEqual([]);
    expect(packages).not.toContain('client-zip');
    // prom-client's index loads the Pushgateway, the cluster aggregator and @opentelemetry/api.
    expect(packages.filter((p) => p === 'prom-client' || p.includes('opentelemetry'))).toEqual([]);
  });
});
