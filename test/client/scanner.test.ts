import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { examine, SCAN_ENTRIES_PER_TURN, scanTree, type ScanEntry } from '../../client/scanner.js';

let root: string;

async function collect(it: AsyncIterable<ScanEntry>): Promise<ScanEntry[]> {
  const out: ScanEntry[] = [];
  for await (const e of it) out.push(e);
  return out;
}

const summary = (entries: ScanEntry[]) =>
  entries.map((e) => `${e.kind}:${e.segments.join('/')}${e.kind === 'skipped' ? `:${e.reason}` : ''}`).sort();

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'cb-scan-'));
  await mkdir(join(root, 'a', 'b', 'c'), { recursive: true });
  await mkdir(join(root, 'empty dir'));
  await writeFile(join(root, 'top.txt'), 'top');
  await writeFile(join(root, 'a', 'Grüße 名前.txt'), 'x');
  await writeFile(join(root, 'a', 'b', 'c', 'deep.bin'), Buffer.alloc(1000));
  await writeFile(join(root, 'zero'), '');
  await writeFile(join(root, 'state.sqlite'), 'db');
  await writeFile(join(root, 'state.sqlite-wal'), 'wal');
  await symlink(join(root, 'top.txt'), join(root, 'link-to-file'));
  await symlink(join(root, 'a'), join(root, 'link-to-dir'));
  execFileSync('mkfifo', [join(root, 'pipe')]);
});

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('scanTree', () => {
  it('streams every regular file at any depth, reports links and specials, ignores what it is told', async () => {
    const entries = await collect(
      scanTree(root, { flavor: 'posix', ignore: (abs) => abs.startsWith(join(root, 'state.sqlite')) }),
    );
    expect(summary(entries)).toEqual([
      'file:a/b/c/deep.bin',
      'file:a/Grüße 名前.txt',
      'file:top.txt',
      'file:zero',
      'skipped:link-to-dir:symlink',
      'skipped:link-to-file:symlink',
      'skipped:pipe:special',
    ].sort());
    const deep = entries.find((e) => e.segments.at(-1) === 'deep.bin');
    expect(deep).toMatchObject({ kind: 'file', size: 1000, abs: join(root, 'a', 'b', 'c', 'deep.bin') });
  });

  it('reports a folder it cannot list as an error entry instead of throwing', async () => {
    const entries = await collect(scanTree(join(root, 'no such dir'), { flavor: 'posix' }));
    expect(entries).toEqual([expect.objectContaining({ kind: 'error', code: 'ENOENT', segments: [] })]);
  });

  it('a .cbignore that is a FIFO does not stall the walk: the folder has no rules, its files are reported', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-scan-fifo-'));
    try {
      await writeFile(join(dir, 'kept.txt'), 'x');
      execFileSync('mkfifo', [join(dir, '.cbignore')]);
      const entries = await collect(scanTree(dir, { flavor: 'posix' }));
      expect(summary(entries)).toEqual(['file:kept.txt', 'skipped:.cbignore:special']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 10_000);

  it(`lets the event loop run while it walks (every ${SCAN_ENTRIES_PER_TURN} entries), files one by one, a folder read in parts`, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-scan-many-'));
    try {
      const count = SCAN_ENTRIES_PER_TURN * 4;
      await mkdir(join(dir, 'sub'));
      for (let i = 0; i < count; i++) await writeFile(join(dir, 'sub', `f${i}`), String(i));
      let turns = 0;
      let timer = setImmediate(function tick() {
        turns++;
        timer = setImmediate(tick);
      });
      let entries: ScanEntry[];
      try {
        entries = await collect(scanTree(dir, { flavor: 'posix' }));
      } finally {
        clearImmediate(timer);
      }
      expect(entries).toHaveLength(count);
      expect(entries.every((e) => e.kind === 'file' && e.size === String(e.segments[1]?.slice(1)).length)).toBe(true);
      expect(turns).toBeGreaterThanOrEqual(3);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('examine', () => {
  it.each([
    ['top.txt', 'file'],
    ['a', 'directory'],
    ['link-to-dir', 'skipped'],
    ['pipe', 'skipped'],
    ['gone.txt', undefined],
  ])('%s -> %s', async (name, kind) => {
    const r = await examine(join(root, name), [name]);
    expect(typeof r === 'object' ? r.kind : r).toBe(kind);
  });
});
