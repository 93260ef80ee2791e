import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RouteProxy {
  url: string;
  /** `METHOD /path?query` of every request that reached the proxy, in order. */
  seen: string[];
  close(): Promise<void>;
}

/**
 * A proxy on 127.0.0.1 in front of `target` that answers some requests itself (as an older or
 * failing server would): `answer` returns the status and JSON body for those, undefined to pass
 * the request through.
 */
export async function startRouteProxy(target: string, answer: (req: http.IncomingMessage) => { status: number; body: unknown } | undefined): Promise<RouteProxy> {
  const to = new URL(target);
  const seen: string[] = [];
  const proxy = http.createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const own = answer(req);
    if (own) {
      req.resume();
      res.writeHead(own.status, { 'Content-Type': 'application/json' }).end(JSON.stringify(own.body));
      return;
    }
    const up = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.once('error', () => res.destroy());
    req.pipe(up);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`,
    seen,
    close: async () => {
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
