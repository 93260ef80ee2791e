import { pickSpec, readSpec, SERVER_SPEC } from '../config-spec.js';
import type { RetentionPolicy } from '../../storage/history/retention.js';

/** What the Lambda functions read from their environment. */
export interface LambdaConfig {
  bucket: string;
  /** S3-compatible endpoint; undefined for AWS S3 itself. */
  endpoint: string | undefined;
  region: string;
  databaseUrl: string;
  maxUploadBytes: number;
  uploadExpiryMs: number;
  maxOpenUploads: number;
  /** 0 means twice maxUploadBytes, as on the node adapter. */
  maxUploadReserveBytes: number;
  hotTimeMs: number;
  /** Retention windows, as the node adapter's --keep-all/--keep-daily/--keep-weekly. */
  retention: RetentionPolicy;
  /** As the node adapter's --stale-after (CB_STALE_AFTER). */
  staleAfterMs: number;
}

/** The settings that mean something on Lambda: parsed by the node adapter's own spec. */
const LAMBDA_SPEC = pickSpec(SERVER_SPEC, [
  'storage',
  's3Bucket',
  's3Endpoint',
  's3Region',
  'databaseUrl',
  'maxUploadBytes',
  'uploadExpiryMs',
  'maxOpenUploads',
  'maxUploadReserveBytes',
  'hotTimeMs',
  'keepAllMs',
  'keepDailyMs',
  'keepWeeklyMs',
  'staleAfterMs',
] as const);

/**
 * Reads the configuration from the environment (the same variables, defaults and grammar as the
 * node adapter; Lambda sets AWS_REGION and the credentials itself). A Lambda has no lasting
 * disk, so S3 and PostgreSQL are required. Throws one Error naming every problem.
 */
export function lambdaConfig(env: Record<string, string | undefined>): LambdaConfig {
  const invalid: string[] = [];
  // An empty variable is an unset one here: a console form leaves empty values behind.
  const c = readSpec(LAMBDA_SPEC, (o) => ({ raw: env[o.env] || o.fallback, name: o.env }), invalid);
  const problems: string[] = [];
  if (!env.CB_S3_BUCKET) problems.push('CB_S3_BUCKET is not set');
  if (!env.CB_DATABASE_URL) problems.push('CB_DATABASE_URL is not set');
  if (env.CB_STORAGE && c.storage !== undefined && c.storage !== 's3') problems.push(`CB_STORAGE: only s3 works on Lambda, got "${c.storage}"`);
  problems.push(...invalid);
  if (problems.length > 0) throw new Error(`lambda configuration: ${problems.join('; ')}`);
  return {
    bucket: c.s3Bucket,
    endpoint: c.s3Endpoint || undefined,
    region: env.CB_S3_REGION || env.AWS_REGION || c.s3Region,
    databaseUrl: c.databaseUrl,
    maxUploadBytes: c.maxUploadBytes,
    uploadExpiryMs: c.uploadExpiryMs,
    maxOpenUploads: c.maxOpenUploads,
    maxUploadReserveBytes: c.maxUploadReserveBytes,
    hotTimeMs: c.hotTimeMs,
    retention: { keepAllMs: c.keepAllMs, keepDailyMs: c.keepDailyMs, keepWeeklyMs: c.keepWeeklyMs },
    staleAfterMs: c.staleAfterMs,
  };
}
