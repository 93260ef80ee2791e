import { mkdtempSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BlobPlacer } from '../../storage/blobs/disk/blob-placer.js';

async function setup() {
  const root = mkdtempSync(join(tmpdir(), 'cb-placer-'));
  onTestFinished(() => rm(root, { recursive: true, force: true }));
  await mkdir(join(root, 'tmp'));
  const segment = join(root, 'segment.log');
  // Three "records": the bytes at known offsets of one file, as the blob log leaves them.
  await writeFile(segment, Buffer.concat([Buffer.from('xxxxAAAA'), Buffer.from('BBBBBB'), Buffer.from('C')]));
  let n = 0;
  const placement = (offset: number, size: number, name: string) => ({ segment, offset, size, tmp: join(root, 'tmp', `t${n++}`), to: join(root, 'blobs', name.slice(0, 2), name.slice(2, 4), name) });
  return { root, placement };
}

describe('BlobPlacer (issue 16, sixth round)', () => {
  it('makes each file from its bytes in the segment, folders included; a failure is its placement\'s alone, with its code', async () => {
    const { root, placement } = await setup();
    const placer = new BlobPlacer();
    try {
      const a = placement(4, 4, 'aaaa01');
      const b = placement(8, 6, 'aabb02');
      const c = placement(14, 1, 'ccdd03');
      const bad = { ...placement(0, 1, 'eeff04'), segment: join(root, 'no-such-segment') };
      const results = await Promise.allSettled([a, b, c, bad].map((p) => placer.place(p)));
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'fulfilled', 'fulfilled', 'rejected']);
      expect((results[3] as PromiseRejectedResult).reason).toMatchObject({ code: 'ENOENT' });
      expect(await readFile(a.to, 'utf8')).toBe('AAAA');
      expect(await readFile(b.to, 'utf8')).toBe('BBBBBB');
      expect(await readFile(c.to, 'utf8')).toBe('C');
      // Nothing is left in tmp/, not even by the failed one.
      expect(await readdir(join(root, 'tmp'))).toEqual([]);
    } finally {
      await placer.close();
    }
  });

  it('a placement asked for while an idle worker is being closed goes to a new worker and succeeds', async () => {
    const { placement } = await setup();
    const placer = new BlobPlacer();
    try {
      await placer.place(placement(4, 4, 'aaaa01'));
      const closing = placer.close();
      const next = placement(8, 6, 'aabb02');
      await placer.place(next);
      await closing;
      expect(await readFile(next.to, 'utf8')).toBe('BBBBBB');
      const after = placement(14, 1, 'ccdd03');
      await placer.place(after);
      expect(await readFile(after.to, 'utf8')).toBe('C');
    } finally {
      await placer.close();
    }
  });
});
