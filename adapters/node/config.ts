import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration, parseSize } from '../../shared/units.js';
import { LOG_FORMATS, type LogFormat } from './log-lines.js';

export interface ServerConfig {
  host: string;
  port: number;
  dataDir: string;
  hotTimeMs: number;
  sweepIntervalMs: number;
  /** Compression jobs at once; default CPU count - 1, at least 1. */
  sweepConcurrency: number;
  storage: 'disk' | 's3';
  /** S3-compatible endpoint (MinIO, Ceph RGW...); '' means AWS S3. */
  s3Endpoint: string;
  s3Bucket: string;
  s3Region: string;
  /** postgres://... for a catalog shared by several instances; '' means SQLite in the data dir. */
  databaseUrl: string;
  maxUploadBytes: number;
  /** Incomplete resumable uploads are dropped after this long. */
  uploadExpiryMs: number;
  /** fsync blobs and folders before acknowledging a write. */
  durable: boolean;
  /** Unfinished resumable uploads per client. */
  maxOpenUploads: number;
  /** Sum of Upload-Length of one client's unfinished uploads; 0 means twice maxUploadBytes. */
  maxUploadReserveBytes: number;
  /** Open connections from one remote address. */
  maxConnectionsPerAddress: number;
  /** Bytes held back on the data disk so that deletes and fsck --repair work when it is full; 0: none. */
  diskReserveBytes: number;
  /** A bearer token for `GET /metrics` besides admin clients; '' means admins only. */
  metricsToken: string;
  logFormat: LogFormat;
  /** One line per request. */
  accessLog: boolean;
  /** Retention windows (storage/retention.ts); 0 turns one off. */
  keepAllMs: number;
  keepDailyMs: number;
  keepWeeklyMs: number;
  /** Backup health warns about clients without a successful backup for this long; 0: never. */
  staleAfterMs: number;
}

/** A configuration error: main prints it as one line and exits with code 2. */
export class ConfigError extends Error {}

interface Option {
  flag: string;
  env: string;
  fallback: string;
  parse: (v: string, name: string) => unknown;
  key: keyof ServerConfig;
  help: string;
}

function integer(min: number, max: number) {
  return (v: string, name: string) => {
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw new ConfigError(`${name}: expected an integer from ${min} to ${max}, got "${v}"`);
    return Number(v);
  };
}

/** RFC 1123 host names: dot-separated labels of letters, digits and inner hyphens. */
const HOST_NAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function listenHost(v: string, name: string): string {
  if (isIP(v) || HOST_NAME.test(v)) return v;
  throw new ConfigError(`${name}: expected an IP address or a host name, got "${v}"`);
}

function boolean(v: string, name: string): boolean {
  if (!['true', 'false', '1', '0'].includes(v)) throw new ConfigError(`${name}: expected true or false`);
  return v === 'true' || v === '1';
}

function wrap<T>(fn: (v: string) => T) {
  return (v: string, name: string): T => {
    try {
      return fn(v);
    } catch (err) {
      throw new ConfigError(`${name}: ${(err as Error).message}`);
    }
  };
}

export const OPTIONS: readonly Option[] = [
  { flag: 'port', env: 'CB_PORT', fallback: '9090', parse: integer(0, 65535), key: 'port', help: 'TCP port' },
  { flag: 'host', env: 'CB_HOST', fallback: '0.0.0.0', parse: listenHost, key: 'host', help: 'address to listen on' },
  { flag: 'data', env: 'CB_DATA_DIR', fallback: './data', parse: (v) => resolve(v), key: 'dataDir', help: 'data directory' },
  { flag: 'hot-time', env: 'CB_HOT_TIME', fallback: '7d', parse: wrap(parseDuration), key: 'hotTimeMs', help: 'unread this long -> compressed' },
  { flag: 'sweep-interval', env: 'CB_SWEEP_INTERVAL', fallback: '60s', parse: wrap(parseDuration), key: 'sweepIntervalMs', help: 'how often the sweeper runs' },
  { flag: 'keep-all', env: 'CB_KEEP_ALL', fallback: '1d', parse: wrap(parseDuration), key: 'keepAllMs', help: 'every version younger than this is kept' },
  { flag: 'keep-daily', env: 'CB_KEEP_DAILY', fallback: '30d', parse: wrap(parseDuration), key: 'keepDailyMs', help: 'then the newest of each day up to this age' },
  { flag: 'keep-weekly', env: 'CB_KEEP_WEEKLY', fallback: '26w', parse: wrap(parseDuration), key: 'keepWeeklyMs', help: 'then the newest of each week up to this age' },
  { flag: 'stale-after', env: 'CB_STALE_AFTER', fallback: '2d', parse: wrap(parseDuration), key: 'staleAfterMs', help: 'warn about clients without a backup this long (0: never)' },
  { flag: 'sweep-concurrency', env: 'CB_SWEEP_CONCURRENCY', fallback: 'auto', parse: (v, n) => (v === 'auto' ? 0 : integer(1, 64)(v, n)), key: 'sweepConcurrency', help: 'compression jobs at once' },
  {
    flag: 'storage',
    env: 'CB_STORAGE',
    fallback: 'disk',
    parse: (v, n) => {
      if (v !== 'disk' && v !== 's3') throw new ConfigError(`${n}: expected disk or s3, got "${v}"`);
      return v;
    },
    key: 'storage',
    help: 'disk or s3',
  },
  { flag: 's3-endpoint', env: 'CB_S3_ENDPOINT', fallback: '', parse: (v) => v, key: 's3Endpoint', help: 'S3-compatible endpoint URL (empty: AWS)' },
  { flag: 's3-bucket', env: 'CB_S3_BUCKET', fallback: '', parse: (v) => v, key: 's3Bucket', help: 'bucket for blobs (storage s3)' },
  { flag: 's3-region', env: 'CB_S3_REGION', fallback: 'us-east-1', parse: (v) => v, key: 's3Region', help: 'S3 region' },
  {
    flag: 'database-url',
    env: 'CB_DATABASE_URL',
    fallback: '',
    parse: (v, n) => {
      if (v !== '' && !/^postgres(ql)?:\/\//.test(v)) throw new ConfigError(`${n}: expected a postgres:// URL`);
      return v;
    },
    key: 'databaseUrl',
    help: 'PostgreSQL catalog (empty: SQLite in the data dir)',
  },
  { flag: 'max-upload', env: 'CB_MAX_UPLOAD', fallback: '1T', parse: wrap(parseSize), key: 'maxUploadBytes', help: 'largest accepted file' },
  { flag: 'upload-expiry', env: 'CB_UPLOAD_EXPIRY', fallback: '24h', parse: wrap(parseDuration), key: 'uploadExpiryMs', help: 'incomplete resumable uploads expire after' },
  { flag: 'durable', env: 'CB_DURABLE', fallback: 'true', parse: boolean, key: 'durable', help: 'fsync before acknowledging writes' },
  {
    flag: 'metrics-token',
    env: 'CB_METRICS_TOKEN',
    fallback: '',
    parse: (v, n) => {
      // A scraper's secret: short or spaced values are typos or placeholders, not secrets.
      if (v !== '' && !/^[\x21-\x7e]{16,}$/.test(v)) throw new ConfigError(`${n}: expected at least 16 printable characters without spaces`);
      return v;
    },
    key: 'metricsToken',
    help: 'bearer token for GET /metrics (empty: admin clients only)',
  },
  { flag: 'max-open-uploads', env: 'CB_MAX_OPEN_UPLOADS', fallback: '100', parse: integer(1, 1_000_000), key: 'maxOpenUploads', help: 'unfinished uploads per client' },
  {
    flag: 'max-upload-reserve',
    env: 'CB_MAX_UPLOAD_RESERVE',
    fallback: 'auto',
    parse: (v, n) => (v === 'auto' ? 0 : wrap(parseSize)(v, n)),
    key: 'maxUploadReserveBytes',
    help: 'bytes of unfinished uploads per client (auto: 2x max-upload)',
  },
  { flag: 'disk-reserve', env: 'CB_DISK_RESERVE', fallback: '16M', parse: wrap(parseSize), key: 'diskReserveBytes', help: 'space kept free for deletes on a full disk (0: none)' },
  { flag: 'max-connections-per-address', env: 'CB_MAX_CONNECTIONS_PER_ADDRESS', fallback: '256', parse: integer(1, 1_000_000), key: 'maxConnectionsPerAddress', help: 'open connections from one address' },
  {
    flag: 'log-format',
    env: 'CB_LOG_FORMAT',
    fallback: 'text',
    parse: (v, n) => {
      if (!(LOG_FORMATS as readonly string[]).includes(v)) throw new ConfigError(`${n}: expected text or json, got "${v}"`);
      return v;
    },
    key: 'logFormat',
    help: 'text or json (one object per line)',
  },
  { flag: 'access-log', env: 'CB_ACCESS_LOG', fallback: 'true', parse: boolean, key: 'accessLog', help: 'one log line per request' },
];

/** Flags win over environment variables, which win over defaults. */
export function loadConfig(argv: string[], env: NodeJS.ProcessEnv): ServerConfig {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(OPTIONS.map((o) => [o.flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new ConfigError((err as Error).message);
  }
  const out: Record<string, unknown> = {};
  for (const o of OPTIONS) {
    const fromFlag = values[o.flag];
    const raw = typeof fromFlag === 'string' ? fromFlag : (env[o.env] ?? o.fallback);
    const name = typeof fromFlag === 'string' ? `--${o.flag}` : env[o.env] !== undefined ? o.env : `--${o.flag}`;
    out[o.key] = o.parse(raw, name);
  }
  return out as unknown as ServerConfig;
}

export function usage(): string {
  const rows = OPTIONS.map((o) => `  --${o.flag.padEnd(18)} ${o.env.padEnd(22)} ${o.help} (default ${o.fallback})`);
  return ['usage: npm run serve:node -- [options]', ...rows].join('\n');
}
