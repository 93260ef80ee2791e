import { humanSize } from '../shared/units.js';

/**
 * One typed error per kind of failure. handlers/http/error-response.ts maps each to its HTTP status
 * in one place; storage code throws these and never thinks about HTTP.
 */
export class AppError extends Error {
  constructor(
    message: string,
    readonly kind: ErrorKind,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/**
 * True when a failure means storage is out of space, whichever layer raised it: the file system
 * (ENOSPC, EDQUOT), SQLite (SQLITE_FULL, e.g. the catalog on the same full disk) or PostgreSQL
 * (53100 disk_full). handlers/http/error-response.ts answers all of them with 507.
 */
export function isOutOfSpace(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOSPC' || code === 'EDQUOT' || code === 'SQLITE_FULL' || code === '53100';
}

export type ErrorKind =
  | 'bad-request'
  | 'unauthorized'
  | 'forbidden'
  | 'not-found'
  | 'gone'
  | 'conflict'
  | 'precondition-failed'
  | 'too-large'
  | 'unsupported-media-type'
  | 'range-not-satisfiable'
  | 'too-many-requests'
  | 'insufficient-storage'
  | 'checksum-mismatch'
  | 'corrupt-data'
  | 'storage-unavailable';

export class BadRequestError extends AppError {
  constructor(message: string) {
    super(message, 'bad-request');
  }
}
/** The body did not match the digest the client announced. Nothing was stored. */
export class DigestMismatchError extends AppError {
  constructor(message = 'content digest mismatch: nothing was stored') {
    super(message, 'bad-request');
  }
}
/** A resumable-upload chunk did not match its Upload-Checksum (tus: 460). The chunk was dropped. */
export class ChecksumMismatchError extends AppError {
  constructor(message = 'checksum mismatch: the chunk was discarded') {
    super(message, 'checksum-mismatch');
  }
}
export class UnauthorizedError extends AppError {
  constructor(message = 'authentication required') {
    super(message, 'unauthorized');
  }
}
export class ForbiddenError extends AppError {
  constructor(message = 'forbidden') {
    super(message, 'forbidden');
  }
}
export class NotFoundError extends AppError {
  constructor(message = 'not found') {
    super(message, 'not-found');
  }
}
export class GoneError extends AppError {
  constructor(message = 'gone') {
    super(message, 'gone');
  }
}
export class ConflictError extends AppError {
  constructor(message: string) {
    super(message, 'conflict');
  }
}
export class PreconditionFailedError extends AppError {
  constructor(message = 'precondition failed') {
    super(message, 'precondition-failed');
  }
}
export class TooLargeError extends AppError {
  constructor(message: string) {
    super(message, 'too-large');
  }
}
export class UnsupportedMediaTypeError extends AppError {
  constructor(message: string) {
    super(message, 'unsupported-media-type');
  }
}
export class RangeNotSatisfiableError extends AppError {
  constructor(
    readonly size: number,
    message = 'range not satisfiable',
  ) {
    super(message, 'range-not-satisfiable');
  }
}
export class TooManyRequestsError extends AppError {
  constructor(
    message = 'too many requests',
    readonly retryAfterSeconds = 60,
  ) {
    super(message, 'too-many-requests');
  }
}
/** The disk (or quota) is full. Whatever was being written has been removed. */
export class InsufficientStorageError extends AppError {
  constructor(message = 'insufficient storage: the server is out of space') {
    super(message, 'insufficient-storage');
  }
}
/**
 * A write would take a namespace past its quota (current files and history together). Nothing
 * was stored. 507 like a full disk, with the numbers in the answer.
 */
export class QuotaExceededError extends AppError {
  constructor(
    readonly namespace: string,
    readonly usedBytes: number,
    readonly quotaBytes: number,
    readonly neededBytes: number,
    /** Bytes promised to this namespace's unfinished resumable uploads (counted at their creation). */
    readonly reservedBytes = 0,
  ) {
    const reserved = reservedBytes > 0 ? `, unfinished uploads reserve ${humanSize(reservedBytes)} (${reservedBytes} bytes)` : '';
    super(
      `quota exceeded: ${namespace} uses ${humanSize(usedBytes)} (${usedBytes} bytes, current files and history) of its ${humanSize(quotaBytes)} ` +
        `(${quotaBytes} bytes) quota${reserved}, and this upload needs ${humanSize(neededBytes)} (${neededBytes} bytes) more: nothing was stored`,
      'insufficient-storage',
    );
  }
}
/**
 * The object store (S3) cannot be reached or refuses us (outage, expired credentials). Nothing
 * was changed; the request may be retried. `detail` is for the operator's log, not the client.
 */
export class StorageUnavailableError extends AppError {
  constructor(
    readonly detail: string,
    message = 'storage temporarily unavailable; retry later',
  ) {
    super(message, 'storage-unavailable');
  }
}
/** Stored bytes do not hash to the blob's SHA-256 (bit rot, a torn write): not served as good. */
export class CorruptBlobError extends AppError {
  constructor(
    readonly sha256: string,
    /** The stored form that failed, when known (so that exactly that one is quarantined). */
    readonly where?: { state: 'hot' | 'cold'; codec: string | null },
    message = `stored content of blob ${sha256} is corrupt`,
  ) {
    super(message, 'corrupt-data');
  }
}
