import type { RequestRecord } from './request-measure.js';

export type LogFormat = 'text' | 'json';

export const LOG_FORMATS: readonly LogFormat[] = ['text', 'json'];

/**
 * One access-log line. The path is logged without its query string and no header is logged,
 * so no credential ever reaches the log; the client is the authenticated one, never a name
 * merely claimed by failed Basic credentials.
 */
export function accessLine(r: RequestRecord, format: LogFormat): string {
  const ms = Math.round(r.ms);
  if (format === 'json') {
    return JSON.stringify({
      time: new Date(r.time).toISOString(),
      type: 'access',
      method: r.method,
      path: r.path,
      route: r.route,
      status: r.status,
      bytesIn: r.bytesIn,
      bytesOut: r.bytesOut,
      ms,
      client: r.client ?? null,
      aborted: r.aborted,
    });
  }
  const end = r.aborted ? ' aborted' : '';
  return `${new Date(r.time).toISOString()} ${r.method} ${r.path} ${r.status} ${ms}ms in=${r.bytesIn} out=${r.bytesOut} client=${r.client ?? '-'}${end}`;
}

/** Any other log line (start-up, sweeps, errors): as it is in text, one JSON object in json. */
export function messageLine(message: string, format: LogFormat, now: number): string {
  if (format === 'text') return message;
  return JSON.stringify({ time: new Date(now).toISOString(), type: 'log', message });
}
