import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Catalog, DirSort } from '../../storage/catalog/catalog.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { bothCatalogs } from '../helpers/catalogs.js';

/** The same listing tests on both catalogs (PostgreSQL when its binaries are here). */
const backends: [string, () => Promise<Catalog>][] = bothCatalogs();

const SHA = (i: number) => i.toString(16).padStart(64, '0');

/** Walks every page of a listing, returning folders and file names in order. */
async function walk(catalog: Catalog, dir: string, limit: number, opts: { sort?: DirSort; descending?: boolean; q?: string } = {}) {
  const folders: string[] = [];
  const names: string[] = [];
  let cursor: string | undefined;
  let pages = 0;
  do {
    const page = await catalog.listDir({ dir, limit, cursor, ...opts });
    expect(page.folders.length + page.files.length).toBeLessThanOrEqual(limit);
    folders.push(...page.folders);
    names.push(...page.files.map((f) => f.name));
    cursor = page.nextCursor ?? undefined;
    if (++pages > 100) throw new Error('paging does not end');
  } while (cursor);
  return { folders, names, pages };
}

describe.each(backends)('%s.listDir: folders and files on one cursor, name filter', (_name, open) => {
  let catalog: Catalog;
  beforeEach(async () => {
    catalog = await open();
    const put = (path: string, i: number, size: number) =>
      catalog.putFile({ path, sha256: SHA(i), size, mtime: 1000 + i, now: 5000 - i });
    // 5 folders and 7 files in alice/docs; names chosen to exercise LIKE wildcards.
    let i = 1;
    for (const d of ['a-dir', 'b_dir', 'c%dir', 'Report dir', 'zeta']) await put(`alice/docs/${d}/x.txt`, i++, 1);
    for (const [n, size] of [
      ['report.txt', 30],
      ['REPORT-2.txt', 10],
      ['a_b.txt', 20],
      ['a%b.txt', 50],
      ['axb.txt', 40],
      ['naïve résumé.txt', 60],
      ['z.bin', 70],
    ] as const) {
      await put(`alice/docs/${n}`, i++, size);
    }
  });
  afterEach(async () => {
    await catalog.close();
  });

  it.each([1, 2, 3, 5, 6, 12, 100])('pages through 5 folders then 7 files with limit %i', async (limit) => {
    const { folders, names } = await walk(catalog, 'alice/docs', limit);
    expect(folders).toEqual(['Report dir', 'a-dir', 'b_dir', 'c%dir', 'zeta']);
    expect(names).toEqual(['REPORT-2.txt', 'a%b.txt', 'a_b.txt', 'axb.txt', 'naïve résumé.txt', 'report.txt', 'z.bin']);
  });

  it('ends without an empty page when the folders fill the last page exactly', async () => {
    const only = await open();
    await only.putFile({ path: 'bob/x/1/f', sha256: SHA(1), size: 1, mtime: null, now: 1 });
    await only.putFile({ path: 'bob/x/2/f', sha256: SHA(2), size: 1, mtime: null, now: 1 });
    const first = await only.listDir({ dir: 'bob/x', limit: 2 });
    expect(first).toEqual({ folders: ['1', '2'], files: [], nextCursor: null });
    await only.close();
    await only.close();
  });

  it.each([
    ['report', ['Report dir'], ['REPORT-2.txt', 'report.txt']],
    ['_', ['b_dir'], ['a_b.txt']],
    ['%', ['c%dir'], ['a%b.txt']],
    ['a%b', [], ['a%b.txt']],
    ['résumé', [], ['naïve résumé.txt']],
    ['nothing-like-this', [], []],
  ])('filter %j', async (q, folders, names) => {
    for (const limit of [1, 2, 50]) {
      const r = await walk(catalog, 'alice/docs', limit, { q });
      expect(r.folders).toEqual(folders);
      expect(r.names).toEqual(names);
    }
  });

  it.each([
    ['size', false, ['REPORT-2.txt', 'a_b.txt', 'report.txt', 'axb.txt', 'a%b.txt', 'naïve résumé.txt', 'z.bin']],
    ['size', true, ['z.bin', 'naïve résumé.txt', 'a%b.txt', 'axb.txt', 'report.txt', 'a_b.txt', 'REPORT-2.txt']],
    ['name', true, ['z.bin', 'report.txt', 'naïve résumé.txt', 'axb.txt', 'a_b.txt', 'a%b.txt', 'REPORT-2.txt']],
  ] as const)('sort %s descending=%s keeps paging stable', async (sort, descending, names) => {
    const r = await walk(catalog, 'alice/docs', 3, { sort, descending });
    expect(r.names).toEqual(names);
    // Folders follow the name order only when sorting by name.
    expect(r.folders[0]).toBe(sort === 'name' && descending ? 'zeta' : 'Report dir');
  });

  it.each(['name', 'size', 'mtime', 'uploaded'] as const)('sort %s pages through an index, never sorting the folder', async (sort) => {
    if (!(catalog instanceof SqliteCatalog)) return; // query plans are SQLite's; PostgreSQL plans by table statistics
    const sqlite = catalog;
    const plans: string[] = [];
    sqlite.driver.trace = (source, params) => {
      if (/from files/.test(source) && /order by/.test(source)) {
        plans.push(sqlite.sqlite.prepare(`explain query plan ${source}`).all(...params).map((r) => (r as { detail: string }).detail).join(' | '));
      }
    };
    for (const descending of [false, true]) {
      // 5 folders + 1 file, then files after a file cursor: both file queries.
      const first = await catalog.listDir({ dir: 'alice/docs', limit: 6, sort, descending });
      await catalog.listDir({ dir: 'alice/docs', limit: 6, sort, descending, cursor: first.nextCursor ?? undefined });
    }
    sqlite.driver.trace = undefined;
    expect(plans).toHaveLength(4);
    for (const plan of plans) {
      expect(plan).toMatch(/SEARCH (files|f) USING INDEX files_dir_/);
      expect(plan).not.toMatch(/TEMP B-TREE/);
    }
  });

  it('refuses a forged cursor', async () => {
    await expect(catalog.listDir({ dir: 'alice/docs', limit: 2, cursor: 'bm90IGpzb24' })).rejects.toThrow(/invalid cursor/);
    const bad = Buffer.from(JSON.stringify({ d: 5 })).toString('base64url');
    await expect(catalog.listDir({ dir: 'alice/docs', limit: 2, cursor: bad })).rejects.toThrow(/invalid cursor/);
  });
});
