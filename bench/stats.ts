/** Pure number helpers for the benchmark: percentiles and rates. No I/O. */

/** Nearest-rank percentile (q in 0..1) of values sorted ascending; NaN when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  if (q <= 0) return sorted[0] as number;
  const rank = Math.ceil(q * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1] as number;
}

/** Middle value (mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

export interface Summary {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function summarize(values: readonly number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.length ? (s[s.length - 1] as number) : Number.NaN };
}

/** Megabytes (10^6 bytes) per second, as curl and nginx docs count them. */
export function mbPerSec(bytes: number, seconds: number): number {
  return seconds > 0 ? bytes / 1e6 / seconds : Number.NaN;
}

/** ours / reference, or null when either side is missing or the reference is zero. */
export function ratio(ours: number | null, reference: number | null): number | null {
  if (ours === null || reference === null || !Number.isFinite(ours) || !Number.isFinite(reference) || reference === 0) return null;
  return ours / reference;
}
