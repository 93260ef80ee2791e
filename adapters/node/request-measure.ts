import type { Http2Bindings, HttpBindings } from '@hono/node-server';
import type { RequestObserver, RequestTags } from '../../core/deps.js';

type Bindings = HttpBindings | Http2Bindings;
type Fetch = (req: Request, env: Bindings) => Response | Promise<Response>;

/** One finished request, as the access log and the metrics see it. */
export interface RequestRecord {
  /** When it arrived, ms since the epoch. */
  time: number;
  method: string;
  /** The path as sent, without the query string. */
  path: string;
  /** The route pattern (`/files/*`), from the app. */
  route: string;
  status: number;
  /** Bytes on the wire, headers included (like Apache's %I and %O). */
  bytesIn: number;
  bytesOut: number;
  /** From arrival until the response was sent or the connection dropped. */
  ms: number;
  client: string | undefined;
  /** The connection closed before the whole response was sent. */
  aborted: boolean;
}

interface SocketCounts {
  read: number;
  written: number;
}

/**
 * Measures every request at the Node level, where the last byte of a streamed download is
 * seen (the app has answered long before). Bytes are socket counter deltas since the previous
 * response on the same keep-alive connection, so nothing wraps the body streams.
 */
export class RequestMeasure implements RequestObserver {
  readonly #tags = new WeakMap<Request, RequestTags>();
  readonly #sockets = new WeakMap<object, SocketCounts>();
  readonly #onRecord: (record: RequestRecord) => void;

  constructor(onRecord: (record: RequestRecord) => void) {
    this.#onRecord = onRecord;
  }

  tag(request: Request, tags: RequestTags): void {
    const known = this.#tags.get(request);
    if (known) Object.assign(known, tags);
  }

  /** Wraps the innermost fetch: the Request it sees is the one the app gets. */
  wrap(fetch: Fetch): Fetch {
    return (req, env) => {
      const { incoming, outgoing } = env;
      const time = Date.now();
      const t0 = performance.now();
      const socket = incoming.socket;
      const before = this.#sockets.get(socket) ?? { read: 0, written: 0 };
      const tags: RequestTags = { route: 'unmatched', client: undefined };
      this.#tags.set(req, tags);
      const url = incoming.url ?? '/';
      const query = url.indexOf('?');
      outgoing.once('close', () => {
        const now = { read: socket.bytesRead, written: socket.bytesWritten };
        this.#sockets.set(socket, now);
        this.#onRecord({
          time,
          method: req.method,
          path: query < 0 ? url : url.slice(0, query),
          route: tags.route,
          status: outgoing.statusCode,
          bytesIn: now.read - before.read,
          bytesOut: now.written - before.written,
          ms: performance.now() - t0,
          client: tags.client,
          aborted: !outgoing.writableFinished,
        });
      });
      return fetch(req, env);
    };
  }
}
