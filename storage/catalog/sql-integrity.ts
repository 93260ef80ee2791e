import { sql } from 'drizzle-orm';
import { ancestorsOf } from './catalog-query.js';
import { num, str, type SqlDriver } from './sql-driver.js';

/**
 * Catalog checks fsck needs beyond the Catalog interface: the database's own integrity, the
 * folder index (dirs) against the files, upload rows and usage counts. Each query pages through
 * an index so that a catalog of millions of files is never loaded at once. Written once for
 * SQLite and PostgreSQL, like storage/catalog/sql-catalog.ts.
 */
export interface CatalogIntegrity {
  /** Problems the database itself reports (empty when sound). */
  selfCheck(): Promise<string[]>;
  /** Folder rows with no file below them. */
  staleDirs(): AsyncIterable<string>;
  /** Folders that hold files but have no folder row (their files would not be listed). */
  missingDirs(): AsyncIterable<string>;
  removeDir(dir: string): Promise<void>;
  addDir(dir: string): Promise<void>;
  /** Resumable uploads in progress, and finished ones until they expire (few). */
  uploads(): Promise<{ id: string; offset: number; length: number }[]>;
  /** Clients whose running usage count (what quotas check) differs from their versions' sizes. */
  usageDrift(): Promise<{ namespace: string; counted: number; actual: number }[]>;
  /** Sets a client's usage count from its versions. */
  recountUsage(namespace: string): Promise<void>;
}

const PAGE = 500;

export class SqlIntegrity implements CatalogIntegrity {
  constructor(private readonly driver: SqlDriver) {}

  async selfCheck(): Promise<string[]> {
    // PostgreSQL enforces its constraints and checksums itself (amcheck is the DBA's tool):
    // SQLite's checks are the ones a catalog file needs after a crash or a bad disk.
    if (this.driver.dialect.name !== 'sqlite') return [];
    const quick = (await this.driver.all(sql`pragma quick_check`)).map((r) => str(r.quick_check)).filter((m) => m !== 'ok');
    const fk = (await this.driver.all(sql`pragma foreign_key_check`)).map((r) => `${str(r.table)} row ${num(r.rowid)} points at a missing ${str(r.parent)} row`);
    return [...quick, ...fk];
  }

  async *staleDirs(): AsyncIterable<string> {
    // Files below 'a/b' sort between 'a/b/' and 'a/b0' ('0' follows '/'): one index range probe.
    yield* pages(async (after) =>
      (
        await this.driver.all(sql`
          select d.path from dirs d where d.path > ${after} and not exists
            (select 1 from files f where f.path > d.path || '/' and f.path < d.path || '0')
          order by d.path limit ${PAGE}`)
      ).map((r) => str(r.path)),
    );
  }

  async *missingDirs(): AsyncIterable<string> {
    const reported = new Set<string>();
    const dirsOfFiles = pages(async (after) =>
      (await this.driver.all(sql`select distinct dir from files where dir > ${after} order by dir limit ${PAGE}`)).map((r) => str(r.dir)),
    );
    for await (const dir of dirsOfFiles) {
      for (const d of [...ancestorsOf(dir), dir]) {
        if (reported.has(d) || (await this.driver.all(sql`select 1 as x from dirs where path = ${d}`)).length > 0) continue;
        // Bounded: only folders actually found missing are remembered.
        reported.add(d);
        yield d;
      }
    }
  }

  async removeDir(dir: string): Promise<void> {
    await this.driver.run(sql`delete from dirs where path = ${dir}`);
  }

  async addDir(dir: string): Promise<void> {
    const slash = dir.lastIndexOf('/');
    await this.driver.run(sql`
      insert into dirs (path, parent, name) values (${dir}, ${slash < 0 ? '' : dir.slice(0, slash)}, ${dir.slice(slash + 1)})
      on conflict do nothing`);
  }

  async uploads(): Promise<{ id: string; offset: number; length: number }[]> {
    return (await this.driver.all(sql`select id, "offset", length from uploads order by id`)).map((r) => ({ id: str(r.id), offset: num(r.offset), length: num(r.length) }));
  }

  async usageDrift(): Promise<{ namespace: string; counted: number; actual: number }[]> {
    // One statement: a consistent snapshot even while the server writes (fsck on a live server).
    const rows = await this.driver.all(sql`
      select namespace, counted, actual from (select c.name as namespace, c.used_bytes as counted,
        (select coalesce(sum(v.size), 0) from versions v where v.namespace = c.name) as actual from clients c) as u
      where counted <> actual order by namespace`);
    return rows.map((r) => ({ namespace: str(r.namespace), counted: num(r.counted), actual: num(r.actual) }));
  }

  async recountUsage(namespace: string): Promise<void> {
    await this.driver.run(sql`update clients set used_bytes = (select coalesce(sum(size), 0) from versions where namespace = clients.name) where name = ${namespace}`);
  }
}

/** Keyset paging: `fetch(after)` returns the next sorted page after the given key. */
async function* pages(fetch: (after: string) => Promise<string[]>): AsyncIterable<string> {
  let after = '';
  for (;;) {
    const page = await fetch(after);
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1] as string;
  }
}
