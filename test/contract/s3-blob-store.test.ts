import { afterAll, beforeAll } from 'vitest';
import { S3BlobStore } from '../../storage/s3-blob-store.js';
import { startS3rver, type TestS3 } from '../helpers/s3rver.js';
import { blobStoreContract } from './blob-store-contract.js';

let s3: TestS3;
let n = 0;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

blobStoreContract(
  'S3BlobStore on s3rver',
  async () => {
    // A fresh key prefix per test keeps tests apart inside one bucket; no grace period so that
    // cleanupTemp() sees this test's temporary objects at once.
    const store = new S3BlobStore({ client: s3.client, bucket: s3.bucket, prefix: `t${++n}/`, partSize: 5 * 1024 * 1024, tempGraceMs: 0 });
    return { store, close: async () => {} };
  },
  { largeSize: 12 * 1024 * 1024 + 123 },
);
