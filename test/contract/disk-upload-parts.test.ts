import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DiskBlobStore } from '../../storage/blobs/disk/disk-blob-store.js';
import { uploadPartsContract } from './upload-parts-contract.js';

uploadPartsContract('DiskBlobStore', async () => {
  const root = await mkdtemp(join(tmpdir(), 'cb-disk-parts-'));
  const store = new DiskBlobStore({ root, durable: false });
  await store.init();
  return { store, close: () => rm(root, { recursive: true, force: true }) };
});
