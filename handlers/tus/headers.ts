import { BadRequestError, PreconditionFailedError, UnsupportedMediaTypeError } from '../../core/errors.js';
import { isSha256 } from '../../core/sha.js';
import { TUS_VERSION } from '../../shared/wire.js';

/** The tus protocol headers: parsing and validation only, no I/O (tus 1.0.0). */

export { TUS_VERSION } from '../../shared/wire.js';
export const TUS_EXTENSIONS = 'creation,creation-with-upload,termination,expiration,checksum';
export const TUS_CHECKSUM_ALGORITHMS = 'sha256';
export const OFFSET_STREAM = 'application/offset+octet-stream';
/** Longest Upload-Metadata accepted; a path is at most 4 KiB, base64 makes it 5.5. */
export const MAX_METADATA_CHARS = 16 * 1024;

/** Every request but OPTIONS must speak our version; anything else is 412. */
export function checkTusResumable(value: string | undefined): void {
  if (value === undefined) throw new PreconditionFailedError('Tus-Resumable header required (1.0.0)');
  if (value.trim() !== TUS_VERSION) throw new PreconditionFailedError(`unsupported Tus-Resumable ${value}: this server speaks ${TUS_VERSION}`);
}

/** Upload-Offset / Upload-Length: a non-negative integer in decimal, nothing else. */
export function parseByteCount(name: string, value: string | undefined): number {
  if (value === undefined) throw new BadRequestError(`${name} header required`);
  const v = value.trim();
  if (!/^\d{1,16}$/.test(v) || !Number.isSafeInteger(Number(v))) throw new BadRequestError(`${name} must be a non-negative integer`);
  return Number(v);
}

/** PATCH bodies must be `application/offset+octet-stream` (parameters tolerated); else 415. */
export function checkOffsetStream(contentType: string | undefined): void {
  const type = contentType?.split(';')[0]?.trim().toLowerCase();
  if (type !== OFFSET_STREAM) throw new UnsupportedMediaTypeError(`Content-Type must be ${OFFSET_STREAM}`);
}

/** True when a creation request carries data (creation-with-upload). */
export function hasOffsetStream(contentType: string | undefined): boolean {
  return contentType?.split(';')[0]?.trim().toLowerCase() === OFFSET_STREAM;
}

// ignoreBOM: a path may start with U+FEFF and must keep it.
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function decodeBase64Utf8(key: string, b64: string): string {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 !== 0) {
    throw new BadRequestError(`Upload-Metadata: the value of ${key} is not base64`);
  }
  try {
    return utf8.decode(Uint8Array.from(atob(b64), (ch) => ch.charCodeAt(0)));
  } catch {
    throw new BadRequestError(`Upload-Metadata: the value of ${key} is not UTF-8`);
  }
}

/** `key base64,key2 base64,flag`: unique keys without spaces or commas, values base64 (may be absent). */
export function parseUploadMetadata(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (header === undefined || header.trim() === '') return out;
  if (header.length > MAX_METADATA_CHARS) throw new BadRequestError(`Upload-Metadata longer than ${MAX_METADATA_CHARS} characters`);
  for (const pair of header.split(',')) {
    const parts = pair.trim().split(' ');
    const key = parts[0] ?? '';
    if (key === '' || parts.length > 2) throw new BadRequestError('Upload-Metadata must be comma-separated "key base64" pairs');
    if (out.has(key)) throw new BadRequestError(`Upload-Metadata: key ${key} appears twice`);
    out.set(key, decodeBase64Utf8(key, parts[1] ?? ''));
  }
  return out;
}

export interface UploadFields {
  /** The target path as sent ('alice/docs/a.txt'); validated by the caller with the path rules. */
  path: string;
  mtime: number | null;
  /** Lower-case hex, when the client announced the content's hash. */
  sha256: string | null;
}

/** Our metadata keys: `path` (required), `mtime` (ms since epoch), `sha256` (hex). Others are kept but ignored. */
export function uploadFields(meta: Map<string, string>): UploadFields {
  const path = meta.get('path');
  if (path === undefined || path === '') throw new BadRequestError('Upload-Metadata must carry path (namespace/relative path)');
  const mtimeText = meta.get('mtime');
  let mtime: number | null = null;
  if (mtimeText !== undefined && mtimeText !== '') {
    if (!/^\d{1,15}$/.test(mtimeText)) throw new BadRequestError('Upload-Metadata mtime must be milliseconds since the epoch');
    mtime = Number(mtimeText);
  }
  const shaText = meta.get('sha256');
  let sha256: string | null = null;
  if (shaText !== undefined && shaText !== '') {
    sha256 = shaText.toLowerCase();
    if (!isSha256(sha256)) throw new BadRequestError('Upload-Metadata sha256 must be 64 hex digits');
  }
  return { path, mtime, sha256 };
}

/** Upload-Checksum `sha256 <base64 digest>` as lower-case hex; undefined when absent. */
export function parseUploadChecksum(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const m = /^\s*(\S+) +([A-Za-z0-9+/]+={0,2})\s*$/.exec(header);
  if (!m) throw new BadRequestError('Upload-Checksum must be "<algorithm> <base64 digest>"');
  if ((m[1] as string).toLowerCase() !== 'sha256') {
    throw new BadRequestError(`unsupported checksum algorithm ${m[1]}: use ${TUS_CHECKSUM_ALGORITHMS}`);
  }
  const b64 = m[2] as string;
  if (!/^[A-Za-z0-9+/]{43}=$/.test(b64)) throw new BadRequestError('Upload-Checksum sha256 digest must be 32 bytes in base64');
  return Array.from(atob(b64), (ch) => ch.charCodeAt(0).toString(16).padStart(2, '0')).join('');
}
