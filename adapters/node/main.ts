import { exitIfStaleBuild } from '../../shared/build-freshness.js';
import { ConfigError, loadConfig, usage } from './config.js';
import { messageLine } from './log-lines.js';
import { startServer } from './server.js';

exitIfStaleBuild(import.meta.url, 'cloud-backup');
const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(usage());
  process.exit(0);
}

/** Errors of the listening socket itself (the address is taken, not ours, or privileged). */
const LISTEN_ERRORS: ReadonlySet<string> = new Set(['EADDRINUSE', 'EACCES', 'EADDRNOTAVAIL']);

try {
  const config = loadConfig(argv, process.env);
  const say = (line: string) => console.log(messageLine(line, config.logFormat, Date.now()));
  const server = await startServer(config);
  const noClients = !(await server.catalog.listClients()).some((c) => c.revokedAt === null);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    say(`${signal}: shutting down (in-flight requests finish, the database is closed)`);
    server.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // Announced only once a signal stops it cleanly: whoever waits for this line may stop it at once.
  say(`cloud-backup listening on http://${config.host}:${server.port} (data in ${config.dataDir})`);
  if (noClients) {
    const where = config.databaseUrl ? ' (with the same CB_DATABASE_URL)' : ` --data ${config.dataDir}`;
    say(`no clients yet: every request but /healthz is refused until you add one with: npm run admin -- add-client NAME${where}`);
  }
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`cloud-backup: ${err.message}`);
    process.exit(2);
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code !== undefined && LISTEN_ERRORS.has(code)) {
    console.error(`cloud-backup: cannot listen: ${(err as Error).message}`);
    process.exit(2);
  }
  throw err;
}
