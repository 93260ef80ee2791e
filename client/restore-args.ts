import { parseArgs } from 'node:util';
import { DEFAULTS, parseConcurrency, parseRate, parseServer, readToken, usageMessage, type ArgsEnv } from './args.js';
import { pathApi, pathFlavor } from './remote-path.js';
import { UsageError } from './errors.js';

export interface RestoreConfig {
  /** The remote folder as segments: the namespace first (`['alice', 'Documents']`). */
  remote: string[];
  /** Absolute path of the local folder to write into (created when missing). */
  folder: string;
  server: string;
  token: string;
  /** The moment to restore, ms since the epoch; null = the current tree. */
  at: number | null;
  concurrency: number;
  /** Bytes per second over all downloads together; null = unlimited. */
  limitRate: number | null;
  /** Replace local files that differ from the backup (else they are left alone and reported). */
  overwrite: boolean;
  /** Escape names Windows cannot hold (always on Windows; on request elsewhere, e.g. onto an NTFS disk). */
  windowsNames: boolean;
}

export const RESTORE_USAGE = `usage: npm run restore -- <namespace/folder> <local folder> [options]

Writes the remote folder into <local folder> with each file's content and modification time,
verified by SHA-256. Run again, it skips what is already right and finishes what was cut off.

  --at TIME            the folder as it was at TIME: ms since the epoch or ISO 8601
                       (2026-12-01T14:30:00Z; without a zone, as 2026-12-01T14:30 or
                       2026-12-01, this machine's local time); default: now
  --server URL         server address (env CB_SERVER; default ${DEFAULTS.server})
  --token-file PATH    a file holding this client's token (env CB_TOKEN_FILE)
  --token TOKEN        the token itself (env CB_TOKEN); prefer the file or the variable:
                       a flag is visible to every user of the machine in the process list
  --concurrency N      files downloaded at once (default ${DEFAULTS.concurrency})
  --limit-rate RATE    total download bandwidth, e.g. 500K or 2M bytes/s (default unlimited)
  --overwrite          replace local files that differ from the backup (default: leave them, exit 1)
  --windows-names      escape names Windows cannot hold, as on Windows (default: on Windows only)
  -h, --help           this text

Exit codes: 0 everything restored, 1 something was not, 2 bad usage.`;

/** Before this, a number given as --at is surely seconds, not milliseconds (1973-03-03). */
const MIN_PLAUSIBLE_MS = 100_000_000_000;
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:?\d{2})?)?$/iu;

/**
 * `--at`: ms since the epoch, or ISO 8601. Without a zone (`2026-11-30T10:00`, and a bare date
 * too, which Date.parse alone would read as UTC) it is this machine's local time, as a user
 * means it; the restore's first line prints the instant in UTC. The HTTP API reads zoneless as UTC.
 */
export function parseTime(flag: string, value: string): number {
  const v = value.trim();
  if (/^\d+$/u.test(v)) {
    const ms = Number(v);
    if (!Number.isSafeInteger(ms)) throw new UsageError(`${flag}: ${v} is too large for a time`);
    if (ms < MIN_PLAUSIBLE_MS) throw new UsageError(`${flag}: ${v} looks like seconds; give milliseconds since the epoch (${v}000) or an ISO 8601 time`);
    return ms;
  }
  if (ISO_8601.test(v)) {
    const ms = Date.parse(/^\d{4}-\d{2}-\d{2}$/u.test(v) ? `${v}T00:00` : v.replace(' ', 'T'));
    if (Number.isFinite(ms)) return ms;
  }
  throw new UsageError(`${flag}: expected ms since the epoch or an ISO 8601 time like 2026-12-01T14:30:00Z, got "${value}"`);
}

/** `alice/Documents`, `alice/Documents/`, `alice` (a whole namespace); `\\` separates too. */
export function parseRemoteFolder(value: string): string[] {
  const segments = value.replace(/^[\\/]/u, '').replace(/[\\/]$/u, '').split(/[\\/]/u);
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') {
      throw new UsageError(`"${value}": expected namespace/folder, without empty, "." or ".." levels`);
    }
  }
  return segments;
}

export type ParsedRestoreArgs = { help: true } | { help: false; config: RestoreConfig; warnings: string[] };

/** Flags win over environment variables, which win over defaults. Bad input: UsageError. */
export function parseRestoreArgs(argv: readonly string[], e: ArgsEnv): ParsedRestoreArgs {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (err) {
    throw new UsageError(usageMessage(err as Error & { code?: string }));
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  if (positionals.length !== 2) {
    throw new UsageError(`expected <namespace/folder> <local folder>, got ${positionals.length} argument${positionals.length === 1 ? '' : 's'}`);
  }
  const remote = parseRemoteFolder(positionals[0] as string);
  const raw = positionals[1] as string;
  const api = pathApi(pathFlavor(raw, e.platform));
  const folder = api.isAbsolute(raw) ? api.resolve(raw) : api.resolve(e.cwd, raw);
  const server = parseServer(values.server !== undefined ? '--server' : 'CB_SERVER', values.server ?? e.env.CB_SERVER ?? DEFAULTS.server);
  const { token, warnings } = readToken(values, e, (p) => api.resolve(e.cwd, p));

  return {
    help: false,
    warnings,
    config: {
      remote,
      folder,
      server,
      token,
      at: values.at !== undefined ? parseTime('--at', values.at) : null,
      concurrency: values.concurrency !== undefined ? parseConcurrency(values.concurrency) : DEFAULTS.concurrency,
      limitRate: values['limit-rate'] !== undefined ? parseRate('--limit-rate', values['limit-rate']) : null,
      overwrite: values.overwrite ?? false,
      windowsNames: e.platform === 'win32' || (values['windows-names'] ?? false),
    },
  };
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      at: { type: 'string' },
      server: { type: 'string' },
      token: { type: 'string' },
      'token-file': { type: 'string' },
      concurrency: { type: 'string' },
      'limit-rate': { type: 'string' },
      overwrite: { type: 'boolean' },
      'windows-names': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
