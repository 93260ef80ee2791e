import { ConfigError, loadConfig, usage } from './config.js';
import { startServer } from './server.js';

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(usage());
  process.exit(0);
}

try {
  const config = loadConfig(argv, process.env);
  const server = await startServer(config);
  console.log(`cloud-backup listening on http://${config.host}:${server.port} (data in ${config.dataDir})`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    console.log(`${signal}: shutting down (in-flight requests finish, the database is closed)`);
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
} catch (err) {
  if (err instanceof ConfigError) {
    console.error(`cloud-backup: ${err.message}`);
    process.exit(2);
  }
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
    console.error(`cloud-backup: cannot listen: ${(err as Error).message}`);
    process.exit(2);
  }
  throw err;
}
