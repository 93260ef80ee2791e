import { join } from 'node:path';
import { HeadBucketCommand } from '@aws-sdk/client-s3';
import type { BlobStore } from '../../storage/blob-store.js';
import type { Catalog } from '../../storage/catalog.js';
import { DiskBlobStore } from '../../storage/disk-blob-store.js';
import { KeyedMutex } from '../../storage/keyed-mutex.js';
import { PgCatalog } from '../../storage/pg-catalog.js';
import { PgKeyedMutex } from '../../storage/pg-keyed-mutex.js';
import { holdServingLock } from '../../storage/pg-presence.js';
import { S3BlobStore } from '../../storage/s3-blob-store.js';
import { createS3Client, type S3Settings } from '../../storage/s3-client.js';
import { classifyS3Error } from '../../storage/s3-errors.js';
import { SqliteCatalog } from '../../storage/sqlite-catalog.js';
import { ConfigError, type ServerConfig } from './config.js';
import { prepareDataDir } from './startup-checks.js';

export interface Backends {
  blobs: BlobStore;
  catalog: Catalog;
  /** Per-blob locks: in-process, or across instances when the catalog is PostgreSQL. */
  locks: KeyedMutex;
  /** One line for the start-up log, without secrets. */
  describe: string;
  close(): Promise<void>;
}

export function catalogFile(dataDir: string): string {
  return join(dataDir, 'catalog.sqlite');
}

/** The S3 settings of a server config; credentials come from the SDK's default chain. */
export function s3SettingsOf(config: Pick<ServerConfig, 's3Endpoint' | 's3Bucket' | 's3Region'>): S3Settings {
  if (!config.s3Bucket) throw new ConfigError('CB_STORAGE=s3 needs a bucket: set CB_S3_BUCKET (or --s3-bucket)');
  return { bucket: config.s3Bucket, region: config.s3Region, ...(config.s3Endpoint ? { endpoint: config.s3Endpoint } : {}) };
}

/** The database URL with its password masked, for logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable)';
  }
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

/** The blob store of a config (disk or S3, checked to be reachable), described for logs. */
export async function openBlobStore(config: ServerConfig): Promise<{ blobs: BlobStore; where: string; close: () => Promise<void> }> {
  if (config.storage === 's3') {
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
  const disk = new DiskBlobStore({ root: config.dataDir, durable: config.durable });
  await disk.init();
  return { blobs: disk, where: config.dataDir, close: async () => {} };
}

/**
 * The storage a server runs on: blobs on local disk or S3 (CB_STORAGE), the catalog in SQLite in
 * the data dir or in PostgreSQL (CB_DATABASE_URL). The data dir is used either way (pid file,
 * and SQLite or disk blobs when chosen).
 */
export async function openBackends(config: ServerConfig, log: (line: string) => void): Promise<Backends> {
  await prepareDataDir(config.dataDir);
  const closers: (() => Promise<void>)[] = [];
  const close = async () => {
    for (const c of closers.reverse()) await c().catch(() => {});
  };
  try {
    const store = await openBlobStore(config);
    closers.push(store.close);
    const { blobs, where } = store;

    let catalog: Catalog;
    let locks: KeyedMutex;
    let db: string;
    if (config.databaseUrl) {
      const pg = await PgCatalog.open({ url: config.databaseUrl, log }).catch((err: Error) => {
        throw new ConfigError(`CB_DATABASE_URL ${redactUrl(config.databaseUrl)}: ${err.message}`);
      });
      closers.push(() => pg.close());
      // Lets admin fsck --repair see this server (and wait for it) from any machine.
      const serving = await holdServingLock(config.databaseUrl, log);
      closers.push(() => serving.close());
      const mutex = new PgKeyedMutex({ url: config.databaseUrl, log });
      closers.push(() => mutex.close());
      catalog = pg;
      locks = mutex;
      db = redactUrl(config.databaseUrl);
    } else {
      const sqlite = new SqliteCatalog({ file: catalogFile(config.dataDir), durable: config.durable });
      closers.push(() => sqlite.close());
      catalog = sqlite;
      locks = new KeyedMutex();
      db = catalogFile(config.dataDir);
    }
    return { blobs, catalog, locks, describe: `blobs in ${where}, catalog in ${db}`, close };
  } catch (err) {
    await close();
    throw err;
  }
}
