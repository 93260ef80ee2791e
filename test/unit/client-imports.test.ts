import { describe, expect, it } from 'vitest';
import { reachable } from '../helpers/imports.js';

describe('client/ boundaries', () => {
  it('the client reaches only its own modules and shared/, never server internals', () => {
    const { files } = reachable('client/main.ts');
    expect(files).toContain('client/backup.ts');
    expect(files).toContain('shared/units.ts');
    expect(files.filter((f) => !f.startsWith('client/') && !f.startsWith('shared/'))).toEqual([]);
  });

  it('shared/ imports nothing but itself', () => {
    const { files, packages } = reachable('shared/units.ts');
    expect(files).toEqual(['shared/units.ts']);
    expect(packages).toEqual([]);
  });
});
