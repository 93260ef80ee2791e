import http, { type IncomingHttpHeaders } from 'node:http';
import https from 'node:https';
import type { Readable } from 'node:stream';
import { CancelledError, HttpStatusError, NetworkError, ProtocolError } from './errors.js';

export interface HttpResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The (small) response body as text; responses of this API are JSON or empty. */
  text: string;
}

export interface RequestOptions {
  headers?: Record<string, string>;
  /** A string/Buffer, or a stream piped with backpressure (never buffered whole). */
  body?: string | Buffer | Readable;
  signal?: AbortSignal;
}

export interface StreamedResponse {
  status: number;
  headers: IncomingHttpHeaders;
  /** The body: read it to the end or destroy it, so the connection is freed. */
  body: Readable;
}

/** Longest response body kept; anything longer is cut (this API answers in small JSON). */
const MAX_RESPONSE_TEXT = 1 << 20;
/** A connection silent this long is given up on (the server's own idle limit is 120 s). */
const IDLE_TIMEOUT_MS = 120_000;

/**
 * node:http rather than fetch: a streamed upload body with a real Content-Length, backpressure
 * from the socket, keep-alive across thousands of small files, and the server's early answer
 * (413, 400) read even when it stops reading our body.
 */
export class HttpClient {
  private readonly base: URL;
  private readonly agent: http.Agent;
  private readonly auth: string;

  constructor(server: string, token: string) {
    this.base = new URL(server.endsWith('/') ? server : `${server}/`);
    const Agent = this.base.protocol === 'https:' ? https.Agent : http.Agent;
    this.agent = new Agent({ keepAlive: true, maxSockets: 16 });
    this.auth = `Bearer ${token}`;
  }

  /** An absolute URL for `path` (already percent-encoded), or `path` itself when absolute. */
  url(path: string): URL {
    return new URL(path.replace(/^\//, ''), this.base);
  }

  request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const url = this.url(path);
    const mod = url.protocol === 'https:' ? https : http;
    const { signal, body } = options;
    return new Promise<HttpResponse>((resolve, reject) => {
      if (signal?.aborted) return reject(new CancelledError());
      let settled = false;
      const done = (err: Error | undefined, res?: HttpResponse) => {
        if (settled) return;
        settled = true;
        signal?.removeEventListener('abort', onAbort);
        if (err) reject(err);
        else resolve(res as HttpResponse);
      };
      const req = mod.request(url, {
        method,
        agent: this.agent,
        headers: { Authorization: this.auth, ...options.headers },
      });
      const onAbort = () => {
        req.destroy();
        if (body && typeof body !== 'string' && !Buffer.isBuffer(body)) body.destroy();
        done(new CancelledError());
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('no data for 120 s'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (body && typeof body !== 'string' && !Buffer.isBuffer(body)) body.destroy();
        const mismatch = protocolMismatch(url, err);
        done(mismatch ? new ProtocolError(mismatch) : new NetworkError(`${method} ${url.pathname}: ${err.message}`, err.code));
      });
      req.on('response', (res) => {
        const chunks: Buffer[] = [];
        let kept = 0;
        res.on('data', (c: Buffer) => {
          if (kept < MAX_RESPONSE_TEXT) {
            chunks.push(c);
            kept += c.byteLength;
          }
        });
        res.on('error', (err: NodeJS.ErrnoException) => done(new NetworkError(`${method} ${url.pathname}: ${err.message}`, err.code)));
        res.on('end', () => {
          // The server answered before taking the whole body (an early 4xx, a cut tus PATCH):
          // stop sending, and drop the connection, which is now mid-body and cannot be reused.
          if (!req.writableFinished) {
            if (body && typeof body !== 'string' && !Buffer.isBuffer(body)) body.destroy();
            req.destroy();
          }
          done(undefined, { status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
        });
      });

      if (body === undefined) {
        req.end();
      } else if (typeof body === 'string' || Buffer.isBuffer(body)) {
        req.end(body);
      } else {
        body.on('error', (err: NodeJS.ErrnoException) => {
          // A read error of the local file (changed, locked, gone) is not a network failure.
          req.destroy();
          done(err);
        });
        body.pipe(req);
      }
    });
  }

  /**
   * A request whose response body is streamed to the caller (downloads), not collected. A status
   * outside `ok` is read (bounded) and thrown as HttpStatusError, as `expectStatus` does.
   */
  async open(method: string, path: string, ok: readonly number[], options: Omit<RequestOptions, 'body'> = {}): Promise<StreamedResponse> {
    const url = this.url(path);
    const mod = url.protocol === 'https:' ? https : http;
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const req = mod.request(url, { method, agent: this.agent, headers: { Authorization: this.auth, ...options.headers }, signal: options.signal });
      req.setTimeout(IDLE_TIMEOUT_MS, () => req.destroy(Object.assign(new Error('no data for 120 s'), { code: 'ETIMEDOUT' })));
      req.on('error', (err: NodeJS.ErrnoException) => {
        reject(options.signal?.aborted ? new CancelledError() : new NetworkError(`${method} ${url.pathname}: ${err.message}`, err.code));
      });
      req.on('response', (r) => {
        // From here on the body's own errors belong to whoever reads it.
        r.setTimeout(IDLE_TIMEOUT_MS, () => r.destroy(Object.assign(new Error('no data for 120 s'), { code: 'ETIMEDOUT' })));
        resolve(r);
      });
      req.end();
    });
    const status = res.statusCode ?? 0;
    if (!ok.includes(status)) {
      let text = '';
      try {
        for await (const c of res as AsyncIterable<Buffer>) if (text.length < MAX_RESPONSE_TEXT) text += c.toString('utf8');
      } catch {
        // the error text is a courtesy; the status says enough
      }
      expectStatus({ status, headers: res.headers, text }, ok, method, path);
    }
    return { status, headers: res.headers, body: res };
  }

  close(): void {
    this.agent.destroy();
  }
}

/**
 * A TLS handshake answered by plain HTTP (OpenSSL: "wrong version number"), or an answer that is
 * not HTTP at all: a wrong scheme in --server, which no retry will fix.
 */
export function protocolMismatch(url: URL, err: NodeJS.ErrnoException): string | undefined {
  if (url.protocol === 'https:' && (err.code === 'EPROTO' || err.code?.startsWith('ERR_SSL_')) && /wrong version number|packet length too long|http request/i.test(err.message)) {
    return `${url.origin} does not speak TLS (it answers plain HTTP): use --server http://${url.host}`;
  }
  if (url.protocol === 'http:' && err.code?.startsWith('HPE_')) {
    return `${url.origin} did not answer in HTTP (${err.code}): if it expects TLS, use --server https://${url.host}`;
  }
  return undefined;
}

/** The server's `{error}` message, or the raw text. */
export function serverMessage(res: HttpResponse): string {
  try {
    const v = JSON.parse(res.text) as { error?: unknown };
    if (typeof v.error === 'string') return v.error;
  } catch {
    // not JSON
  }
  return res.text.trim().slice(0, 200) || http.STATUS_CODES[res.status] || 'error';
}

/** Throws HttpStatusError unless the status is one of `ok`. */
export function expectStatus(res: HttpResponse, ok: readonly number[], method: string, path: string): HttpResponse {
  if (ok.includes(res.status)) return res;
  const ra = res.headers['retry-after'];
  const retryAfter = typeof ra === 'string' && /^\d+$/.test(ra.trim()) ? Number(ra) : undefined;
  throw new HttpStatusError(res.status, serverMessage(res), method, decodeForDisplay(path), retryAfter);
}

function decodeForDisplay(path: string): string {
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}
