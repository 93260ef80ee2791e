import type { Http2Bindings, HttpBindings } from '@hono/node-server';

type Bindings = HttpBindings | Http2Bindings;

/**
 * An answer sent before its request body was read to the end (a 507, 413 or 401 on an upload,
 * when the bounded drain in `withFastBody` could not read the rest) is followed by closing
 * the connection. Say
 * so with `Connection: close`: otherwise a keep-alive client reuses the socket for its next
 * request and sees "other side closed" instead of an answer.
 */
export function closeAfterUnreadBody(fetch: (req: Request, env: Bindings) => Response | Promise<Response>) {
  return async (req: Request, env: Bindings): Promise<Response> => {
    const res = await fetch(req, env);
    // HTTP/2 has no Connection header (streams end on their own). A request without a body is
    // complete once its headers are in; `req.body` is not asked: on @hono/node-server's light
    // request that builds a whole Web Request (~0.3 ms per request on a 2-core box).
    if (env.incoming.httpVersionMajor === 1 && !env.incoming.complete) {
      try {
        res.headers.set('Connection', 'close');
      } catch {
        // Immutable headers (Response.error()): nothing to add.
      }
    }
    return res;
  };
}
