import { describe, expect, it } from 'vitest';
import { reachable } from '../helpers/imports.js';

describe('client/ boundaries', () => {
  it('the client reaches only its own modules and shared/, never server internals (the watcher, imported when watching, too)', () => {
    const { files } = reachable('client/main.ts');
    expect(files).toContain('client/backup.ts');
    expect(files).toContain('shared/units.ts');
    const watching = reachable('client/watcher.ts').files;
    expect(watching).toContain('client/backup.ts');
    expect([...files, ...watching].filter((f) => !f.startsWith('client/') && !f.startsWith('shared/'))).toEqual([]);
  });

  it('a --once start-up loads neither the watcher nor chokidar (imported only to watch), nor drizzle', () => {
    const { files, packages } = reachable('client/main.ts');
    expect(files).not.toContain('client/watcher.ts');
    expect(packages).not.toContain('chokidar');
    // The state DB is plain better-sqlite3; drizzle only migrates, and is loaded only to do so.
    expect(packages.filter((p) => p.startsWith('drizzle-orm'))).toEqual([]);
  });

  it('shared/ imports nothing but itself', () => {
    const { files, packages } = reachable('shared/units.ts');
    expect(files).toEqual(['shared/units.ts']);
    expect(packages).toEqual([]);
  });
});
