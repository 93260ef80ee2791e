import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { parseDuration, parseSize } from '../shared/units.js';
import type { AppConfig } from '../core/deps.js';
import { LOG_FORMATS, type LogFormat } from './node/log-lines.js';

/**
 * The server's settings, one typed spec shared by the adapters: the node adapter reads every
 * option from flags and CB_* variables, the Lambda adapter the ones that apply there from its
 * environment, with the same names, defaults and grammar (shared/units.ts).
 */
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
  /** Retention windows (storage/history/retention.ts); 0 turns one off. */
  keepAllMs: number;
  keepDailyMs: number;
  keepWeeklyMs: number;
  /** Backup health warns about clients without a successful backup for this long; 0: never. */
  staleAfterMs: number;
}


/** A configuration error: main prints it as one line and exits with code 2. */
export class ConfigError extends Error {}

/** One setting: its flag, its variable, its default (in the flag's own grammar) and its parser. */
export interface Option<T> {
  flag: string;
  env: string;
  fallback: string;
  parse: (v: string, name: string) => T;
  help: string;
}

/** A parser for every key of C, each returning that key's type: a missing or mistyped one does not compile. */
export type Spec<C> = { readonly [K in keyof C]-?: Option<C[K]> };

/** Where a value came from: the text and the name to blame in an error (`--port`, `CB_PORT`). */
export type Source = (o: Option<unknown>) => { raw: string; name: string };

/**
 * Parses every option of `spec` from `source`. Without `problems` the first bad value throws its
 * ConfigError; with it every problem is collected there (and that key is left out).
 */
export function readSpec<C>(spec: Spec<C>, source: Source, problems?: string[]): C {
  const out: Partial<C> = {};
  for (const key of Object.keys(spec) as (keyof C)[]) {
    const o = spec[key];
    const { raw, name } = source(o);
    try {
      out[key] = o.parse(raw, name);
    } catch (err) {
      if (!problems || !(err instanceof ConfigError)) throw err;
      problems.push(err.message);
    }
  }
  return out as C;
}

/** The part of a spec one adapter reads. */
export function pickSpec<C, K extends keyof C>(spec: Spec<C>, keys: readonly K[]): Spec<Pick<C, K>> {
  const out: Partial<Record<K, Option<C[K]>>> = {};
  for (const k of keys) out[k] = spec[k];
  return out as Spec<Pick<C, K>>;
}

/** The upload limits the handlers enforce, from either adapter's settings. */
export function uploadLimits(c: Pick<ServerConfig, 'maxUploadBytes' | 'uploadExpiryMs' | 'maxOpenUploads' | 'maxUploadReserveBytes'>): Omit<AppConfig, 'metricsToken' | 'staleAfterMs' | 'hotTimeMs'> {
  return {
    maxUploadBytes: c.maxUploadBytes,
    uploadExpiryMs: c.uploadExpiryMs,
    maxOpenUploads: c.maxOpenUploads,
    maxReservedUploadBytes: c.maxUploadReserveBytes || 2 * c.maxUploadBytes,
  };
}

function isLogFormat(v: string): v is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(v);
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

export const SERVER_SPEC: Spec<ServerConfig> = {
  port: { flag: 'port', env: 'CB_PORT', fallback: '9090', parse: integer(0, 65535), help: 'TCP port' },
  host: { flag: 'host', env: 'CB_HOST', fallback: '0.0.0.0', parse: listenHost, help: 'address to listen on' },
  dataDir: { flag: 'data', env: 'CB_DATA_DIR', fallback: './data', parse: (v) => resolve(v), help: 'data directory' },
  hotTimeMs: { flag: 'hot-time', env: 'CB_HOT_TIME', fallback: '7d', parse: wrap(parseDuration), help: 'unread this long -> compressed' },
  sweepIntervalMs: { flag: 'sweep-interval', env: 'CB_SWEEP_INTERVAL', fallback: '60s', parse: wrap(parseDuration), help: 'how often the sweeper runs' },
  keepAllMs: { flag: 'keep-all', env: 'CB_KEEP_ALL', fallback: '1d', parse: wrap(parseDuration), help: 'every version younger than this is kept' },
  keepDailyMs: { flag: 'keep-daily', env: 'CB_KEEP_DAILY', fallback: '30d', parse: wrap(parseDuration), help: 'then the newest of each day up to this age' },
  keepWeeklyMs: { flag: 'keep-weekly', env: 'CB_KEEP_WEEKLY', fallback: '26w', parse: wrap(parseDuration), help: 'then the newest of each week up to this age' },
  staleAfterMs: { flag: 'stale-after', env: 'CB_STALE_AFTER', fallback: '2d', parse: wrap(parseDuration), help: 'warn about clients without a backup this long (0: never)' },
  sweepConcurrency: { flag: 'sweep-concurrency', env: 'CB_SWEEP_CONCURRENCY', fallback: 'auto', parse: (v, n) => (v === 'auto' ? 0 : integer(1, 64)(v, n)), help: 'compression jobs at once' },
  storage: {
    flag: 'storage',
    env: 'CB_STORAGE',
    fallback: 'disk',
    parse: (v, n) => {
      if (v !== 'disk' && v !== 's3') throw new ConfigError(`${n}: expected disk or s3, got "${v}"`);
      return v;
    },
    help: 'disk or s3',
  },
  s3Endpoint: { flag: 's3-endpoint', env: 'CB_S3_ENDPOINT', fallback: '', parse: (v) => v, help: 'S3-compatible endpoint URL (empty: AWS)' },
  s3Bucket: { flag: 's3-bucket', env: 'CB_S3_BUCKET', fallback: '', parse: (v) => v, help: 'bucket for blobs (storage s3)' },
  s3Region: { flag: 's3-region', env: 'CB_S3_REGION', fallback: 'us-east-1', parse: (v) => v, help: 'S3 region' },
  databaseUrl: {
    flag: 'database-url',
    env: 'CB_DATABASE_URL',
    fallback: '',
    parse: (v, n) => {
      if (v !== '' && !/^postgres(ql)?:\/\//.test(v)) throw new ConfigError(`${n}: expected a postgres:// URL`);
      return v;
    },
    help: 'PostgreSQL catalog (empty: SQLite in the data dir)',
  },
  maxUploadBytes: { flag: 'max-upload', env: 'CB_MAX_UPLOAD', fallback: '1T', parse: wrap(parseSize), help: 'largest accepted file' },
  uploadExpiryMs: { flag: 'upload-expiry', env: 'CB_UPLOAD_EXPIRY', fallback: '24h', parse: wrap(parseDuration), help: 'incomplete resumable uploads expire after' },
  durable: { flag: 'durable', env: 'CB_DURABLE', fallback: 'true', parse: boolean, help: 'fsync before acknowledging writes' },
  metricsToken: {
    flag: 'metrics-token',
    env: 'CB_METRICS_TOKEN',
    fallback: '',
    parse: (v, n) => {
      // A scraper's secret: short or spaced values are typos or placeholders, not secrets.
      if (v !== '' && !/^[\x21-\x7e]{16,}$/.test(v)) throw new ConfigError(`${n}: expected at least 16 printable characters without spaces`);
      return v;
    },
    help: 'bearer token for GET /metrics (empty: admin clients only)',
  },
  maxOpenUploads: { flag: 'max-open-uploads', env: 'CB_MAX_OPEN_UPLOADS', fallback: '100', parse: integer(1, 1_000_000), help: 'unfinished uploads per client' },
  maxUploadReserveBytes: {
    flag: 'max-upload-reserve',
    env: 'CB_MAX_UPLOAD_RESERVE',
    fallback: 'auto',
    parse: (v, n) => (v === 'auto' ? 0 : wrap(parseSize)(v, n)),
    help: 'bytes of unfinished uploads per client (auto: 2x max-upload)',
  },
  diskReserveBytes: { flag: 'disk-reserve', env: 'CB_DISK_RESERVE', fallback: '16M', parse: wrap(parseSize), help: 'space kept free for deletes on a full disk (0: none)' },
  maxConnectionsPerAddress: { flag: 'max-connections-per-address', env: 'CB_MAX_CONNECTIONS_PER_ADDRESS', fallback: '256', parse: integer(1, 1_000_000), help: 'open connections from one address' },
  logFormat: {
    flag: 'log-format',
    env: 'CB_LOG_FORMAT',
    fallback: 'text',
    parse: (v, n) => {
      if (!isLogFormat(v)) throw new ConfigError(`${n}: expected text or json, got "${v}"`);
      return v;
    },
    help: 'text or json (one object per line)',
  },
  accessLog: { flag: 'access-log', env: 'CB_ACCESS_LOG', fallback: 'true', parse: boolean, help: 'one log line per request' },
};
