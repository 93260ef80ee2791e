/**
 * A small closed-loop load generator over node:http: N workers, each with its own keep-alive
 * connection, each doing one request after another until a deadline or a count is reached.
 */
import http from 'node:http';
import type { Readable } from 'node:stream';

export interface Reply {
  status: number;
  body: Buffer;
}

export interface RequestSpec {
  method: string;
  url: string;
  headers?: Record<string, string>;
  /** A Buffer, or a stream (for large uploads). */
  body?: Buffer | Readable;
  /** Keep at most this many bytes of the response body (the rest is read and dropped). */
  keepBytes?: number;
  timeoutMs?: number;
}

/** One request; the reply body is drained so the connection can be reused. */
export function request(agent: http.Agent, spec: RequestSpec): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(spec.url, { method: spec.method, headers: spec.headers, agent, timeout: spec.timeoutMs ?? 60_000 }, (res) => {
      const keep = spec.keepBytes ?? 1 << 20;
      const chunks: Buffer[] = [];
      let kept = 0;
      res.on('data', (c: Buffer) => {
        if (kept < keep) {
          chunks.push(c);
          kept += c.length;
        }
      });
      res.once('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks) }));
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(new Error(`timeout after ${spec.timeoutMs ?? 60_000} ms: ${spec.method} ${spec.url}`)));
    req.once('error', reject);
    const body = spec.body;
    if (body === undefined) req.end();
    else if (Buffer.isBuffer(body)) req.end(body);
    else {
      body.once('error', (e) => req.destroy(e));
      body.pipe(req);
    }
  });
}

export interface LoadOptions {
  workers: number;
  /** Stop starting new operations after this long. */
  durationMs: number;
  /** And after this many operations per worker. */
  maxOpsPerWorker: number;
  /** Or once this aborts. */
  signal?: AbortSignal;
  /** One operation (one request); resolves with its HTTP status. */
  op: (agent: http.Agent, worker: number, i: number) => Promise<number>;
}

export interface LoadResult {
  ops: number;
  errors: number;
  seconds: number;
  latenciesMs: number[];
  /** The same without each worker's first request (which includes connecting while the server is busy). */
  laterLatenciesMs: number[];
  firstError: string | null;
}

export async function runLoad(o: LoadOptions): Promise<LoadResult> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: o.workers, maxFreeSockets: o.workers });
  const latencies: number[] = [];
  const later: number[] = [];
  let errors = 0;
  let firstError: string | null = null;
  const t0 = performance.now();
  const deadline = t0 + o.durationMs;
  const worker = async (w: number) => {
    for (let i = 0; i < o.maxOpsPerWorker && performance.now() < deadline && !o.signal?.aborted; i++) {
      const start = performance.now();
      try {
        const status = await o.op(agent, w, i);
        if (status < 200 || status > 299) throw new Error(`HTTP ${status}`);
      } catch (err) {
        errors++;
        firstError ??= (err as Error).message;
      }
      const ms = performance.now() - start;
      latencies.push(ms);
      if (i > 0) later.push(ms);
    }
  };
  await Promise.all(Array.from({ length: o.workers }, (_, w) => worker(w)));
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  return { ops: latencies.length, errors, seconds, latenciesMs: latencies, laterLatenciesMs: later, firstError };
}
