import type { IncomingMessage } from 'node:http';
import type { Http2Bindings, HttpBindings } from '@hono/node-server';
import { DEFAULT_READ_AHEAD, webFromNode } from '../../storage/blobs/web-from-node.js';
import { discardRest, DRAIN_LIMITS, type DrainLimits } from './body-drain.js';
import { SMALL_BODY_BYTES } from '../../core/sizes.js';

type Bindings = HttpBindings | Http2Bindings;
type Fetch = (req: Request, env: Bindings) => Response | Promise<Response>;

/** Bodies at least this large (or of unknown length) take the fast path; small JSON stays as it is. */
export const LARGE_BODY = SMALL_BODY_BYTES;

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
 * see a plain Web Request. Nothing is read until the handler reads. When the answer is ready
 * before the body ended (413 past the maximum, 507 on a full disk, a refusal before reading),
 * the rest of the body is read and discarded (bounded by `limits`) before answering, so the
 * client gets to read the answer instead of a reset connection.
 */
export function withFastBody(fetch: Fetch, limits: DrainLimits = DRAIN_LIMITS): Fetch {
  return async (req, env) => {
    const incoming = env.incoming;
    const headers = incoming.headers;
    const te = headers['transfer-encoding'];
    if (!wantsFastBody(req.method, incoming.httpVersionMajor, headers['content-length'], Array.isArray(te) ? te.join(',') : te)) {
      return fetch(req, env);
    }
    const detach = new AbortController();
    const init: RequestInit & { duplex: 'half' } = {
      method: req.method,
      headers: req.headers,
      body: webFromNode(incoming, DEFAULT_READ_AHEAD, { keepSourceOnCancel: true, detach: detach.signal }),
      duplex: 'half',
      signal: req.signal,
    };
    const res = await fetch(new Request(req.url, init), env);
    if (!incoming.complete) {
      detach.abort();
      // wantsFastBody took HTTP/1 only.
      await discardRest(incoming as IncomingMessage, limits);
    }
    return res;
  };
}
