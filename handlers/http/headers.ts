import { BadRequestError } from '../../core/errors.js';

/**
 * The sha-256 member of a Content-Digest header (RFC 9530), as lower-case hex. Undefined when
 * the header is absent or carries only algorithms we do not check; 400 when it is malformed.
 */
export function parseContentDigest(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /(?:^|,)\s*sha-256\s*=\s*:([^:]*):\s*(?:,|$)/i.exec(header);
  if (!m) {
    if (/(?:^|,)\s*sha-256\s*=/i.test(header)) throw new BadRequestError('malformed Content-Digest sha-256 value');
    return undefined;
  }
  const b64 = m[1] ?? '';
  if (!/^[A-Za-z0-9+/]{43}=$/.test(b64)) throw new BadRequestError('Content-Digest sha-256 must be 32 bytes in base64');
  return Array.from(atob(b64), (ch) => ch.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}

/** X-File-Mtime: integer milliseconds since the epoch, or undefined. */
export function parseMtime(value: string | undefined | null): number | null {
  if (value === undefined || value === null || value === '') return null;
  if (!/^\d{1,15}$/.test(value.trim())) throw new BadRequestError('X-File-Mtime must be milliseconds since the epoch');
  return Number(value.trim());
}

/** A Content-Length header as a number; undefined when absent, 400 when nonsense. */
export function parseContentLength(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d{1,16}$/.test(value.trim())) throw new BadRequestError('invalid Content-Length');
  return Number(value.trim());
}

export function hexToBase64(hex: string): string {
  let bin = '';
  for (let i = 0; i < hex.length; i += 2) bin += String.fromCharCode(parseInt(hex.slice(i, i + 2), 16));
  return btoa(bin);
}
