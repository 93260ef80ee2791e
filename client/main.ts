import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { exitIfStaleBuild } from '../shared/build-freshness.js';
import { parseClientArgs, USAGE, type ClientConfig } from './args.js';
import { runOnce } from './backup.js';
import { displayText } from './display-name.js';
import { RootClaimedError, UsageError } from './errors.js';

/** `npm run client -- <folder> [options]`. Exit codes: 0 ok, 1 some failed, 2 bad usage or another source's remote folder. */
async function main(argv: string[]): Promise<number> {
  let config: ClientConfig;
  try {
    const parsed = parseClientArgs(argv, {
      env: process.env,
      cwd: process.cwd(),
      homedir: homedir(),
      platform: process.platform,
      readTextFile: (path) => readFileSync(path, 'utf8'),
    });
    if (parsed.help) {
      console.log(USAGE);
      return 0;
    }
    config = parsed.config;
    for (const w of parsed.warnings) console.error(`cloud-backup client: note: ${w}`);
    const st = await stat(config.folder).catch(() => undefined);
    if (!st?.isDirectory()) throw new UsageError(`${config.folder}: not a folder (or not readable)`);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`cloud-backup client: ${displayText(err.message)} (--help for usage)`);
      return 2;
    }
    throw err;
  }

  const controller = new AbortController();
  let interrupted = false;
  const onSignal = (name: string) => {
    if (interrupted) process.exit(130);
    interrupted = true;
    console.error(`${name}: stopping (uploads in flight are cancelled; large ones resume next time)`);
    controller.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const tty = Boolean(process.stdout.isTTY);
  if (config.once) {
    const result = await runOnce(config, { tty, signal: controller.signal });
    return result.exitCode;
  }
  // Imported here: chokidar and the watcher are no part of a --once start-up.
  const { startWatching } = await import('./watcher.js');
  const handle = startWatching(config, { tty, signal: controller.signal });
  controller.signal.addEventListener('abort', () => void handle.stop(), { once: true });
  await handle.done;
  // Watching ends by itself only on a fatal error (a refused token, another source's folder).
  if (interrupted) return 0;
  return handle.fatal() instanceof RootClaimedError ? 2 : 1;
}

exitIfStaleBuild(import.meta.url, 'cloud-backup client');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
