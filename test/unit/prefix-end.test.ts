import { describe, expect, it } from 'vitest';
import { ancestorsOf, namespaceOf, prefixEnd } from '../../storage/catalog/catalog-query.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';

describe('prefixEnd: the exclusive upper bound of a path prefix', () => {
  it.each([
    ['alice/', 'alice0'],
    ['a', 'b'],
    ['alice/d050/', 'alice/d0500'],
    ['ü/', 'ü0'],
    ['x\u{FFFF}', 'x\u{10000}'],
    ['x\u{1F600}', 'x\u{1F601}'],
    ['', null],
    ['x\u{10FFFF}', null],
    ['x\u{D7FF}', null],
  ])('%j -> %j', (prefix, want) => {
    expect(prefixEnd(prefix)).toBe(want);
  });
});

describe('SqliteCatalog.listFiles by prefix', () => {
  const sha = 'a'.repeat(64);
  const paths = ['Alice/secret.txt', 'alice/mine.txt', 'alice/sub/deep.txt', 'alice0/other.txt', 'alicea/x.txt', 'alic/y.txt'];
  async function catalogWith(): Promise<SqliteCatalog> {
    const c = new SqliteCatalog({ file: ':memory:' });
    for (const path of paths) await c.putFile({ path, sha256: sha, size: 1, mtime: null, now: 1 });
    return c;
  }

  it('matches the prefix exactly and case-sensitively (no other namespace differing in case)', async () => {
    const c = await catalogWith();
    expect((await c.listFiles({ prefix: 'alice/', limit: 10 })).map((f) => f.path)).toEqual(['alice/mine.txt', 'alice/sub/deep.txt']);
    expect((await c.listFiles({ prefix: 'alice', limit: 10 })).map((f) => f.path)).toEqual(['alice/mine.txt', 'alice/sub/deep.txt', 'alice0/other.txt', 'alicea/x.txt']);
    await c.close();
  });

  it('searches the path index instead of scanning every file', async () => {
    const c = await catalogWith();
    // Record the statement listFiles runs, then ask SQLite for its plan with the same parameters.
    const seen: { source: string; params: unknown[] }[] = [];
    c.driver.trace = (source, params) => seen.push({ source, params });
    await c.listFiles({ prefix: 'alice/', limit: 10 });
    c.driver.trace = undefined;
    const q = seen.find((x) => /from files/i.test(x.source));
    expect(q).toBeDefined();
    const plan = c.sqlite.prepare(`explain query plan ${q?.source}`).all(...(q?.params ?? [])) as { detail: string }[];
    expect(plan.map((r) => r.detail).join(' / ')).toMatch(/SEARCH (files|f) USING (COVERING )?INDEX \S+ \(path>\? AND path<\?\)/);
    await c.close();
  });

  it('bounds a prefix by its range alone: no LIKE, which SQLite re-compiles on every run when its pattern is bound', async () => {
    const c = await catalogWith();
    const seen: string[] = [];
    c.driver.trace = (source) => seen.push(source);
    await c.listFiles({ prefix: 'alice/', limit: 10 });
    await c.listFiles({ prefix: 'alice/', after: 'alice/mine.txt', limit: 10 });
    c.driver.trace = undefined;
    const listings = seen.filter((x) => /from files/i.test(x));
    expect(listings).toHaveLength(2);
    for (const q of listings) expect(q).not.toMatch(/\blike\b/i);
    // A prefix whose range has no end (its last code point is the highest) still matches exactly.
    const top = 'x\u{10FFFF}';
    await c.putFile({ path: `alice/${top}/a.txt`, sha256: sha, size: 1, mtime: null, now: 1 });
    await c.putFile({ path: `alice/${top}b.txt`, sha256: sha, size: 1, mtime: null, now: 1 });
    expect((await c.listFiles({ prefix: `alice/${top}/`, limit: 10 })).map((f) => f.path)).toEqual([`alice/${top}/a.txt`]);
    expect((await c.listFiles({ prefix: `alice/${top}`, limit: 10 })).map((f) => f.path)).toEqual([`alice/${top}/a.txt`, `alice/${top}b.txt`]);
    await c.close();
  });
});

describe('ancestorsOf and namespaceOf (written with indexOf, issue 16 third round)', () => {
  // The split-and-join definitions they replaced, as the reference.
  const ancestorsRef = (path: string) => path.split('/').slice(1).map((_, i) => path.split('/').slice(0, i + 1).join('/'));
  const namespaceRef = (path: string) => path.split('/')[0] ?? '';
  it.each(['alice/a.txt', 'alice/docs/deep/b.txt', 'alice', '', 'a/b/', '/a', 'a//b', 'é/ü/€.txt'])('%j', (path) => {
    expect(ancestorsOf(path)).toEqual(ancestorsRef(path));
    expect(namespaceOf(path)).toBe(namespaceRef(path));
  });
});
