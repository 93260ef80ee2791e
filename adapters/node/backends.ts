import { join } from 'node:path';
import type { BlobStore } from '../../storage/blobs/blob-store.js';
import type { Catalog } from '../../storage/catalog/catalog.js';
import { DiskBlobStore } from '../../storage/blobs/disk/disk-blob-store.js';
import { KeyedMutex } from '../../storage/locks/keyed-mutex.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
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

/** The blob store of a config (disk or S3, checked to be reachable), described for logs. */
export async function openBlobStore(config: ServerConfig, log?: (line: string) => void): Promise<{ blobs: BlobStore; where: string; close: () => Promise<void> }> {
  if (config.storage === 's3') {
    // Loaded only when chosen (PostgreSQL too): the AWS SDK alone adds some 20 MB and 150 ms to every start.
    const { openS3Blobs } = await import('./s3-backend.js');
    return openS3Blobs(config);
  }
  const disk = new DiskBlobStore({ root: config.dataDir, durable: config.durable, log: { onMessage: log } });
  await disk.init();
  // A clean stop checkpoints the blob log, so that the next start-up has nothing to replay.
  return { blobs: disk, where: config.dataDir, close: () => disk.close() };
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
    const store = await openBlobStore(config, log);
    closers.push(store.close);
    const { blobs, where } = store;

    let catalog: Catalog;
    let locks: KeyedMutex;
    let db: string;
    if (config.databaseUrl) {
      const { openPgCatalog } = await import('./pg-backend.js');
      ({ catalog, locks, db } = await openPgCatalog(config, log, closers));
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
