import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { PgKeyedMutex } from '../../storage/locks/pg-keyed-mutex.js';
import { holdServingLock } from '../../storage/locks/pg-presence.js';
import { ConfigError, type ServerConfig } from './config.js';
import { redactUrl } from './redact-url.js';

/** The PostgreSQL catalog and its cross-instance blob locks; both are closed by `closers`. */
export async function openPgCatalog(
  config: ServerConfig,
  log: (line: string) => void,
  closers: (() => Promise<void>)[],
): Promise<{ catalog: PgCatalog; locks: PgKeyedMutex; db: string }> {
  const catalog = await PgCatalog.open({ url: config.databaseUrl, log }).catch((err: Error) => {
    throw new ConfigError(`CB_DATABASE_URL ${redactUrl(config.databaseUrl)}: ${err.message}`);
  });
  closers.push(() => catalog.close());
  // Lets admin fsck --repair see this server (and wait for it) from any machine.
  const serving = await holdServingLock(config.databaseUrl, log);
  closers.push(() => serving.close());
  const locks = new PgKeyedMutex({ url: config.databaseUrl, log });
  closers.push(() => locks.close());
  return { catalog, locks, db: redactUrl(config.databaseUrl) };
}
