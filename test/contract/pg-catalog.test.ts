import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { PgKeyedMutex } from '../../storage/locks/pg-keyed-mutex.js';
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

  describe('PgKeyedMutex: per-key locks across instances', () => {
    const tick = () => new Promise((r) => setTimeout(r, 20));

    it('two instances never run work for one key at once; different keys run side by side', async () => {
      const url = await server.createDatabase();
      const [a, b] = [new PgKeyedMutex({ url }), new PgKeyedMutex({ url })];
      try {
        let inside = 0;
        let overlap = 0;
        const log: string[] = [];
        const work = (who: string) => async () => {
          inside++;
          if (inside > 1) overlap++;
          log.push(`${who}+`);
          await tick();
          log.push(`${who}-`);
          inside--;
        };
        await Promise.all([a.run('k', work('a1')), b.run('k', work('b1')), a.run('k', work('a2')), b.run('k', work('b2'))]);
        expect(overlap).toBe(0);
        expect(log).toHaveLength(8);
        // Other keys are not held up by a held key.
        let release!: () => void;
        const held = a.run('busy', () => new Promise<void>((r) => (release = r)));
        await tick();
        expect(await b.run('free', async () => 'ran')).toBe('ran');
        release();
        await held;
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('runAll holds many keys at once on one connection: overlapping sets in any order never deadlock', async () => {
      const url = await server.createDatabase();
      // More keys than either pool has connections.
      const [a, b] = [new PgKeyedMutex({ url, max: 2 }), new PgKeyedMutex({ url, max: 2 })];
      try {
        const keys = Array.from({ length: 20 }, (_, i) => `k${i}`);
        let inside = 0;
        let overlap = 0;
        const work = async () => {
          inside++;
          if (inside > 1) overlap++;
          await tick();
          inside--;
        };
        await Promise.all([a.runAll(keys, work), b.runAll([...keys].reverse(), work), a.runAll(keys.slice(5), work), b.run('k7', work)]);
        expect(overlap).toBe(0);
        // All released: another instance takes each key at once.
        expect(await b.runAll(keys, async () => 'free')).toBe('free');
      } finally {
        await a.close();
        await b.close();
      }
    });

    it('a lock whose holder vanished (connection gone) is free again', { timeout: 60_000 }, async () => {
      const url = await server.createDatabase();
      const lines: string[] = [];
      const a = new PgKeyedMutex({ url, log: (l) => lines.push(l) });
      const b = new PgKeyedMutex({ url });
      try {
        let entered!: () => void;
        const inside = new Promise<void>((r) => (entered = r));
        const stuck = a.run('k', async () => {
          entered();
          await new Promise(() => {}); // never finishes: the instance "crashes" instead
        });
        void stuck.catch(() => {});
        await inside;
        // Kill a's connections as a crash would (server-side), then b must get the key.
        const admin = new pg.Client({ connectionString: url });
        await admin.connect();
        await admin.query(`select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()`);
        await admin.end();
        expect(await b.run('k', async () => 'got it')).toBe('got it');
        expect(lines.join('\n')).toMatch(/lost the connection holding "k"/);
      } finally {
        await b.close();
        // a is left as a crashed instance would be: its pool would wait forever for the stuck
        // work to release its (already dead) connection.
      }
    });
  });
}
