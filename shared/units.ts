/**
 * The one grammar for durations and sizes, shared by the server's flags and the client's: pure,
 * imports nothing, so the client may use it without reaching into server internals.
 */
const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** '30s', '10m', '7d', '1h30m', '500ms' -> milliseconds; a bare number is seconds. */
export function parseDuration(value: string): number {
  const s = value.trim().toLowerCase();
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;
  let total = 0;
  let consumed = 0;
  for (const m of s.matchAll(re)) {
    if (m.index !== consumed) break;
    total += Number(m[1]) * (DURATION_UNITS[m[2] as string] as number);
    consumed += m[0].length;
  }
  if (consumed === 0 || consumed !== s.length) {
    throw new Error(`invalid duration "${value}" (examples: 30s, 10m, 7d)`);
  }
  return Math.round(total);
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** '500K', '2M', '10G', '1024' -> bytes (binary multiples). */
export function parseSize(value: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(i?b)?$/i.exec(value.trim());
  if (!m) throw new Error(`invalid size "${value}" (examples: 500K, 2M, 10G)`);
  return Math.round(Number(m[1]) * (SIZE_UNITS[(m[2] ?? '').toLowerCase()] as number));
}

/** 1536 -> '1.5 KiB': bytes for people, in a form parseSize reads back. */
export function humanSize(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}
