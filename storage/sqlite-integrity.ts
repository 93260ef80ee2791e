import type { SqliteCatalog } from './sqlite-catalog.js';
import { ancestorsOf } from './catalog-query.js';

/**
 * Catalog checks fsck needs beyond the Catalog interface: the database's own integrity, the
 * folder index (dirs) against the files, and which paths reference a blob. Each query pages
 * through an index so that a catalog of millions of files is never loaded at once.
 */
export interface CatalogIntegrity {
  /** Problems the database itself reports (empty when sound). */
  selfCheck(): Promise<string[]>;
  /** Folder rows with no file below them. */
  staleDirs(): AsyncIterable<string>;
  /** Folders that hold files but have no folder row (their files would not be listed). */
  missingDirs(): AsyncIterable<string>;
  /** Paths of the files that reference a blob, a page at a time. */
  pathsOfBlob(sha256: string, limit: number): Promise<string[]>;
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

export class SqliteIntegrity implements CatalogIntegrity {
  constructor(private readonly catalog: SqliteCatalog) {}

  async selfCheck(): Promise<string[]> {
    const db = this.catalog.sqlite;
    const quick = (db.pragma('quick_check') as { quick_check: string }[]).map((r) => r.quick_check).filter((m) => m !== 'ok');
    const fk = (db.pragma('foreign_key_check') as { table: string; rowid: number; parent: string }[]).map(
      (r) => `${r.table} row ${r.rowid} points at a missing ${r.parent} row`,
    );
    return [...quick, ...fk];
  }

  async *staleDirs(): AsyncIterable<string> {
    // Files below 'a/b' sort between 'a/b/' and 'a/b0' ('0' follows '/'): one index range probe.
    const stmt = this.catalog.sqlite.prepare(
      `select d.path from dirs d where d.path > ? and not exists
         (select 1 from files f where f.path > d.path || '/' and f.path < d.path || '0')
       order by d.path limit ${PAGE}`,
    );
    yield* pages((after) => (stmt.all(after) as { path: string }[]).map((r) => r.path));
  }

  async *missingDirs(): AsyncIterable<string> {
    const dirsOfFiles = this.catalog.sqlite.prepare(`select distinct dir from files where dir > ? order by dir limit ${PAGE}`);
    const has = this.catalog.sqlite.prepare('select 1 from dirs where path = ?');
    const reported = new Set<string>();
    for await (const dir of pages((after) => (dirsOfFiles.all(after) as { dir: string }[]).map((r) => r.dir))) {
      for (const d of [...ancestorsOf(dir), dir]) {
        if (reported.has(d) || has.get(d)) continue;
        // Bounded: only folders actually found missing are remembered.
        reported.add(d);
        yield d;
      }
    }
  }

  async pathsOfBlob(sha256: string, limit: number): Promise<string[]> {
    const rows = this.catalog.sqlite.prepare('select path from files where sha256 = ? order by path limit ?').all(sha256, limit) as { path: string }[];
    return rows.map((r) => r.path);
  }

  async removeDir(dir: string): Promise<void> {
    this.catalog.sqlite.prepare('delete from dirs where path = ?').run(dir);
  }

  async addDir(dir: string): Promise<void> {
    const slash = dir.lastIndexOf('/');
    this.catalog.sqlite
      .prepare('insert or ignore into dirs (path, parent, name) values (?, ?, ?)')
      .run(dir, slash < 0 ? '' : dir.slice(0, slash), dir.slice(slash + 1));
  }

  async uploads(): Promise<{ id: string; offset: number; length: number }[]> {
    return this.catalog.sqlite.prepare('select id, "offset", length from uploads order by id').all() as { id: string; offset: number; length: number }[];
  }

  async usageDrift(): Promise<{ namespace: string; counted: number; actual: number }[]> {
    // One statement: a consistent snapshot even while the server writes (fsck on a live server).
    return this.catalog.sqlite
      .prepare(
        `select namespace, counted, actual from (select c.name as namespace, c.used_bytes as counted,
           (select coalesce(sum(v.size), 0) from versions v where v.namespace = c.name) as actual from clients c)
         where counted <> actual order by namespace`,
      )
      .all() as { namespace: string; counted: number; actual: number }[];
  }

  async recountUsage(namespace: string): Promise<void> {
    this.catalog.sqlite
      .prepare('update clients set used_bytes = (select coalesce(sum(size), 0) from versions where namespace = clients.name) where name = ?')
      .run(namespace);
  }
}

/** Keyset paging: `fetch(after)` returns the next sorted page after the given key. */
async function* pages(fetch: (after: string) => string[]): AsyncIterable<string> {
  let after = '';
  for (;;) {
    const page = fetch(after);
    yield* page;
    if (page.length < PAGE) return;
    after = page[page.length - 1] as string;
  }
}
