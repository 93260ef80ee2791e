import { stat } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { exitIfStaleBuild } from '../../shared/build-freshness.js';
import { humanSize, parseSize } from '../../shared/units.js';
import { AppError } from '../../core/errors.js';
import type { SqlCatalog } from '../../storage/catalog/sql-catalog.js';
import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { ConfigError, loadConfig } from './config.js';
import { catalogFile } from './server.js';
import { fsckCommand } from './fsck-command.js';
import { prepareDataDir } from './startup-checks.js';
import { createClient } from './tokens.js';
import { purgeCommand, resumePruneCommand } from './history-commands.js';
import { statusCommand } from './status-command.js';

const USAGE = `usage: npm run admin -- <command> [--data DIR]
  add-client NAME [--admin] [--quota SIZE] [--create]
                              create a client; its token is printed as the last line
                              (--quota: most bytes its files and their history may take, e.g. 50G;
                              --create: start a new data directory if there is none)
  set-quota NAME SIZE|none    change a client's quota (none: no limit)
  list-clients                list clients with their quota and usage
  revoke-client NAME          refuse the client's token from now on (its files stay)
  fsck [--repair] [--quick] [--json]
                              check the catalog against the stored blobs (re-hashing them);
                              --repair fixes what can be fixed without losing data (stop the server first)
  status [--stale-after 2d]   per client: last successful backup, files, current and history bytes,
                              quota, last seen; warnings for silent or failing clients and guard holds
  resume-prune NAME           let retention prune NAME's history again after a guard hold
  purge NS/PATH | NS/FOLDER/  remove every version at once (destroys history); prints what it freed
                              (SQLite catalog: stop the server first)`;

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** A quota as the admin writes it: a size in the server's grammar (50G, 500M), or none. */
function parseQuota(value: string, name: string): number | null {
  if (value.trim().toLowerCase() === 'none') return null;
  let bytes: number;
  try {
    bytes = parseSize(value);
  } catch (err) {
    throw new ConfigError(`${name}: ${(err as Error).message}, or none`);
  }
  if (bytes === 0) throw new ConfigError(`${name}: a quota of 0 would refuse every upload; give a size such as 50G, or none for no limit`);
  return bytes;
}

function quotaText(quotaBytes: number | null, usedBytes: number): string {
  return quotaBytes === null ? `no quota, ${humanSize(usedBytes)} used` : `quota ${humanSize(quotaBytes)}, ${humanSize(usedBytes)} used`;
}

/**
 * A mistyped --data must not quietly start an empty catalog somewhere (the server would never
 * see the client added there): only `add-client --create` may start one.
 */
async function requireDataDir(dataDir: string, create: boolean): Promise<void> {
  if (create) return prepareDataDir(dataDir);
  const dir = await stat(dataDir).catch(() => undefined);
  if (!dir) throw new ConfigError(`no data directory at ${dataDir}: pass --data (or CB_DATA_DIR) of the server, or add-client NAME --create to start one`);
  if (!dir.isDirectory()) throw new ConfigError(`--data: ${dataDir} is not a directory`);
  if (!(await stat(catalogFile(dataDir)).catch(() => undefined))) {
    throw new ConfigError(`${dataDir} holds no catalog (catalog.sqlite): pass --data of the server, or add-client NAME --create to start one`);
  }
}

async function main(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      admin: { type: 'boolean', default: false },
      data: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
      repair: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
      force: { type: 'boolean', default: false },
      create: { type: 'boolean', default: false },
      quota: { type: 'string' },
      'stale-after': { type: 'string' },
    },
    allowPositionals: true,
    strict: true,
  });
  const [command, ...rest] = positionals;
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  if (values.quota !== undefined && command !== 'add-client') throw new ConfigError('--quota goes with add-client; set-quota NAME SIZE changes a quota');
  // Checked before any catalog is opened: a typo changes nothing.
  const quota = values.quota === undefined ? null : parseQuota(values.quota, '--quota');
  if (command === 'set-quota' && (rest.length !== 2 || !rest[0])) throw new ConfigError('set-quota needs NAME and SIZE (e.g. 50G) or none');
  const newQuota = command === 'set-quota' ? parseQuota(rest[1] as string, 'set-quota') : null;
  const flags = [...(values.data ? ['--data', values.data] : []), ...(values['stale-after'] !== undefined ? ['--stale-after', values['stale-after']] : [])];
  const config = loadConfig(flags, process.env);
  if (!config.databaseUrl) await requireDataDir(config.dataDir, command === 'add-client' && values.create === true);
  // CB_DATABASE_URL: the shared PostgreSQL catalog of a multi-instance setup.
  const catalog: SqlCatalog = config.databaseUrl ? await PgCatalog.open({ url: config.databaseUrl }) : new SqliteCatalog({ file: catalogFile(config.dataDir) });
  try {
    switch (command) {
      case 'add-client': {
        const name = rest[0];
        if (!name || rest.length > 1 || !NAME.test(name)) {
          console.error('add-client needs one NAME: letters, digits, ".", "_" or "-", at most 64, not starting with a symbol');
          return 2;
        }
        const token = await createClient(catalog, name, values.admin ?? false, quota);
        const limit = quota === null ? '' : ` (quota ${humanSize(quota)}: its files and their history)`;
        console.log(`added client ${name}${values.admin ? ' (admin)' : ''}; it writes to ${name}/...${limit} Keep this token secret, it is not shown again:`);
        console.log(token);
        return 0;
      }
      case 'list-clients': {
        const all = await catalog.listClients();
        if (all.length === 0) console.log('no clients yet: npm run admin -- add-client NAME');
        for (const c of all) {
          const status = c.revokedAt === null ? 'active' : `revoked ${new Date(c.revokedAt).toISOString()}`;
          const usage = await catalog.quotaUsage(c.name);
          console.log(`${c.name}\t${c.admin ? 'admin' : 'client'}\t${status}\tcreated ${new Date(c.createdAt).toISOString()}\t${quotaText(c.quotaBytes, usage.usedBytes)}`);
        }
        return 0;
      }
      case 'set-quota': {
        const name = rest[0] as string;
        if (!(await catalog.setQuota(name, newQuota))) {
          console.error(`no client named ${name}`);
          return 1;
        }
        const { usedBytes } = await catalog.quotaUsage(name);
        console.log(`${name}: ${quotaText(newQuota, usedBytes)}`);
        // Lowering a quota below what is held removes nothing: new versions are refused until retention or purge makes room.
        if (newQuota !== null && usedBytes > newQuota) console.log(`${name} is over its quota: uploads are refused (507) until retention or purge frees ${humanSize(usedBytes - newQuota)}, or the quota is raised`);
        return 0;
      }
      case 'revoke-client': {
        const name = rest[0];
        if (!name || rest.length > 1) {
          console.error('revoke-client needs one NAME');
          return 2;
        }
        if (!(await catalog.revokeClient(name, Date.now()))) {
          console.error(`no active client named ${name}`);
          return 1;
        }
        console.log(`revoked ${name}: its token is refused from now on`);
        return 0;
      }
      case 'fsck': {
        const flags = { repair: values.repair ?? false, quick: values.quick ?? false, json: values.json ?? false, force: values.force ?? false };
        return await fsckCommand(config, catalog, flags);
      }
      case 'status':
        return await statusCommand(catalog, config.staleAfterMs);
      case 'resume-prune': {
        const name = rest[0];
        if (!name || rest.length > 1) {
          console.error('resume-prune needs one NAME');
          return 2;
        }
        return await resumePruneCommand(catalog, name);
      }
      case 'purge': {
        if (rest.length !== 1) {
          console.error('purge needs one <namespace>/<path> or <namespace>/<folder>/');
          return 2;
        }
        await catalog.close();
        return await purgeCommand(config, rest[0] as string);
      }
      default:
        console.error(`unknown command ${command}\n${USAGE}`);
        return 2;
    }
  } finally {
    await catalog.close();
  }
}

exitIfStaleBuild(import.meta.url, 'cloud-backup admin');
try {
  process.exitCode = await main(process.argv.slice(2));
} catch (err) {
  if (err instanceof ConfigError || err instanceof AppError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
    console.error(`admin: ${(err as Error).message}`);
    process.exitCode = err instanceof AppError ? 1 : 2;
  } else throw err;
}
