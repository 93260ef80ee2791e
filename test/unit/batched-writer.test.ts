import { randomBytes } from 'node:crypto';
import { mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BatchedWriter, dropWritten } from '../../storage/blobs/disk/batched-writer.js';
import { sha256 } from '../helpers/bytes.js';

const b = (s: string) => Buffer.from(s);
const text = (bufs: Uint8Array[]) => bufs.map((x) => Buffer.from(x).toString()).join('|');

describe('dropWritten', () => {
  it.each([
    [['abc', 'de'], 0, 'abc|de'],
    [['abc', 'de'], 2, 'c|de'],
    [['abc', 'de'], 3, 'de'],
    [['abc', 'de'], 4, 'e'],
    [['abc', 'de'], 5, ''],
    [['', 'ab'], 1, 'b'],
  ])('%j after %d bytes leaves "%s"', (parts, n, want) => {
    expect(text(dropWritten(parts.map(b), n))).toBe(want);
  });
});

describe('BatchedWriter', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cb-batched-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['small chunks, small batches', 1000, 700, 3000],
    ['chunks larger than a batch', 200, 70_000, 65_536],
    ['one chunk', 1, 123_456, 1 << 20],
    ['empty chunks in between', 50, 0, 10],
  ])('writes every byte in order: %s', async (_, count, size, batch) => {
    const path = join(dir, `f-${count}-${size}-${batch}`);
    const chunks = Array.from({ length: count }, (_, i) => randomBytes(i % 7 === 0 ? 0 : size));
    const fh = await open(path, 'w');
    const w = new BatchedWriter(fh, { batchBytes: batch });
    for (const c of chunks) await w.write(c);
    await w.flush();
    await fh.close();
    expect(sha256(await readFile(path))).toBe(sha256(Buffer.concat(chunks)));
  });

  it('syncs as it goes when asked (syncEveryBytes), and not otherwise', async () => {
    for (const [every, least, most] of [
      [undefined, 0, 0],
      [4096, 3, 10],
    ] as const) {
      const path = join(dir, `sync-${every}`);
      const fh = await open(path, 'w');
      const syncs = vi.spyOn(fh, 'datasync');
      const w = new BatchedWriter(fh, { batchBytes: 1024, syncEveryBytes: every });
      const chunks = Array.from({ length: 20 }, () => randomBytes(1024));
      for (const c of chunks) await w.write(c);
      await w.flush();
      await fh.close();
      expect(syncs.mock.calls.length).toBeGreaterThanOrEqual(least);
      expect(syncs.mock.calls.length).toBeLessThanOrEqual(most);
      expect(sha256(await readFile(path))).toBe(sha256(Buffer.concat(chunks)));
    }
  });

  it('reports a failed write at the next batch or at flush', async () => {
    const path = join(dir, 'read-only');
    await writeFile(path, '');
    const fh = await open(path, 'r');
    const w = new BatchedWriter(fh, { batchBytes: 10 });
    await w.write(randomBytes(20)); // starts a write that fails (EBADF)
    await expect(w.flush()).rejects.toMatchObject({ code: 'EBADF' });
    await fh.close();
  });
});
