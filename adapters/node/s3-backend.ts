import { HeadBucketCommand } from '@aws-sdk/client-s3';
import { S3BlobStore } from '../../storage/blobs/s3/s3-blob-store.js';
import { createS3Client, type S3Settings } from '../../storage/blobs/s3/s3-client.js';
import { classifyS3Error } from '../../storage/blobs/s3/s3-errors.js';
import { ConfigError, type ServerConfig } from './config.js';

/** The S3 settings of a server config; credentials come from the SDK's default chain. */
export function s3SettingsOf(config: Pick<ServerConfig, 's3Endpoint' | 's3Bucket' | 's3Region'>): S3Settings {
  if (!config.s3Bucket) throw new ConfigError('CB_STORAGE=s3 needs a bucket: set CB_S3_BUCKET (or --s3-bucket)');
  return { bucket: config.s3Bucket, region: config.s3Region, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}) };
}

/** Fails start-up with one clear line when the bucket is missing or refuses us. */
async function checkBucket(store: S3BlobStore, settings: S3Settings): Promise<void> {
  try {
    await store.objects.client.send(new HeadBucketCommand({ Bucket: settings.bucket }));
  } catch (err) {
    const where = `bucket "${settings.bucket}" at ${settings.endpoint ?? `AWS S3 (${settings.region})`}`;
    const kind = classifyS3Error(err);
    const e = err as { name?: string; code?: string; message?: string };
    const reason =
      kind === 'not-found' ? 'does not exist' : kind === 'misconfigured' ? `refused our credentials (${e.name})` : `is unreachable (${e.code ?? e.name}: ${e.message})`;
    throw new ConfigError(`${where} ${reason}`);
  }
}

/** Blobs in the configured bucket, checked to be reachable; `close` destroys its client. */
export async function openS3Blobs(config: ServerConfig): Promise<{ blobs: S3BlobStore; where: string; close: () => Promise<void> }> {
  const settings = s3SettingsOf(config);
  const client = createS3Client(settings);
  const store = new S3BlobStore({ client, bucket: settings.bucket });
  try {
    await checkBucket(store, settings);
  } catch (err) {
    client.destroy();
    throw err;
  }
  const where = `s3://${settings.bucket}${settings.endpoint ? ` at ${settings.endpoint}` : ` (${settings.region})`}`;
  return { blobs: store, where, close: async () => client.destroy() };
}
