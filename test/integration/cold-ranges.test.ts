import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { BlobLocation } from '../../storage/blobs/blob-store.js';
import { DiskBlobStore } from '../../storage/blobs/disk/disk-blob-store.js';
import { FOOTER_BYTES, MEMBER_BYTES, parseFooter } from '../../storage/hot-cold/seekable-gzip.js';
import { readAll, streamOf } from '../contract/blob-store-contract.js';

// Issue 14 item 12: a range of a cold file decompresses only the members that hold it.
describe('ranged reads of cold (gzip) blobs', () => {
  const PLAIN: BlobLocation = { state: 'hot', codec: null };
  const GZ: BlobLocation = { state: 'cold', codec: 'gzip' };
  const text = Buffer.from(Array.from({ length: 120_000 }, (_, i) => `record ${i}: ${(i * 2654435761) % 100000} some words\n`).join(''));
  let root: string;
  let store: DiskBlobStore;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'cb-cold-ranges-'));
    store = new DiskBlobStore({ root, durable: false });
    await store.init();
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function makeCold(): Promise<string> {
    const t = await store.writeTemp(streamOf(text));
    await store.commit(t);
    await store.forms.install(await store.forms.convert(t.sha256, PLAIN, GZ));
    await store.forms.delete(t.sha256, PLAIN);
    return t.sha256;
  }

  it('the cold form is seekable gzip: one ordinary gzip stream with an index of its members', async () => {
    expect(text.length).toBeGreaterThan(3 * MEMBER_BYTES);
    const sha = await makeCold();
    const file = await readFile(store.forms.pathOf(sha, GZ));
    expect(gunzipSync(file).equals(text)).toBe(true);
    expect(parseFooter(file.subarray(file.length - FOOTER_BYTES), file.length)).toMatchObject({ plainSize: text.length, count: Math.ceil(text.length / MEMBER_BYTES) });
  });

  it('a range in the last member does not read the members before it', async () => {
    const sha = await makeCold();
    const path = store.forms.pathOf(sha, GZ);
    // Destroy the first member: a read that decompressed from the start could not get past it.
    const file = await readFile(path);
    file.fill(0, 100, 5000);
    await writeFile(path, file);
    const start = text.length - 1000;
    const got = await readAll(await store.read(sha, { start, end: text.length - 1 }, GZ));
    expect(got.equals(text.subarray(start))).toBe(true);
    // A range inside the damaged member fails instead of returning wrong bytes.
    await expect(readAll(await store.read(sha, { start: 10, end: 20 }, GZ))).rejects.toThrow();
  });

  it.each([
    [0, 0],
    [MEMBER_BYTES - 5, MEMBER_BYTES + 5],
    [123_456, 123_456 + 2 * MEMBER_BYTES],
    [0, text.length - 1],
  ])('range %i-%i is exact', async (start, end) => {
    const sha = await makeCold();
    expect((await readAll(await store.read(sha, { start, end }, GZ))).equals(text.subarray(start, end + 1))).toBe(true);
  });

  it('an old single-member gzip form still reads, from the start', async () => {
    const sha = await makeCold();
    const path = store.forms.pathOf(sha, GZ);
    await writeFile(path, gzipSync(text));
    expect((await stat(path)).size).toBeGreaterThan(0);
    const start = text.length - 100;
    expect((await readAll(await store.read(sha, { start, end: text.length - 1 }, GZ))).equals(text.subarray(start))).toBe(true);
    expect((await readAll(await store.read(sha, undefined, GZ, { verify: true }))).equals(text)).toBe(true);
  });
});
