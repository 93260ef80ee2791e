import { Readable } from 'node:stream';
import { afterAll, beforeAll } from 'vitest';
import { S3BlobStore } from '../../storage/blobs/s3/s3-blob-store.js';
import { startS3rver, type TestS3 } from '../helpers/s3rver.js';
import { blobStoreContract, damaged, readAll, type BlobStoreFixture } from './blob-store-contract.js';
import { uploadPartsContract } from './upload-parts-contract.js';

let s3: TestS3;
let n = 0;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

// A fresh key prefix per test keeps tests apart inside one bucket; no grace period so that
// cleanupTemp() sees this test's temporary objects at once.
async function open(): Promise<BlobStoreFixture> {
  const store = new S3BlobStore({ client: s3.client, bucket: s3.bucket, prefix: `t${++n}/`, partSize: 5 * 1024 * 1024, tempGraceMs: 0 });
  return {
    store,
    async damage(sha256, where, how) {
      const key = store.forms.keyOf(sha256, where);
      const bytes = await readAll(await store.objects.get(key));
      await store.objects.upload(key, Readable.from([Buffer.from(damaged(bytes, how))]));
    },
    close: async () => {},
  };
}

blobStoreContract('S3BlobStore on s3rver', open, { largeSize: 12 * 1024 * 1024 + 123 });
uploadPartsContract('S3BlobStore on s3rver', open);
