import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { extractZip } from '../helpers/zip.js';

// Issue 14 item 9: a file `notes` and a folder `notes/` side by side.
describe('a file and a folder of the same name', () => {
  let s: TestServer;
  let out: string;
  beforeAll(async () => {
    s = await startTestServer();
    out = await mkdtemp(join(tmpdir(), 'cb-unzip-'));
    const files: Record<string, string> = {
      'alice/proj/notes': 'the file called notes',
      'alice/proj/notes/todo.txt': 'inside the folder',
      'alice/proj/notes/deep/more.txt': 'deeper',
      'alice/proj/report.txt': 'a report file',
      'alice/proj/report.txt/draft.md': 'a folder that looks like a file name',
      'alice/proj/plain.txt': 'no conflict',
      // The first alternative name is taken: the next one is used.
      'alice/proj/log': 'the file log',
      'alice/proj/log/a.txt': 'in folder log',
      'alice/proj/log (file)': 'a real file named "log (file)"',
    };
    for (const [path, body] of Object.entries(files)) {
      const r = await fetch(`${s.url}/files/${path.split('/').map(encodeURIComponent).join('/')}`, { method: 'PUT', headers: s.auth('alice'), body });
      expect(r.status).toBe(201);
    }
  });
  afterAll(async () => {
    await s?.stop();
    await rm(out, { recursive: true, force: true });
  });

  it('the listing shows both the file and the folder', async () => {
    const r = await fetch(`${s.url}/browse/alice/proj/?format=json`, { headers: s.auth('alice') });
    expect(r.status).toBe(200);
    const page = (await r.json()) as { folders: string[]; files: { name: string }[] };
    expect(page.folders).toEqual(expect.arrayContaining(['notes', 'report.txt', 'log']));
    expect(page.files.map((f) => f.name)).toEqual(expect.arrayContaining(['notes', 'report.txt', 'log', 'log (file)', 'plain.txt']));
  });

  it('the folder zip extracts: the file gets "(file)" in its name, every byte is there', async () => {
    const r = await fetch(`${s.url}/zip/alice/proj/`, { headers: s.auth('alice') });
    expect(r.status).toBe(200);
    const entries = extractZip(Buffer.from(await r.arrayBuffer()), out);
    expect(entries.map((e) => e.name).sort()).toEqual(
      [
        'log (file 2)',
        'log (file)',
        'log/a.txt',
        'notes (file)',
        'notes/deep/more.txt',
        'notes/todo.txt',
        'plain.txt',
        'report (file).txt',
        'report.txt/draft.md',
      ].sort(),
    );
    const text = (p: string) => readFile(join(out, p), 'utf8');
    expect(await text('notes (file)')).toBe('the file called notes');
    expect(await text('notes/todo.txt')).toBe('inside the folder');
    expect(await text('report (file).txt')).toBe('a report file');
    expect(await text('report.txt/draft.md')).toBe('a folder that looks like a file name');
    expect(await text('log (file 2)')).toBe('the file log');
    expect(await text('log (file)')).toBe('a real file named "log (file)"');
    expect((await readdir(out)).sort()).toEqual(['log', 'log (file 2)', 'log (file)', 'notes', 'notes (file)', 'plain.txt', 'report (file).txt', 'report.txt']);
  });

  it('a sub-folder zip renames only within what it holds', async () => {
    const r = await fetch(`${s.url}/zip/alice/proj/notes/`, { headers: s.auth('alice') });
    const dir = await mkdtemp(join(tmpdir(), 'cb-unzip-'));
    try {
      expect(extractZip(Buffer.from(await r.arrayBuffer()), dir).map((e) => e.name)).toEqual(['deep/more.txt', 'todo.txt']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
