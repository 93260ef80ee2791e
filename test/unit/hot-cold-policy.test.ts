import { describe, expect, it } from 'vitest';
import type { StoredForm } from '../../storage/blobs/blob-store.js';
import type { BlobRecord } from '../../storage/catalog/catalog.js';
import {
  compressionPaysOff,
  makePolicy,
  planSwapRepair,
  selectForCompression,
  shouldCompress,
  type BlobHeat,
} from '../../storage/hot-cold/hot-cold-policy.js';
import { resolveConcurrency } from '../../storage/hot-cold/sweeper.js';

const HOUR = 3_600_000;
const NOW = 1_700_000_000_000;
const policy = makePolicy(HOUR);

describe('shouldCompress', () => {
  const hot: BlobHeat = { size: 10_000, state: 'hot', incompressible: false, lastAccess: NOW - 2 * HOUR };
  const cases: [string, Partial<BlobHeat>, boolean][] = [
    ['hot, unread for longer than the hot time', {}, true],
    ['unread for exactly the hot time', { lastAccess: NOW - HOUR }, true],
    ['read 1 ms too recently', { lastAccess: NOW - HOUR + 1 }, false],
    ['read just now', { lastAccess: NOW }, false],
    ['last access in the future (clock skew)', { lastAccess: NOW + HOUR }, false],
    ['already cold', { state: 'cold' }, false],
    ['found incompressible before', { incompressible: true }, false],
    ['tiny: under 4 KiB', { size: 4095 }, false],
    ['exactly 4 KiB', { size: 4096 }, true],
    ['empty', { size: 0 }, false],
    ['huge', { size: 2 ** 40 }, true],
  ];
  it.each(cases)('%s -> %s', (_name, change, expected) => {
    expect(shouldCompress({ ...hot, ...change }, NOW, policy)).toBe(expected);
  });

  it('honours a different hot time and minimum size', () => {
    const demo = makePolicy(30_000, { minSize: 1 });
    expect(shouldCompress({ ...hot, size: 1, lastAccess: NOW - 30_000 }, NOW, demo)).toBe(true);
    expect(shouldCompress({ ...hot, size: 1, lastAccess: NOW - 29_999 }, NOW, demo)).toBe(false);
  });

  it('selects the eligible blobs in order', () => {
    const blobs = [
      { id: 'a', ...hot },
      { id: 'b', ...hot, state: 'cold' as const },
      { id: 'c', ...hot, size: 10 },
      { id: 'd', ...hot, lastAccess: NOW - 5 * HOUR },
    ];
    expect(selectForCompression(blobs, NOW, policy).map((b) => b.id)).toEqual(['a', 'd']);
  });
});

describe('compressionPaysOff', () => {
  const cases: [number, number, boolean][] = [
    [1000, 100, true],
    [1000, 900, true],
    [1000, 901, false],
    [1000, 1000, false],
    [1000, 1020, false],
    [10_000_000, 9_000_000, true],
  ];
  it.each(cases)('plain %i, compressed %i -> %s', (plain, stored, expected) => {
    expect(compressionPaysOff(plain, stored, policy)).toBe(expected);
  });
});

describe('planSwapRepair', () => {
  const plain: StoredForm = { state: 'hot', codec: null, storedSize: 10_000 };
  const gz: StoredForm = { state: 'cold', codec: 'gzip', storedSize: 900 };
  const gzTorn: StoredForm = { state: 'cold', codec: 'gzip', storedSize: 512 };
  const br: StoredForm = { state: 'cold', codec: 'br', storedSize: 800 };
  type Row = Pick<BlobRecord, 'state' | 'codec' | 'size' | 'storedSize'>;
  const hotRow: Row = { state: 'hot', codec: null, size: 10_000, storedSize: 10_000 };
  const coldRow: Row = { state: 'cold', codec: 'gzip', size: 10_000, storedSize: 900 };
  const loc = (f: StoredForm) => ({ state: f.state, codec: f.codec });

  const cases: [string, Row | undefined, StoredForm[], { keep: StoredForm | null; catalog: object | null; drop: StoredForm[] }][] = [
    ['compressing, crashed before the catalog update: keep plain', hotRow, [plain, gz], { keep: plain, catalog: null, drop: [gz] }],
    ['compressing, crashed after the catalog update: keep cold', coldRow, [plain, gz], { keep: gz, catalog: null, drop: [plain] }],
    ['compressing, crashed before the journal cleared: nothing left to do', coldRow, [gz], { keep: gz, catalog: null, drop: [] }],
    ['promoting, crashed before the catalog update: keep cold', coldRow, [gz, plain], { keep: gz, catalog: null, drop: [plain] }],
    ['promoting, crashed after the catalog update: keep plain', hotRow, [plain, gz], { keep: plain, catalog: null, drop: [gz] }],
    [
      'catalog cold but the compressed form has another size (in doubt): plain wins',
      coldRow,
      [plain, gzTorn],
      { keep: plain, catalog: { state: 'hot', codec: null, storedSize: 10_000 }, drop: [gzTorn] },
    ],
    [
      'catalog cold but only the plain form exists: fix the catalog',
      coldRow,
      [plain],
      { keep: plain, catalog: { state: 'hot', codec: null, storedSize: 10_000 }, drop: [] },
    ],
    [
      'catalog hot but only a compressed form exists: fix the catalog',
      hotRow,
      [gz],
      { keep: gz, catalog: { state: 'cold', codec: 'gzip', storedSize: 900 }, drop: [] },
    ],
    [
      'catalog cold, its form has another size and there is no plain: keep it, correct the size',
      coldRow,
      [gzTorn],
      { keep: gzTorn, catalog: { state: 'cold', codec: 'gzip', storedSize: 512 }, drop: [] },
    ],
    [
      'catalog cold with gzip but only brotli exists',
      coldRow,
      [br],
      { keep: br, catalog: { state: 'cold', codec: 'br', storedSize: 800 }, drop: [] },
    ],
    ['two compressed forms and the plain one, catalog hot', hotRow, [plain, gz, br], { keep: plain, catalog: null, drop: [gz, br] }],
    ['no form at all', coldRow, [], { keep: null, catalog: null, drop: [] }],
    ['no catalog row: left alone', undefined, [plain, gz], { keep: null, catalog: null, drop: [] }],
    [
      'catalog hot with a wrong stored size',
      { ...hotRow, storedSize: 5 },
      [plain],
      { keep: plain, catalog: { state: 'hot', codec: null, storedSize: 10_000 }, drop: [] },
    ],
  ];
  it.each(cases)('%s', (_name, row, found, expected) => {
    const plan = planSwapRepair(row, found);
    expect(plan.keep).toEqual(expected.keep);
    expect(plan.catalog).toEqual(expected.catalog);
    expect(plan.drop).toEqual(expected.drop.map(loc));
  });
});

describe('resolveConcurrency', () => {
  const cases: [number, number, number, number][] = [
    // configured, cpus, threadpool -> jobs
    [0, 1, 4, 1],
    [0, 2, 4, 1],
    [0, 4, 4, 3],
    [0, 16, 4, 3],
    [0, 16, 17, 15],
    [0, 16, 1, 1],
    [2, 16, 4, 2],
    [8, 2, 4, 8],
  ];
  it.each(cases)('configured %i, %i CPUs, threadpool %i -> %i', (configured, cpus, pool, expected) => {
    expect(resolveConcurrency(configured, cpus, pool)).toBe(expected);
  });
});
