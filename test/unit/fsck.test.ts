import { describe, expect, it } from 'vitest';
import type { BlobRecord } from '../../storage/catalog/catalog.js';
import { classifyBlob, classifyUploads, groupBySha, pairBySha, parseFormName, type StoredForm } from '../../storage/fsck/fsck.js';

const SHA = 'ab'.repeat(32);
const OTHER = 'cd'.repeat(32);

function row(over: Partial<BlobRecord> = {}): BlobRecord {
  return { sha256: SHA, size: 100, state: 'hot', codec: null, storedSize: 100, incompressible: false, lastAccess: 0, createdAt: 0, ...over };
}

const plain = (over: Partial<StoredForm> = {}): StoredForm => ({
  codec: null,
  location: `/d/blobs/ab/ab/${SHA}`,
  storedBytes: 100,
  modifiedAt: 1000,
  verified: { sha256: SHA, size: 100 },
  ...over,
});
const cold = (over: Partial<StoredForm> = {}): StoredForm => ({
  codec: 'gzip',
  location: `/d/blobs/ab/ab/${SHA}.gz`,
  storedBytes: 40,
  modifiedAt: 1000,
  verified: { sha256: SHA, size: 100 },
  ...over,
});

describe('classifyBlob', () => {
  const cases: { name: string; row?: BlobRecord; refs: number; forms: StoredForm[]; spare?: number; expect: [string, string, string | undefined][] }[] = [
    { name: 'healthy hot blob', row: row(), refs: 1, forms: [plain()], expect: [] },
    { name: 'healthy, not re-hashed (quick)', row: row(), refs: 2, forms: [plain({ verified: undefined })], expect: [] },
    { name: 'healthy cold blob', row: row({ state: 'cold', codec: 'gzip', storedSize: 40 }), refs: 1, forms: [cold()], expect: [] },
    { name: 'content missing', row: row(), refs: 3, forms: [], expect: [['missing-blob', 'error', 'drop-lost-files']] },
    {
      name: 'only form corrupt: quarantined, then dropped',
      row: row(),
      refs: 1,
      forms: [plain({ verified: { sha256: OTHER, size: 100 } })],
      expect: [
        ['corrupt-blob', 'error', 'quarantine'],
        ['missing-blob', 'error', 'drop-lost-files'],
      ],
    },
    {
      name: 'unreadable form counts as corrupt',
      row: row(),
      refs: 1,
      forms: [plain({ verified: { unreadable: 'EIO' } })],
      expect: [
        ['corrupt-blob', 'error', 'quarantine'],
        ['missing-blob', 'error', 'drop-lost-files'],
      ],
    },
    {
      name: 'catalog says cold, only plain stored (swap rolled back)',
      row: row({ state: 'cold', codec: 'gzip', storedSize: 40 }),
      refs: 1,
      forms: [plain()],
      expect: [['wrong-state', 'error', 'update-blob']],
    },
    {
      name: 'catalog says hot, only cold stored',
      row: row(),
      refs: 1,
      forms: [cold()],
      expect: [['wrong-state', 'error', 'update-blob']],
    },
    {
      name: 'both forms after an interrupted swap: the unused one goes',
      row: row(),
      refs: 1,
      forms: [plain(), cold()],
      expect: [['redundant-form', 'warning', 'delete-form']],
    },
    {
      name: 'authoritative form corrupt, other good: switch',
      row: row({ state: 'cold', codec: 'gzip', storedSize: 40 }),
      refs: 1,
      forms: [plain(), cold({ verified: { sha256: OTHER, size: 3 } })],
      expect: [
        ['corrupt-blob', 'error', 'quarantine'],
        ['wrong-state', 'error', 'update-blob'],
      ],
    },
    {
      name: 'leftover form corrupt: only a warning',
      row: row(),
      refs: 1,
      forms: [plain(), cold({ verified: { sha256: OTHER, size: 3 } })],
      expect: [['corrupt-blob', 'warning', 'quarantine']],
    },
    { name: 'no file references it', row: row(), refs: 0, forms: [plain()], expect: [['unreferenced-blob', 'warning', 'release-blob']] },
    { name: 'unreferenced and missing', row: row(), refs: 0, forms: [], expect: [['unreferenced-blob', 'warning', 'release-blob']] },
    { name: 'stored without a catalog row', refs: 0, forms: [plain()], expect: [['orphan-blob', 'warning', 'delete-form']] },
    { name: 'orphan but recent while a server runs: spared', refs: 0, forms: [plain({ modifiedAt: 5000 })], spare: 4000, expect: [] },
    { name: 'stored size drift', row: row({ storedSize: 7 }), refs: 1, forms: [plain()], expect: [['stored-size', 'warning', 'update-blob']] },
    { name: 'content size differs from catalog', row: row({ size: 99, storedSize: 100 }), refs: 1, forms: [plain()], expect: [['size-mismatch', 'error', undefined]] },
  ];
  it.each(cases)('$name', (c) => {
    const got = classifyBlob(SHA, c.row, c.refs, c.forms, c.spare).map((f) => [f.kind, f.severity, f.repair?.kind]);
    expect(got).toEqual(c.expect);
  });

  it('switches to the good form with its stored size', () => {
    const [f] = classifyBlob(SHA, row({ state: 'cold', codec: 'gzip' }), 1, [plain({ storedBytes: 100 })]);
    expect(f?.repair).toEqual({ kind: 'update-blob', sha256: SHA, change: { state: 'hot', codec: null, storedSize: 100 } });
  });

  it('says what is wrong with a corrupt form in plain words', () => {
    const [bad] = classifyBlob(SHA, row(), 1, [plain({ verified: { sha256: OTHER, size: 100 } })]);
    expect(bad?.message).toMatch(new RegExp(`form hashes to ${OTHER}: `));
    const [unreadable] = classifyBlob(SHA, row(), 1, [plain({ verified: { unreadable: 'EIO' } })]);
    expect(unreadable?.message).toMatch(/form is unreadable \(EIO\): /);
  });
});

describe('parseFormName', () => {
  const codec = (s: string) => (s === 'gz' ? 'gzip' : undefined);
  it.each([
    ['ab', 'ab', SHA, { sha256: SHA, codec: null }],
    ['ab', 'ab', `${SHA}.gz`, { sha256: SHA, codec: 'gzip' }],
    ['ab', 'ab', `${SHA}.zz`, undefined],
    ['ab', 'cd', SHA, undefined],
    ['ab', 'ab', `${SHA}.gz.tmp`, undefined],
    ['ab', 'ab', SHA.toUpperCase(), undefined],
    ['ab', 'ab', 'notes.txt', undefined],
  ])('%s/%s/%s', (l1, l2, name, want) => {
    expect(parseFormName(l1, l2, name, codec)).toEqual(want);
  });
});

async function* iter<T>(xs: T[]): AsyncGenerator<T> {
  yield* xs;
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

describe('pairBySha / groupBySha', () => {
  it('joins sorted streams, keeping rows and forms that have no partner', async () => {
    const rows = ['11', '33', '55'].map((p) => row({ sha256: p.repeat(32) }));
    const forms = ['22', '33', '33', '66'].map((p, i) => ({ sha256: p.repeat(32), form: plain({ location: `f${i}` }) }));
    const pairs = await collect(pairBySha(iter(rows), groupBySha(iter(forms))));
    expect(pairs.map((p) => [p.sha256.slice(0, 2), p.row !== undefined, p.forms.map((f) => f.location)])).toEqual([
      ['11', true, []],
      ['22', false, ['f0']],
      ['33', true, ['f1', 'f2']],
      ['55', true, []],
      ['66', false, ['f3']],
    ]);
  });

  it('handles empty sides', async () => {
    expect(await collect(pairBySha(iter([]), groupBySha(iter([]))))).toEqual([]);
    expect((await collect(pairBySha(iter([row()]), groupBySha(iter([]))))).length).toBe(1);
  });
});

describe('classifyUploads', () => {
  const part = (id: string, size: number, modifiedAt = 0) => ({ id, location: `/d/uploads/${id}`, size, modifiedAt });
  it.each([
    ['consistent', [{ id: 'a', offset: 5, length: 10 }], [part('a', 5)], []],
    ['part longer than offset (crash before the offset was saved) is fine', [{ id: 'a', offset: 5, length: 10 }], [part('a', 9)], []],
    ['part shorter than offset', [{ id: 'a', offset: 5, length: 10 }], [part('a', 3)], [['part-short', 'set-upload-offset']]],
    ['row without part', [{ id: 'a', offset: 0, length: 10 }], [], [['missing-part', 'remove-upload-row']]],
    ['finished upload: its part became the blob', [{ id: 'a', offset: 10, length: 10 }], [], []],
    ['finished empty upload', [{ id: 'a', offset: 0, length: 0 }], [], []],
    ['part without row', [], [part('b', 3)], [['orphan-part', 'remove-part']]],
    ['recent part without row while live: spared', [], [part('b', 3, 9000)], []],
  ] as const)('%s', (_name, rows, parts, want) => {
    expect(classifyUploads(rows, parts, 5000).map((f) => [f.kind, f.repair?.kind])).toEqual(want);
  });
});
