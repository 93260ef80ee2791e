import { afterAll, beforeAll } from 'vitest';
import { S3BlobStore } from '../../storage/s3-blob-store.js';
import { startS3rver, type TestS3 } from '../helpers/s3rver.js';
import { uploadPartsContract } from './upload-parts-contract.js';

let s3: TestS3;
let n = 0;
beforeAll(async () => {
  s3 = await startS3rver();
});
afterAll(async () => {
  await s3?.stop();
});

uploadPartsContract('S3BlobStore on s3rver', async () => {
  const store = new S3BlobStore({ client: s3.client, bucket: s3.bucket, prefix: `p${++n}/`, tempGraceMs: 0 });
  return { store, close: async () => {} };
});
