import { randomBytes } from 'node:crypto';
import { appendFile, readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../storage/blobs/disk/disk-blob-store.js';
import { NotFoundError } from '../../core/errors.js';
import { sha256 } from '../helpers/bytes.js';
import { makeDataDir } from '../helpers/server.js';
import { streamOf } from '../contract/blob-store-contract.js';

/** What only the disk store promises about upload parts (the rest: test/contract/upload-parts-contract.ts). */
describe('DiskBlobStore upload parts on disk', () => {
  let dir: string;
  let store: DiskBlobStore;
  const a = randomBytes(70_000);
  const b = randomBytes(50_000);

  beforeEach(async () => {
    dir = await makeDataDir();
    store = new DiskBlobStore({ root: dir, durable: false });
    await store.init();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps parts as files in <data>/uploads/, which the start-up wipe of tmp/ leaves alone', async () => {
    await store.parts.create('keep');
    await store.parts.append('keep', 0, streamOf(a));
    await store.cleanupTemp();
    expect(await readdir(join(dir, 'uploads'))).toEqual(['keep']);
  });

  it('drops bytes a crash left past the recorded offset before appending', async () => {
    await store.parts.create('crash');
    await store.parts.append('crash', 0, streamOf(a));
    await appendFile(join(dir, 'uploads', 'crash'), randomBytes(5000));
    expect(await store.parts.append('crash', a.length, streamOf(b))).toBe(a.length + b.length);
    expect(sha256(await readFile(join(dir, 'uploads', 'crash')))).toBe(sha256(Buffer.concat([a, b])));
  });

  it('a finished part moves into the blob tree on commit, leaving nothing in uploads/', async () => {
    await store.parts.create('done');
    await store.parts.append('done', 0, streamOf(a));
    await store.commit(await store.parts.finish('done'));
    expect(await readdir(join(dir, 'uploads'))).toEqual([]);
    expect(sha256(await readFile(store.plainPath(sha256(a))))).toBe(sha256(a));
  });

  it('ids that are not plain names never reach the file system', async () => {
    await expect(store.parts.create('../escape')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.parts.size('a/b')).rejects.toBeInstanceOf(NotFoundError);
    await store.parts.delete('../../catalog.sqlite');
  });
});
