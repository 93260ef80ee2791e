import type { ByteRange } from '../../storage/blobs/blob-store.js';

export type RangeResult =
  | { kind: 'none' }
  | { kind: 'unsatisfiable' }
  | { kind: 'ranges'; ranges: ByteRange[] };

/** More ranges than this in one request is treated as abuse: the range header is ignored. */
export const MAX_RANGES = 100;

/**
 * Parses a Range header (RFC 9110 section 14.2) against a representation of `size` bytes.
 * Syntax the server does not understand is ignored ('none': send the whole file), as RFC 9110
 * allows; a well-formed header with no satisfiable range is 'unsatisfiable' (416).
 */
export function parseRange(header: string | undefined | null, size: number): RangeResult {
  if (header === undefined || header === null) return { kind: 'none' };
  const m = /^\s*bytes\s*=\s*(.+)$/i.exec(header);
  if (!m || !m[1]) return { kind: 'none' };
  const specs = m[1].split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (specs.length === 0 || specs.length > MAX_RANGES) return { kind: 'none' };
  const ranges: ByteRange[] = [];
  for (const spec of specs) {
    const r = /^(\d*)\s*-\s*(\d*)$/.exec(spec);
    if (!r) return { kind: 'none' };
    const [, a = '', b = ''] = r;
    if (a === '' && b === '') return { kind: 'none' };
    // Number() of a huge digit string is a huge float or Infinity: the comparisons below stay
    // right without overflow tricks.
    if (a === '') {
      const suffix = Number(b);
      if (suffix === 0 || size === 0) continue;
      ranges.push({ start: Math.max(0, size - suffix), end: size - 1 });
      continue;
    }
    const start = Number(a);
    const last = b === '' ? Infinity : Number(b);
    if (last < start) return { kind: 'none' };
    if (start >= size) continue;
    ranges.push({ start, end: Math.min(last, size - 1) });
  }
  if (ranges.length === 0) return { kind: 'unsatisfiable' };
  return { kind: 'ranges', ranges: coalesce(ranges) };
}

/**
 * Merges overlapping ranges (sorted), so a client cannot make us send the same bytes many
 * times over; ranges that do not overlap keep the order the client asked for.
 */
export function coalesce(ranges: ByteRange[]): ByteRange[] {
  if (ranges.length < 2) return ranges;
  const sorted = [...ranges].sort((x, y) => x.start - y.start);
  let overlaps = false;
  for (let i = 1; i < sorted.length; i++) {
    if ((sorted[i] as ByteRange).start <= (sorted[i - 1] as ByteRange).end) overlaps = true;
  }
  if (!overlaps) return ranges;
  const out: ByteRange[] = [];
  for (const r of sorted) {
    const last = out[out.length - 1];
    if (last && r.start <= last.end + 1) last.end = Math.max(last.end, r.end);
    else out.push({ ...r });
  }
  return out;
}
