/** One transfer with curl, timed by curl itself (process start-up excluded). */
import { run } from './children.js';

export interface CurlResult {
  status: number;
  seconds: number;
  bytesUp: number;
  bytesDown: number;
  /** Response headers, when `headers` was asked for. */
  headerText: string;
}

const WRITE_OUT = '\n%{http_code} %{time_total} %{size_upload} %{size_download}';

/** Parses curl's `-w` line (the last line of its output). */
export function parseWriteOut(stdout: string): Omit<CurlResult, 'headerText'> {
  const line = stdout.trimEnd().split('\n').pop() ?? '';
  const [status, seconds, up, down] = line.trim().split(' ').map(Number);
  if (![status, seconds, up, down].every((n) => Number.isFinite(n))) throw new Error(`unexpected curl output: ${line}`);
  return { status: status as number, seconds: seconds as number, bytesUp: up as number, bytesDown: down as number };
}

/**
 * Runs `curl -sS -o /dev/null ARGS`; throws when curl fails or the status is not 2xx.
 * With `headers`, response headers are printed before the timing line (-D -).
 */
export async function curl(args: readonly string[], opts: { timeoutMs?: number; headers?: boolean } = {}): Promise<CurlResult> {
  const r = await run('curl', ['-sS', '-o', '/dev/null', ...(opts.headers ? ['-D', '-'] : []), '-w', WRITE_OUT, ...args], opts.timeoutMs ?? 300_000);
  if (r.timedOut) throw new Error(`curl timed out: curl ${args.join(' ')}`);
  if (r.code !== 0) throw new Error(`curl failed (${r.code}): ${r.stderr.trim()}`);
  const parsed = parseWriteOut(r.stdout);
  if (parsed.status < 200 || parsed.status > 299) throw new Error(`HTTP ${parsed.status} from curl ${args.filter((a) => a.startsWith('http')).join(' ')}`);
  const cut = r.stdout.trimEnd().lastIndexOf('\n');
  return { ...parsed, headerText: cut > 0 ? r.stdout.slice(0, cut) : '' };
}
