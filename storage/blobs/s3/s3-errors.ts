import { InsufficientStorageError, NotFoundError, StorageUnavailableError, TooLargeError, TooManyRequestsError } from '../../../core/errors.js';

/** What an S3 failure means for us, whatever the server (AWS, MinIO, Ceph RGW, s3rver) called it. */
export type S3Failure = 'not-found' | 'too-large' | 'full' | 'throttled' | 'unavailable' | 'misconfigured' | 'other';

interface S3ErrorLike {
  name?: string;
  code?: string;
  Code?: string;
  $metadata?: { httpStatusCode?: number };
}

const BY_NAME: Record<string, S3Failure> = {
  NoSuchKey: 'not-found',
  NotFound: 'not-found',
  NoSuchUpload: 'not-found',
  EntityTooLarge: 'too-large',
  // MinIO and Ceph RGW report a full disk or an exhausted quota with these.
  XMinioStorageFull: 'full',
  StorageFull: 'full',
  QuotaExceeded: 'full',
  SlowDown: 'throttled',
  TooManyRequests: 'throttled',
  RequestLimitExceeded: 'throttled',
  Throttling: 'throttled',
  ServiceUnavailable: 'unavailable',
  InternalError: 'unavailable',
  RequestTimeout: 'unavailable',
  TimeoutError: 'unavailable',
  NoSuchBucket: 'misconfigured',
  AccessDenied: 'misconfigured',
  InvalidAccessKeyId: 'misconfigured',
  SignatureDoesNotMatch: 'misconfigured',
  AllAccessDisabled: 'misconfigured',
  PermanentRedirect: 'misconfigured',
  CredentialsProviderError: 'misconfigured',
};

const NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** Classifies an error thrown by the S3 client (pure: looks only at name, code and status). */
export function classifyS3Error(err: unknown): S3Failure {
  if (err === null || typeof err !== 'object') return 'other';
  const e = err as S3ErrorLike;
  const name = e.Code ?? e.name ?? '';
  const known = BY_NAME[name];
  if (known) return known;
  if (e.code && NETWORK_CODES.has(e.code)) return 'unavailable';
  const status = e.$metadata?.httpStatusCode;
  if (status === 404) return 'not-found';
  if (status === 429) return 'throttled';
  if (status === 401 || status === 403) return 'misconfigured';
  if (status !== undefined && status >= 500) return 'unavailable';
  return 'other';
}

/**
 * Turns an S3 client error into our typed errors: an outage or refused credentials become a 503
 * whose log line carries the storage's own code; anything unrecognised stays an Error (a 500).
 */
export function fromS3Error(err: unknown, what: string): Error {
  const kind = classifyS3Error(err);
  const detail = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  switch (kind) {
    case 'not-found':
      return new NotFoundError(`${what}: not found in object storage`);
    case 'too-large':
      return new TooLargeError(`${what}: object storage refused the size`);
    case 'full':
      return new InsufficientStorageError('insufficient storage: the object store is full or over quota');
    case 'throttled':
      return new TooManyRequestsError('object storage is throttling requests; retry shortly', 5);
    case 'unavailable':
      return new StorageUnavailableError(`${what}: object storage unavailable (${detail})`);
    case 'misconfigured':
      return new StorageUnavailableError(`${what}: object storage refused the request; check bucket, endpoint and credentials (${detail})`);
    default:
      return err instanceof Error ? err : new Error(detail);
  }
}
