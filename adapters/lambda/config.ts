import { parseDuration, parseSize } from '../../shared/units.js';
import type { RetentionPolicy } from '../../storage/retention.js';

/** What the Lambda functions read from their environment. */
export interface LambdaConfig {
  bucket: string;
  /** S3-compatible endpoint; undefined for AWS S3 itself. */
  endpoint: string | undefined;
  region: string;
  databaseUrl: string;
  maxUploadBytes: number;
  uploadExpiryMs: number;
  hotTimeMs: number;
  /** Retention windows, as the node adapter's --keep-all/--keep-daily/--keep-weekly. */
  retention: RetentionPolicy;
  /** As the node adapter's --stale-after (CB_STALE_AFTER). */
  staleAfterMs: number;
}

/**
 * Reads the configuration from the environment (the same variables as the node adapter; Lambda
 * sets AWS_REGION and the credentials itself). A Lambda has no lasting disk, so S3 and
 * PostgreSQL are required. Throws one Error naming every problem.
 */
export function lambdaConfig(env: Record<string, string | undefined>): LambdaConfig {
  const problems: string[] = [];
  const need = (name: string): string => {
    const v = env[name];
    if (!v) problems.push(`${name} is not set`);
    return v ?? '';
  };
  const parsed = <T>(name: string, fallback: string, parse: (v: string) => T): T | undefined => {
    try {
      return parse(env[name] || fallback);
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const bucket = need('CB_S3_BUCKET');
  const databaseUrl = need('CB_DATABASE_URL');
  if (databaseUrl && !/^postgres(ql)?:\/\//.test(databaseUrl)) problems.push('CB_DATABASE_URL: expected a postgres:// URL');
  if (env.CB_STORAGE && env.CB_STORAGE !== 's3') problems.push(`CB_STORAGE: only s3 works on Lambda, got "${env.CB_STORAGE}"`);
  const maxUploadBytes = parsed('CB_MAX_UPLOAD', '1T', parseSize);
  const uploadExpiryMs = parsed('CB_UPLOAD_EXPIRY', '24h', parseDuration);
  const hotTimeMs = parsed('CB_HOT_TIME', '7d', parseDuration);
  const keepAllMs = parsed('CB_KEEP_ALL', '1d', parseDuration);
  const keepDailyMs = parsed('CB_KEEP_DAILY', '30d', parseDuration);
  const keepWeeklyMs = parsed('CB_KEEP_WEEKLY', '26w', parseDuration);
  const staleAfterMs = parsed('CB_STALE_AFTER', '2d', parseDuration);
  if (problems.length > 0) throw new Error(`lambda configuration: ${problems.join('; ')}`);
  return {
    bucket,
    endpoint: env.CB_S3_ENDPOINT || undefined,
    region: env.CB_S3_REGION || env.AWS_REGION || 'us-east-1',
    databaseUrl,
    maxUploadBytes: maxUploadBytes as number,
    uploadExpiryMs: uploadExpiryMs as number,
    hotTimeMs: hotTimeMs as number,
    retention: { keepAllMs: keepAllMs as number, keepDailyMs: keepDailyMs as number, keepWeeklyMs: keepWeeklyMs as number },
    staleAfterMs: staleAfterMs as number,
  };
}
