import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { homedir } from 'node:os';
import { exitIfStaleBuild } from '../shared/build-freshness.js';
import { displayText } from './display-name.js';
import { UsageError } from './errors.js';
import { parseRestoreArgs, RESTORE_USAGE, type RestoreConfig } from './restore-args.js';
import { runRestore } from './restore.js';

/** `npm run restore -- <ns/folder> <local folder> [options]`. Exit codes: 0 all restored, 1 some not, 2 bad usage. */
async function main(argv: string[]): Promise<number> {
  let config: RestoreConfig;
  try {
    const parsed = parseRestoreArgs(argv, {
      env: process.env,
      cwd: process.cwd(),
      homedir: homedir(),
      platform: process.platform,
      readTextFile: (path) => readFileSync(path, 'utf8'),
    });
    if (parsed.help) {
      console.log(RESTORE_USAGE);
      return 0;
    }
    config = parsed.config;
    for (const w of parsed.warnings) console.error(`cloud-backup restore: note: ${w}`);
    const st = await stat(config.folder).catch(() => undefined);
    if (st && !st.isDirectory()) throw new UsageError(`${config.folder}: exists and is not a folder`);
  } catch (err) {
    if (err instanceof UsageError) {
      console.error(`cloud-backup restore: ${displayText(err.message)} (--help for usage)`);
      return 2;
    }
    throw err;
  }

  const controller = new AbortController();
  const onSignal = (name: string) => {
    if (controller.signal.aborted) process.exit(130);
    console.error(`${name}: stopping (partial downloads are kept and resume next time)`);
    controller.abort();
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));

  const result = await runRestore(config, { tty: Boolean(process.stdout.isTTY), signal: controller.signal });
  return result.exitCode;
}

exitIfStaleBuild(import.meta.url, 'cloud-backup restore');
main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err);
    process.exitCode = 1;
  },
);
