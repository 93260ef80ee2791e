import { BadRequestError } from '../../core/errors.js';

/** ISO 8601 as Date.parse reads it: a date, optionally a time and zone. */
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;

/**
 * A moment from a client (`?at=`, restore bodies): milliseconds since the epoch, or ISO 8601
 * (a time without a zone is UTC, unlike Date.parse's local time). Anything else is a 400.
 */
export function parseMoment(value: unknown, name = 'at'): number {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return value;
  if (typeof value === 'string') {
    if (/^\d{1,15}$/.test(value)) return Number(value);
    if (ISO.test(value)) {
      const zoned = /T|\s/.test(value) && !/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? `${value.replace(' ', 'T')}Z` : value;
      const ms = Date.parse(zoned);
      if (Number.isFinite(ms) && ms >= 0) return ms;
    }
  }
  throw new BadRequestError(`${name} must be a time: milliseconds since the epoch or ISO 8601 (2026-01-31T12:00:00Z)`);
}
