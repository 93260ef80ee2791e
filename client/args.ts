import { createHash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { parseDuration, parseSize } from '../shared/units.js';
import { UsageError } from './errors.js';
import { defaultPrefix, parsePrefix, pathApi, pathFlavor, type PathFlavor } from './remote-path.js';

export interface ClientConfig {
  /** Absolute path of the folder to back up, in its own flavor's syntax. */
  folder: string;
  flavor: PathFlavor;
  /** Server base URL without a trailing slash. */
  server: string;
  token: string;
  once: boolean;
  /** Remote folder under the namespace, as segments ([] = the namespace itself). */
  prefix: string[];
  concurrency: number;
  /** Bytes per second over all uploads together; null = unlimited. */
  limitRate: number | null;
  settleMs: number;
  intervalMs: number;
  /** The state DB file. */
  statePath: string;
  /** --exclude patterns (gitignore syntax, relative to the folder). */
  exclude: string[];
  /** Local deletions stay local: no DELETE is sent (the server copy stays current). */
  keepDeleted: boolean;
  /** Take the remote folder over from the source that backed up into it so far (a new computer). */
  adopt: boolean;
}

/** Everything args.ts needs from the outside world, so it stays pure and testable. */
export interface ArgsEnv {
  env: Record<string, string | undefined>;
  cwd: string;
  homedir: string;
  platform: NodeJS.Platform;
  /** Reads a small text file (--token-file); absent: token files are refused. */
  readTextFile?: (path: string) => string;
}

export const DEFAULTS = {
  server: 'http://127.0.0.1:9090',
  concurrency: 4,
  settle: '3s',
  interval: '60s',
} as const;

/** The server's duration grammar ('3s', '500ms', '2m', '1h30m', '7d', '1w'); a bare number is seconds. */
export function parseDurationMs(flag: string, value: string): number {
  try {
    return parseDuration(value);
  } catch {
    throw new UsageError(`${flag}: expected a duration like 3s, 500ms, 2m, 1d, got "${value}"`);
  }
}

/** '500K', '2M', '1.5m', '2MiB/s', '65536' bytes/s (binary multiples, as curl's --limit-rate); 0 = unlimited. */
export function parseRate(flag: string, value: string): number | null {
  const v = value.trim().toLowerCase();
  if (v === 'unlimited' || v === 'none') return null;
  let bytes: number;
  try {
    bytes = Math.floor(parseSize(v.replace(/\/s$/, '')));
  } catch {
    throw new UsageError(`${flag}: expected a rate like 500K or 2M (bytes per second), got "${value}"`);
  }
  if (bytes === 0) return null;
  if (bytes < 1024) throw new UsageError(`${flag}: ${bytes} bytes/s is too slow to be useful (at least 1K)`);
  return bytes;
}

export function parseConcurrency(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1 || Number(value) > 64) {
    throw new UsageError(`--concurrency: expected an integer from 1 to 64, got "${value}"`);
  }
  return Number(value);
}

export function parseServer(flag: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new UsageError(`${flag}: "${value}" is not a URL (example: http://backup:9090)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new UsageError(`${flag}: expected an http:// or https:// URL, got "${value}"`);
  }
  // Shown without the credentials: they must not end up in a log line.
  if (url.username || url.password) throw new UsageError(`${flag}: no user or password in the URL, please; the token goes in --token-file or CB_TOKEN`);
  if (url.search || url.hash) throw new UsageError(`${flag}: no query or fragment, please: "${value}"`);
  // The API lives at the server's root (/files/..., /api/...): a path would send every request astray.
  if (url.pathname !== '/') throw new UsageError(`${flag}: no path, please: the server's address is ${url.origin} (got "${value}")`);
  return url.origin;
}

/**
 * Where the state DB lives by default: per user, outside the backed-up folder, one file per
 * (server, folder) pair so two backups never share records.
 */
export function defaultStatePath(folder: string, flavor: PathFlavor, server: string, e: ArgsEnv): string {
  const api = pathApi(e.platform === 'win32' ? 'win32' : 'posix');
  let dir: string;
  if (e.platform === 'win32') {
    dir = api.join(e.env.LOCALAPPDATA || api.join(e.homedir, 'AppData', 'Local'), 'cloud-backup');
  } else if (e.platform === 'darwin') {
    dir = api.join(e.homedir, 'Library', 'Application Support', 'cloud-backup');
  } else {
    const xdg = e.env.XDG_STATE_HOME;
    dir = api.join(xdg && api.isAbsolute(xdg) ? xdg : api.join(e.homedir, '.local', 'state'), 'cloud-backup');
  }
  // Windows paths are case-insensitive: C:\Docs and c:\docs are one folder, one DB.
  const folderKey = flavor === 'win32' ? folder.toLowerCase() : folder;
  const key = createHash('sha256').update(`${server}\n${folderKey}`).digest('hex').slice(0, 16);
  const label = (pathApi(flavor).basename(folder) || 'root').replace(/[^\p{L}\p{N}._-]+/gu, '_').slice(0, 40);
  return api.join(dir, `${label}-${key}.sqlite`);
}

export const USAGE = `usage: npm run client -- <folder> [options]

Backs up every file under <folder> to a cloud-backup server and keeps watching for changes.

  --server URL         server address (env CB_SERVER; default ${DEFAULTS.server})
  --token-file PATH    a file holding this client's token (env CB_TOKEN_FILE)
  --token TOKEN        the token itself (env CB_TOKEN); prefer the file or the variable:
                       a flag is visible to every user of the machine in the process list
  --once               one pass, then exit: 0 all backed up, 1 some failed, 2 bad usage
  --prefix NAME        remote folder under your namespace (default: the folder's own name);
                       it belongs to this folder on this computer: another folder is refused
  --adopt              take the remote folder over from the folder (or computer) that backed
                       up into it so far, e.g. on a new computer; that one is refused from then on
  --concurrency N      files uploaded at once (default ${DEFAULTS.concurrency})
  --limit-rate RATE    total upload bandwidth, e.g. 500K or 2M bytes/s (default unlimited)
  --settle DURATION    a file must be unchanged this long before upload (default ${DEFAULTS.settle})
  --interval DURATION  full rescan period in watch mode (default ${DEFAULTS.interval})
  --state PATH         the client's state DB (default: per user, outside the folder)
  --exclude GLOB       leave out what matches (gitignore syntax, repeatable); .cbignore files
                       in any folder add rules for that folder
  --keep-deleted       do not delete on the server what was deleted here (by default a
                       deletion is sent, and the server keeps the file's history)
  -h, --help           this text`;

export type ParsedArgs = { help: true } | { help: false; config: ClientConfig; warnings: string[] };

/**
 * The token from a file: its first non-empty line, either the bare token or `CB_TOKEN=...` (so the
 * same file can serve as a systemd EnvironmentFile).
 */
export function tokenFromFileText(text: string): string {
  const line = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#')) ?? '';
  return line.replace(/^CB_TOKEN=/, '').replace(/^(["'])(.*)\1$/, '$2').trim();
}

/** The token from --token, --token-file, CB_TOKEN or CB_TOKEN_FILE (in that order), for every command that talks to the server. */
export function readToken(values: { token?: string; 'token-file'?: string }, e: ArgsEnv, resolvePath: (p: string) => string): { token: string; warnings: string[] } {
  if (values.token !== undefined && values['token-file'] !== undefined) throw new UsageError('give either --token or --token-file, not both');
  const warnings: string[] = [];
  let token: string | undefined;
  const file = values['token-file'] ?? (values.token === undefined && !e.env.CB_TOKEN ? e.env.CB_TOKEN_FILE : undefined);
  if (values.token !== undefined) {
    token = values.token;
    warnings.push('--token on the command line is visible to other users of this machine; prefer --token-file PATH or CB_TOKEN');
  } else if (file !== undefined) {
    const flag = values['token-file'] !== undefined ? '--token-file' : 'CB_TOKEN_FILE';
    const path = resolvePath(file);
    let text: string;
    try {
      if (!e.readTextFile) throw new Error('not supported here');
      text = e.readTextFile(path);
    } catch (err) {
      throw new UsageError(`${flag} ${path}: cannot read it (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
    token = tokenFromFileText(text);
    if (token === '') throw new UsageError(`${flag} ${path}: the file holds no token`);
  } else {
    token = e.env.CB_TOKEN;
  }
  token = (token ?? '').trim();
  if (token === '') throw new UsageError('no token: pass --token-file PATH or set CB_TOKEN (npm run admin -- add-client NAME prints one)');
  return { token, warnings };
}

/** parseArgs' own messages are long and mention internals; the user needs the option's name. */
export function usageMessage(err: Error & { code?: string }): string {
  const option = /'(-[^' ]*)/.exec(err.message)?.[1];
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option) return `unknown option ${option}`;
  if (err.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && option) return `${option} needs a value`;
  return err.message;
}

/** Flags win over environment variables, which win over defaults. Bad input: UsageError. */
export function parseClientArgs(argv: readonly string[], e: ArgsEnv): ParsedArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(usageMessage(err as Error & { code?: string }));
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length === 0 ? 'missing <folder> to back up' : `expected one folder, got ${positionals.length}: ${positionals.join(' ')}`);
  }

  const raw = positionals[0] as string;
  const flavor = pathFlavor(raw, e.platform);
  const api = pathApi(flavor);
  // A relative folder is resolved against cwd only when both follow the same rules.
  const folder = api.isAbsolute(raw) ? api.resolve(raw) : api.resolve(e.cwd, raw);

  const serverFlag = values.server !== undefined ? '--server' : 'CB_SERVER';
  const server = parseServer(serverFlag, values.server ?? e.env.CB_SERVER ?? DEFAULTS.server);
  const { token, warnings } = readToken(values, e, (p) => api.resolve(e.cwd, p));

  const prefix = values.prefix !== undefined ? parsePrefix(values.prefix) : parsePrefix(defaultPrefix(folder, flavor));
  const statePath = values.state !== undefined ? api.resolve(e.cwd, values.state) : defaultStatePath(folder, flavor, server, e);
  const intervalMs = parseDurationMs('--interval', values.interval ?? DEFAULTS.interval);
  if (intervalMs < 1000) throw new UsageError('--interval: at least 1s');

  return {
    help: false,
    warnings,
    config: {
      folder,
      flavor,
      server,
      token,
      once: values.once ?? false,
      prefix,
      concurrency: values.concurrency !== undefined ? parseConcurrency(values.concurrency) : DEFAULTS.concurrency,
      limitRate: values['limit-rate'] !== undefined ? parseRate('--limit-rate', values['limit-rate']) : null,
      settleMs: parseDurationMs('--settle', values.settle ?? DEFAULTS.settle),
      intervalMs,
      statePath,
      keepDeleted: values['keep-deleted'] ?? false,
      adopt: values.adopt ?? false,
      exclude: values.exclude ?? [],
    },
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      server: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      once: { type: 'boolean' },
      prefix: { type: 'string' },
      concurrency: { type: 'string' },
      'limit-rate': { type: 'string' },
      settle: { type: 'string' },
      interval: { type: 'string' },
      state: { type: 'string' },
      'keep-deleted': { type: 'boolean' },
      adopt: { type: 'boolean' },
      exclude: { type: 'string', multiple: true },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
