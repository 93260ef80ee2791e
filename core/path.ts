import { BadRequestError } from './errors.js';
import { encodePath } from '../shared/wire.js';

/** Longest single name, in UTF-8 bytes (what common filesystems allow). */
export const MAX_NAME_BYTES = 255;
/** Longest whole path, in UTF-8 bytes. */
export const MAX_PATH_BYTES = 4096;
/** Deepest nesting accepted. */
export const MAX_DEPTH = 64;

export interface FilePath {
  /** The decoded path, '/'-separated, namespace first: 'alice/docs/a.txt'. */
  path: string;
  namespace: string;
  /** The path below the namespace: 'docs/a.txt'. */
  relative: string;
  segments: string[];
}

const utf8 = new TextEncoder();
// ignoreBOM: a leading U+FEFF is part of the name (stripping it would make two names one).
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
// A whole segment `C:`: as the first name it would make the path `C:/...` on Windows. `a:b.txt`
// is a legal Linux name and stays accepted.
const DRIVE = /^[A-Za-z]:$/;
// `.` / `..` as sent, also percent-encoded (URL parsing treats %2e as a dot).
const DOT_SEGMENT = /^(?:\.|%2e){1,2}$/i;

/**
 * Percent-decodes one URL segment exactly once, refusing invalid UTF-8 (decodeURIComponent
 * would throw a URIError; a lone surrogate must not slip through either).
 */
export function decodeSegment(raw: string): string {
  if (!/%/.test(raw)) return raw;
  if (/%(?![0-9A-Fa-f]{2})/.test(raw)) throw new BadRequestError('bad path: malformed percent-encoding');
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    const ch = raw[i] as string;
    if (ch === '%') {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of utf8.encode(ch)) bytes.push(b);
    }
  }
  try {
    return strictUtf8.decode(new Uint8Array(bytes));
  } catch {
    throw new BadRequestError('bad path: not valid UTF-8');
  }
}

/** False when `s` is surely at most `max` bytes in UTF-8 (no UTF-16 unit takes more than 3), so that it need not be encoded to tell. */
function mayExceedUtf8(s: string, max: number): boolean {
  return s.length * 3 > max;
}

/** Checks one decoded name. Names are otherwise kept exactly as sent (no normalisation). */
export function validateSegment(name: string): void {
  if (name === '') throw new BadRequestError('bad path: empty segment');
  if (name === '.' || name === '..') throw new BadRequestError('bad path: "." and ".." are not allowed');
  if (name.includes('/')) throw new BadRequestError('bad path: encoded "/" inside a name');
  if (name.includes('\\')) throw new BadRequestError('bad path: backslashes are not allowed');
  if (CONTROL.test(name)) throw new BadRequestError('bad path: control characters are not allowed');
  if (/[\uD800-\uDFFF]/.test(name.replace(/[\uD800-\uDBFF][\uDC00-\uDFFF]/g, ''))) {
    throw new BadRequestError('bad path: not valid UTF-8');
  }
  if (mayExceedUtf8(name, MAX_NAME_BYTES) && utf8.encode(name).byteLength > MAX_NAME_BYTES) {
    throw new BadRequestError(`bad path: a name is longer than ${MAX_NAME_BYTES} bytes`);
  }
}

/**
 * The one path validator every route uses. `raw` is the still percent-encoded part of the URL
 * after the route prefix ('alice/docs/a%20b.txt'). With `allowEmptyRelative` a bare namespace
 * ('alice' or 'alice/') is accepted, for folder routes.
 */
export function parseFilePath(raw: string, options: { folder?: boolean } = {}): FilePath {
  let s = raw;
  if (options.folder && s.endsWith('/')) s = s.slice(0, -1);
  if (s === '') throw new BadRequestError('bad path: empty');
  if (s.startsWith('/')) throw new BadRequestError('bad path: absolute paths are not allowed');
  const rawSegments = s.split('/');
  if (rawSegments.length > MAX_DEPTH) throw new BadRequestError(`bad path: deeper than ${MAX_DEPTH} levels`);
  const segments = rawSegments.map((r) => {
    const name = decodeSegment(r);
    validateSegment(name);
    return name;
  });
  if (segments.slice(0, 2).some((name) => DRIVE.test(name))) {
    throw new BadRequestError('bad path: drive letters are not allowed');
  }
  if (!options.folder && segments.length < 2) {
    throw new BadRequestError('bad path: expected <namespace>/<file path>');
  }
  const path = segments.join('/');
  if (mayExceedUtf8(path, MAX_PATH_BYTES) && utf8.encode(path).byteLength > MAX_PATH_BYTES) {
    throw new BadRequestError(`bad path: longer than ${MAX_PATH_BYTES} bytes`);
  }
  const namespace = segments[0] as string;
  return { path, namespace, relative: segments.slice(1).join('/'), segments };
}

/**
 * Refuses `.` and `..` segments in a request-target exactly as the client sent it (origin or
 * absolute form, query ignored). `new URL` resolves them before any route sees the path, so
 * `/files/alice/../bob/x` would otherwise be taken as `bob/x`.
 */
export function assertNoDotSegments(target: string): void {
  const path = target.replace(/^[a-z][a-z0-9+.-]*:\/\/[^/?#]*/i, '').split(/[?#]/, 1)[0] ?? '';
  if (path.split('/').some((segment) => DOT_SEGMENT.test(segment))) {
    throw new BadRequestError('bad path: "." and ".." are not allowed');
  }
}

/** Only characters encodeURIComponent keeps as they are, and '/'. */
const URI_PLAIN = /^[A-Za-z0-9\-_.!~*'()/]*$/;

/** Validates an already-decoded path (from JSON bodies or tus metadata) the same way. */
export function parseDecodedPath(path: string, options: { folder?: boolean } = {}): FilePath {
  if (typeof path !== 'string') throw new BadRequestError('bad path: not a string');
  // Most paths are made of characters percent-encoding leaves alone: encoded, they are the same text.
  return parseFilePath(URI_PLAIN.test(path) ? path : encodePath(path), options);
}

export { encodePath } from '../shared/wire.js';
