import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DiskSpaceReserve } from '../../storage/space/disk-space-reserve.js';
import { canRestore } from '../../storage/space/space-reserve.js';

describe('canRestore', () => {
  it.each([
    [200, 100, true],
    [199, 100, false],
    [0, 100, false],
    [1e12, 0, false], // no reserve configured
  ])('%d free, reserve %d -> %s', (free, size, want) => {
    expect(canRestore(free, size)).toBe(want);
  });
});

describe('DiskSpaceReserve', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('holds a file of its size, releases it once, and takes it back', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'cb-reserve-'));
    dirs.push(dir);
    const r = new DiskSpaceReserve(dir, 3 * 1024 * 1024 + 5);
    expect(await r.restore()).toBe(true);
    const st = await stat(r.file);
    expect(st.size).toBe(3 * 1024 * 1024 + 5);
    // Real blocks, not a sparse file.
    expect(st.blocks * 512).toBeGreaterThanOrEqual(st.size);
    expect(await r.release()).toBe(true);
    expect(await r.release()).toBe(false);
    expect(await r.restore()).toBe(true);
    expect(await r.held()).toBe(true);
  });
});
