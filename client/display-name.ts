/**
 * Names as the client prints them. A file name can hold a newline (a fake log line), terminal
 * escapes or bidi overrides (a name that reads backwards): each is shown as a visible escape, so
 * one file is always one line and reads as what it is.
 */

/** Invisible or layout-changing: C0, DEL, C1, bidi marks/overrides/isolates, line separators, lone surrogates. */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]/gu;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeChar(c: string): string {
  const named = NAMED[c];
  if (named) return named;
  const code = c.codePointAt(0) as number;
  return code < 0x80 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u{${code.toString(16)}}`;
}

/** A message or a local folder path: unsafe characters escaped, backslashes (Windows paths) kept. */
export function displayText(text: string): string {
  return text.replace(UNSAFE, escapeChar);
}

/** A file's relative name: unsafe characters escaped, and `\` doubled so every escape is unambiguous. */
export function displayName(name: string): string {
  return name.replace(/\\/g, '\\\\').replace(UNSAFE, escapeChar);
}

/**
 * A name whose bytes are not UTF-8: valid runs shown as text (escaped as above), every byte
 * that is not part of one as `\xHH` (>= 0x80, so it never looks like an escaped character).
 */
export function displayBytes(bytes: Uint8Array): string {
  let out = '';
  let i = 0;
  while (i < bytes.length) {
    const len = utf8SequenceLength(bytes, i);
    if (len === 0) {
      out += `\\x${(bytes[i] as number).toString(16).padStart(2, '0')}`;
      i++;
    } else {
      out += displayName(Buffer.from(bytes.subarray(i, i + len)).toString('utf8'));
      i += len;
    }
  }
  return out;
}

/** Length of the well-formed UTF-8 sequence at `i` (RFC 3629: no overlongs, no surrogates), or 0. */
function utf8SequenceLength(b: Uint8Array, i: number): number {
  const b0 = b[i] as number;
  if (b0 < 0x80) return 1;
  const cont = (k: number, lo = 0x80, hi = 0xbf) => {
    const v = b[i + k];
    return v !== undefined && v >= lo && v <= hi;
  };
  if (b0 >= 0xc2 && b0 <= 0xdf) return cont(1) ? 2 : 0;
  if (b0 === 0xe0) return cont(1, 0xa0) && cont(2) ? 3 : 0;
  if ((b0 >= 0xe1 && b0 <= 0xec) || b0 === 0xee || b0 === 0xef) return cont(1) && cont(2) ? 3 : 0;
  if (b0 === 0xed) return cont(1, 0x80, 0x9f) && cont(2) ? 3 : 0;
  if (b0 === 0xf0) return cont(1, 0x90) && cont(2) && cont(3) ? 4 : 0;
  if (b0 >= 0xf1 && b0 <= 0xf3) return cont(1) && cont(2) && cont(3) ? 4 : 0;
  if (b0 === 0xf4) return cont(1, 0x80, 0x8f) && cont(2) && cont(3) ? 4 : 0;
  return 0;
}

/** The name as UTF-8 text, or undefined when its bytes are not UTF-8 (the server cannot store it). */
export function decodeName(bytes: Uint8Array): string | undefined {
  try {
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
