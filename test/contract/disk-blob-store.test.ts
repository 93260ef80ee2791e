import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../storage/blobs/disk/disk-blob-store.js';
import { blobStoreContract, damaged } from './blob-store-contract.js';

blobStoreContract(
  'DiskBlobStore',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-contract-'));
    const store = new DiskBlobStore({ root, durable: false });
    await store.init();
    return {
      store,
      async damage(sha256, where, how) {
        const path = store.forms.pathOf(sha256, where);
        await writeFile(path, damaged(await readFile(path), how));
      },
      close: () => rm(root, { recursive: true, force: true }),
    };
  },
  { largeSize: 12 * 1024 * 1024 + 123 },
);

describe('DiskBlobStore blob folders', () => {
  it('a folder it created and then lost (removed behind its back) is created again at the next commit', async () => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-folders-'));
    try {
      const store = new DiskBlobStore({ root, durable: true });
      await store.init();
      const body = () => new Blob(['the same content twice']).stream() as ReadableStream<Uint8Array>;
      const first = await store.writeTemp(body());
      await store.commit(first);
      await rm(store.dirOf(first.sha256), { recursive: true });
      const again = await store.writeTemp(body());
      await store.commit(again);
      expect(await readFile(store.plainPath(again.sha256), 'utf8')).toBe('the same content twice');
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  });
});
