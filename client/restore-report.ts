import { formatBytes, formatDuration } from './progress.js';

/** What one restore did; printed at the end and returned by runRestore. */
export interface RestoreSummary {
  /** Files written (new or replaced). */
  restored: number;
  /** Files already right (content and mtime). */
  unchanged: number;
  /** Files whose content was right and only the modification time was set. */
  mtimeSet: number;
  /** Local files that differ and were left alone (no --overwrite). */
  refused: number;
  failed: number;
  bytesReceived: number;
  durationMs: number;
  /** Files written under another name than the remote one (names Windows cannot hold). */
  renamed: { remote: string; local: string }[];
  /** Every file not restored, with why (refused and failed). */
  problems: { path: string; message: string }[];
}

export function emptyRestoreSummary(): RestoreSummary {
  return { restored: 0, unchanged: 0, mtimeSet: 0, refused: 0, failed: 0, bytesReceived: 0, durationMs: 0, renamed: [], problems: [] };
}

/** Everything restored (or already right): exit code 0. */
export function restoreSucceeded(s: RestoreSummary): boolean {
  return s.failed === 0 && s.refused === 0;
}

/** The closing lines: the counts, then each renamed file and each file not restored. */
export function formatRestoreSummary(s: RestoreSummary): string {
  const rate = s.durationMs > 0 ? (s.bytesReceived * 1000) / s.durationMs : 0;
  const lines = [
    `restore done in ${formatDuration(s.durationMs)}: ${s.restored} restored, ${s.unchanged} unchanged, ${s.mtimeSet} mtime set, ` +
      `${s.refused} refused, ${s.failed} failed; ${formatBytes(s.bytesReceived)} received (${formatBytes(Math.round(rate))}/s)`,
  ];
  if (s.renamed.length > 0) {
    lines.push(`${s.renamed.length} name${s.renamed.length === 1 ? '' : 's'} escaped (not valid on Windows; see docs/client.md):`);
    for (const r of s.renamed) lines.push(`  ${r.remote} -> ${r.local}`);
  }
  if (s.problems.length > 0) {
    lines.push(`${s.problems.length} file${s.problems.length === 1 ? '' : 's'} not restored:`);
    for (const p of s.problems) lines.push(`  ${p.path}: ${p.message}`);
  }
  return lines.join('\n');
}
