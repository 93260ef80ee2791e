import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBlobStore } from '../../storage/disk-blob-store.js';
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
