import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBlobStore } from '../../storage/disk-blob-store.js';
import { blobStoreContract } from './blob-store-contract.js';

blobStoreContract(
  'DiskBlobStore',
  async () => {
    const root = await mkdtemp(join(tmpdir(), 'cb-disk-contract-'));
    const store = new DiskBlobStore({ root, durable: false });
    await store.init();
    return { store, close: () => rm(root, { recursive: true, force: true }) };
  },
  { largeSize: 12 * 1024 * 1024 + 123 },
);
