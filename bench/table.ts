/** The benchmark's result rows and their Markdown rendering. Pure: no I/O. */
import { ratio } from './stats.js';

export interface BenchRow {
  /** Stable key for the JSON output ('put-1g', 'list-api-p99', ...). */
  id: string;
  /** What was measured, e.g. 'PUT 1 GiB (curl)'. */
  name: string;
  ours: number | null;
  reference: number | null;
  /** What the reference is: 'nginx WebDAV PUT', 'rclone --transfers 8', ... ('' when none). */
  refName: string;
  unit: string;
  better: 'higher' | 'lower';
  /** Why a figure is missing, or how to read it. */
  note?: string;
}

/** Three significant figures at most, no exponent: 0.0123, 1.23, 12.3, 123, 12345. */
export function formatValue(v: number | null): string {
  if (v === null || !Number.isFinite(v)) return '—';
  const a = Math.abs(v);
  if (a >= 100 || a === 0) return v.toFixed(0);
  if (a >= 10) return v.toFixed(1);
  if (a >= 1) return v.toFixed(2);
  return v.toPrecision(2);
}

export function formatRatio(r: number | null): string {
  return r === null ? '—' : `${formatValue(r)}×`;
}

function cell(s: string): string {
  return s.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/** One Markdown table: row, ours, reference, ratio (ours / reference), unit. */
export function markdownTable(rows: readonly BenchRow[]): string {
  const head = ['row', 'ours', 'reference', 'ratio', 'unit'];
  const lines = [`| ${head.join(' | ')} |`, '| --- | ---: | ---: | ---: | --- |'];
  for (const r of rows) {
    const name = r.refName ? `${r.name} vs ${r.refName}` : r.name;
    const unit = `${r.unit} ${r.better === 'higher' ? '↑' : '↓'}`;
    const values = [name, formatValue(r.ours), formatValue(r.reference), formatRatio(ratio(r.ours, r.reference)), unit];
    lines.push(`| ${values.map(cell).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** The notes under the table: one line per row that carries one. */
export function notesOf(rows: readonly BenchRow[]): string[] {
  return rows.filter((r) => r.note).map((r) => `- ${r.name}: ${r.note}`);
}
