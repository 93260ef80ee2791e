import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import {
  AppError,
  InsufficientStorageError,
  isOutOfSpace,
  QuotaExceededError,
  RangeNotSatisfiableError,
  StorageUnavailableError,
  TooManyRequestsError,
  type ErrorKind,
} from '../../core/errors.js';

const STATUS: Record<ErrorKind, ContentfulStatusCode> = {
  'bad-request': 400,
  unauthorized: 401,
  forbidden: 403,
  'not-found': 404,
  gone: 410,
  conflict: 409,
  'precondition-failed': 412,
  'too-large': 413,
  'unsupported-media-type': 415,
  'range-not-satisfiable': 416,
  'too-many-requests': 429,
  'insufficient-storage': 507,
  // tus checksum extension: "460 Checksum Mismatch" (not a registered HTTP status).
  'checksum-mismatch': 460 as ContentfulStatusCode,
  'corrupt-data': 500,
  'storage-unavailable': 503,
};

/** The HTTP status of a typed failure (per-file results of a batch use it too). */
export function statusOf(err: AppError): ContentfulStatusCode {
  return STATUS[err.kind];
}

export const AUTH_CHALLENGE = 'Basic realm="cloud-backup"';

/** The one place where failures become HTTP responses: JSON `{error}` with the right status. */
export function errorResponse(c: Context, err: unknown, log: (line: string) => void): Response {
  // A full disk may surface raw from any layer (a catalog write, a rename): always 507, never 500.
  if (isOutOfSpace(err)) err = new InsufficientStorageError();
  if (err instanceof AppError) {
    const status = STATUS[err.kind];
    if (err.kind === 'unauthorized') c.header('WWW-Authenticate', AUTH_CHALLENGE);
    if (err instanceof RangeNotSatisfiableError) c.header('Content-Range', `bytes */${err.size}`);
    if (err instanceof TooManyRequestsError) c.header('Retry-After', String(err.retryAfterSeconds));
    if (err instanceof StorageUnavailableError) log(`error: ${c.req.method} ${new URL(c.req.url).pathname}: ${err.detail}`);
    c.header('Cache-Control', 'no-store');
    // A quota's numbers travel as data too, so a client can tell it from a full disk and show them.
    if (err instanceof QuotaExceededError) {
      const { namespace, usedBytes, quotaBytes, neededBytes, reservedBytes } = err;
      return c.json({ error: err.message, quota: { namespace, usedBytes, quotaBytes, neededBytes, reservedBytes } }, status);
    }
    return c.json({ error: err.message }, status);
  }
  if (isClientAbort(err)) {
    // The client went away mid-request: nothing to answer, nothing was stored.
    return c.json({ error: 'request aborted' }, 400);
  }
  log(`error: ${c.req.method} ${new URL(c.req.url).pathname}: ${(err as Error)?.stack ?? String(err)}`);
  return c.json({ error: 'internal error' }, 500);
}

function isClientAbort(err: unknown): boolean {
  const e = err as { code?: string; name?: string } | null;
  return e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE' || e?.name === 'AbortError';
}
