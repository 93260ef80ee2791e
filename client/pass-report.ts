import { expectStatus, type HttpClient } from './http.js';
import type { PassSummary } from './progress.js';

/** What POST /api/passes takes: one pass of one folder, for the admin's backup health view. */
export interface PassReport {
  root: string;
  host: string;
  folder: string;
  startedAt: number;
  endedAt: number;
  scanned: number;
  uploaded: number;
  failed: number;
  deleted: number;
  bytes: number;
  stopped: boolean;
}

/** The report of a finished pass: files looked at, files that reached the server (sent, linked, repaired). */
export function passReport(s: PassSummary, source: { root: string; host: string; folder: string }, endedAt: number): PassReport {
  return {
    ...source,
    startedAt: endedAt - s.durationMs,
    endedAt,
    scanned: s.uploaded + s.linked + s.repaired + s.unchanged + s.deferred + s.failed + s.interrupted,
    uploaded: s.uploaded + s.linked + s.repaired,
    failed: s.failed,
    deleted: s.deleted,
    bytes: s.bytesBackedUp,
    stopped: s.stopped,
  };
}

/**
 * Sends a pass report once (no retries: the next pass reports again). 'unsupported' for a server
 * older than pass reports (404); throws for anything else that is not 201.
 */
export async function sendPassReport(http: HttpClient, report: PassReport, signal: AbortSignal): Promise<'sent' | 'unsupported'> {
  const res = await http.request('POST', 'api/passes', { headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(report), signal });
  if (res.status === 404) return 'unsupported';
  expectStatus(res, [201], 'POST', '/api/passes');
  return 'sent';
}
