import type { Http2Bindings, HttpBindings } from '@hono/node-server';
import { webFromNode } from '../../storage/web-from-node.js';

type Bindings = HttpBindings | Http2Bindings;
type Fetch = (req: Request, env: Bindings) => Response | Promise<Response>;

/** Bodies at least this large (or of unknown length) take the fast path; small JSON stays as it is. */
export const LARGE_BODY = 64 * 1024;

const BODY_METHODS: ReadonlySet<string> = new Set(['PUT', 'POST', 'PATCH']);

/** Whether a request's body should be streamed through `webFromNode` (pure, for tests). */
export function wantsFastBody(method: string, httpVersionMajor: number, contentLength: string | undefined, transferEncoding: string | undefined): boolean {
  // Only the methods that upload: a Web Request refuses a body on GET/HEAD and refuses TRACE and
  // CONNECT outright, and a 500 on such junk is not an answer.
  if (!BODY_METHODS.has(method) || httpVersionMajor !== 1) return false;
  if (transferEncoding !== undefined) return true;
  return contentLength !== undefined && /^\d+$/.test(contentLength) && Number(contentLength) >= LARGE_BODY;
}

/**
 * Gives handlers large request bodies (uploads) as a Web stream over the socket without the
 * per-chunk copy and per-chunk pause of @hono/node-server's `Readable.toWeb`. Handlers still
 * see a plain Web Request. Nothing is read until the handler reads, so an unread body is still
 * drained by @hono/node-server as before.
 */
export function withFastBody(fetch: Fetch): Fetch {
  return (req, env) => {
    const incoming = env.incoming;
    const headers = incoming.headers;
    const te = headers['transfer-encoding'];
    if (!wantsFastBody(req.method, incoming.httpVersionMajor, headers['content-length'], Array.isArray(te) ? te.join(',') : te)) {
      return fetch(req, env);
    }
    const init: RequestInit & { duplex: 'half' } = {
      method: req.method,
      headers: req.headers,
      body: webFromNode(incoming),
      duplex: 'half',
      signal: req.signal,
    };
    return fetch(new Request(req.url, init), env);
  };
}
