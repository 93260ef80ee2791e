import { lookup } from 'node:dns/promises';
import { mkdir, stat } from 'node:fs/promises';
import { isIP } from 'node:net';
import { ConfigError } from './config.js';

function reason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? e.message;
}

/**
 * The data directory, created when missing. Anything else in its place (a file, a path through
 * a file, no permission) is a configuration error, not a crash with a stack trace.
 */
export async function prepareDataDir(dir: string): Promise<void> {
  const found = await stat(dir).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw new ConfigError(`--data: cannot use ${dir} (${reason(err)})`);
  });
  if (found && !found.isDirectory()) throw new ConfigError(`--data: ${dir} is not a directory`);
  if (found) return;
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw new ConfigError(`--data: cannot create ${dir} (${reason(err)})`);
  });
}

/**
 * A host name that does not resolve is a typo in the configuration; only what goes wrong while
 * binding a real address (in use, not ours, privileged port) is a listening problem.
 */
export async function resolveListenHost(host: string): Promise<void> {
  if (isIP(host)) return;
  await lookup(host).catch((err: unknown) => {
    throw new ConfigError(`--host: cannot resolve "${host}" (${reason(err)})`);
  });
}
