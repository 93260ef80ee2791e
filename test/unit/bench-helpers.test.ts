import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { sizeLabel } from '../../bench/context.js';
import { parseWriteOut } from '../../bench/curl.js';
import { deleteDiscarded, discard } from '../../bench/discard.js';
import { nginxConfig } from '../../bench/nginx.js';
import { parseSweepLine } from '../../bench/rows/hotcold.js';
import { mbPerSec, median, percentile, ratio, summarize } from '../../bench/stats.js';
import { formatRatio, formatValue, markdownTable, notesOf, type BenchRow } from '../../bench/table.js';

describe('percentile (nearest rank)', () => {
  const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1);
  it.each([
    [ten, 0.5, 5],
    [ten, 0.99, 10],
    [ten, 0.9, 9],
    [ten, 0, 1],
    [ten, 1, 10],
    [hundred, 0.99, 99],
    [hundred, 0.5, 50],
    [[42], 0.99, 42],
  ])('%j at %d is %d', (values, q, want) => {
    expect(percentile(values, q)).toBe(want);
  });
  it('is NaN for no values', () => {
    expect(percentile([], 0.5)).toBeNaN();
  });
});

describe('median, summarize, rates', () => {
  it.each([
    [[3, 1, 2], 2],
    [[4, 1, 3, 2], 2.5],
    [[7], 7],
  ])('median of %j is %d', (values, want) => {
    expect(median(values)).toBe(want);
  });
  it('summarize sorts before picking', () => {
    expect(summarize([5, 1, 100, 2, 3])).toEqual({ count: 5, p50: 3, p99: 100, max: 100 });
  });
  it.each([
    [200, 100, 2],
    [null, 100, null],
    [100, null, null],
    [100, 0, null],
    [Number.NaN, 1, null],
  ])('ratio(%s, %s) = %s', (ours, ref, want) => {
    expect(ratio(ours, ref)).toBe(want);
  });
  it('MB/s counts 10^6 bytes', () => {
    expect(mbPerSec(250e6, 2)).toBe(125);
    expect(mbPerSec(1, 0)).toBeNaN();
  });
});

describe('formatting', () => {
  it.each([
    [1234.5, '1235'],
    [123.4, '123'],
    [12.34, '12.3'],
    [1.234, '1.23'],
    [0.01234, '0.012'],
    [0, '0'],
    [null, '—'],
    [Number.NaN, '—'],
  ])('formatValue(%s) = %s', (v, want) => {
    expect(formatValue(v)).toBe(want);
  });
  it('formatRatio', () => {
    expect(formatRatio(0.5)).toBe('0.50×');
    expect(formatRatio(null)).toBe('—');
  });
  it.each([
    [2 ** 30, '1 GiB'],
    [128 * 2 ** 20, '128 MiB'],
    [200e6, '200 MB'],
    [4096, '4 KiB'],
    [100, '100 B'],
  ])('sizeLabel(%d) = %s', (bytes, want) => {
    expect(sizeLabel(bytes)).toBe(want);
  });
});

describe('markdownTable', () => {
  const rows: BenchRow[] = [
    { id: 'put', name: 'PUT 1 GiB', ours: 400, reference: 800, refName: 'nginx', unit: 'MB/s', better: 'higher' },
    { id: 'p99', name: 'list | p99', ours: 12.5, reference: null, refName: '', unit: 'ms', better: 'lower', note: 'no peer' },
  ];
  const table = markdownTable(rows).split('\n');
  it('has a header, an alignment line and one line per row', () => {
    expect(table).toHaveLength(4);
    expect(table[0]).toBe('| row | ours | reference | ratio | unit |');
    expect(table[1]).toBe('| --- | ---: | ---: | ---: | --- |');
  });
  it('names the reference, gives the ratio and the direction', () => {
    expect(table[2]).toBe('| PUT 1 GiB vs nginx | 400 | 800 | 0.50× | MB/s ↑ |');
  });
  it('escapes pipes and shows missing figures as a dash', () => {
    expect(table[3]).toBe('| list \\| p99 | 12.5 | — | — | ms ↓ |');
  });
  it('lists notes', () => {
    expect(notesOf(rows)).toEqual(['- list | p99: no peer']);
  });
});

describe('curl -w parsing', () => {
  it('reads status, seconds and byte counts from the last line', () => {
    expect(parseWriteOut('HTTP/1.1 201 Created\r\n\r\n\n201 1.5 1000 20\n')).toEqual({ status: 201, seconds: 1.5, bytesUp: 1000, bytesDown: 20 });
  });
  it('refuses anything else', () => {
    expect(() => parseWriteOut('curl: (7) Failed to connect')).toThrow(/unexpected curl output/);
  });
});

describe('nginxConfig', () => {
  const base = { port: 8123, dir: '/tmp/x', runAsRoot: false, davExtModule: null };
  it('listens on loopback only, with WebDAV PUT, unlimited bodies and sendfile', () => {
    const c = nginxConfig(base);
    expect(c).toContain('listen 127.0.0.1:8123;');
    expect(c).toContain('dav_methods PUT DELETE MKCOL COPY MOVE;');
    expect(c).toContain('client_max_body_size 0;');
    expect(c).toContain('sendfile on;');
    expect(c).toContain('daemon off;');
    expect(c).not.toMatch(/^user /m);
    expect(c).not.toContain('PROPFIND');
  });
  it('keeps every path it writes under its dir', () => {
    const paths = nginxConfig(base).match(/\s(\/\S+?);/g) ?? [];
    expect(paths.length).toBeGreaterThan(5);
    for (const p of paths) expect(p.trim().startsWith('/tmp/x/')).toBe(true);
  });
  it('runs its workers as root when started by root, loads dav-ext when present', () => {
    const c = nginxConfig({ ...base, runAsRoot: true, davExtModule: '/m/dav.so' });
    expect(c).toMatch(/^user root;$/m);
    expect(c).toContain('load_module /m/dav.so;');
    expect(c).toContain('dav_ext_methods PROPFIND OPTIONS;');
  });
});

describe('parseSweepLine (the sweeper log line the hot/cold rows read)', () => {
  it('reads files, MB and ms', () => {
    const log = 'listening\nsweep: compressed 3 file(s) (31.5 MB -> 8.2 MB, saved 23.3 MB), 1 incompressible, 0 skipped, 0 failed, in 2140 ms\n';
    expect(parseSweepLine(log)).toEqual({ files: 3, plainMB: 31.5, storedMB: 8.2, ms: 2140 });
  });
  it('is null before any sweep line', () => {
    expect(parseSweepLine('cloud-backup listening on http://127.0.0.1:1234')).toBeNull();
  });
});

describe('discard (set aside during the run, deleted at its end)', () => {
  it('renames a tree out of the way, frees its name at once, deletes it only when asked; a missing path is fine', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cb-discard-'));
    try {
      const tree = join(dir, 'tree');
      mkdirSync(join(tree, 'sub'), { recursive: true });
      writeFileSync(join(tree, 'sub', 'f'), 'x');
      await discard(tree);
      await discard(join(dir, 'never-there'));
      expect(existsSync(tree)).toBe(false);
      // Still on disk (no inode freed yet), under another name.
      const aside = readdirSync(dir);
      expect(aside).toHaveLength(1);
      expect(existsSync(join(dir, aside[0] as string, 'sub', 'f'))).toBe(true);
      // The name can be used again at once.
      mkdirSync(tree);
      deleteDiscarded();
      expect(readdirSync(dir)).toEqual(['tree']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
