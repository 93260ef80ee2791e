import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Open connections from one address (pure counting, for tests). */
export class ConnectionCounter {
  readonly #open = new Map<string, number>();
  #total = 0;
  #peak = 0;
  #refused = 0;

  constructor(readonly maxPerAddress: number) {}

  /** Counts a new connection; false (and not counted) when its address is at the limit. */
  admit(address: string): boolean {
    const n = this.#open.get(address) ?? 0;
    if (n >= this.maxPerAddress) {
      this.#refused++;
      return false;
    }
    this.#open.set(address, n + 1);
    this.#total++;
    this.#peak = Math.max(this.#peak, this.#total);
    return true;
  }

  release(address: string): void {
    const n = (this.#open.get(address) ?? 0) - 1;
    if (n > 0) this.#open.set(address, n);
    else this.#open.delete(address);
    this.#total = Math.max(0, this.#total - 1);
  }

  /** Connections open now, the most open at once since start, and those refused at the cap. */
  get totals(): { open: number; peak: number; refused: number } {
    return { open: this.#total, peak: this.#peak, refused: this.#refused };
  }

  /** Addresses with open connections (bounded by the connections themselves). */
  get addresses(): number {
    return this.#open.size;
  }
}

const REFUSAL_BODY = JSON.stringify({ error: 'too many open connections from your address: close some and retry' });
const REFUSAL =
  'HTTP/1.1 429 Too Many Requests\r\nContent-Type: application/json\r\nRetry-After: 5\r\nCache-Control: no-store\r\n' +
  `Connection: close\r\nContent-Length: ${Buffer.byteLength(REFUSAL_BODY)}\r\n\r\n${REFUSAL_BODY}`;

/**
 * Caps the connections one remote address holds open, so that one host opening thousands of
 * idle connections cannot starve everybody else. A connection past the cap gets a 429 and is
 * closed before any request of it is read.
 */
export function limitConnectionsPerAddress(server: Server, maxPerAddress: number): ConnectionCounter {
  const counter = new ConnectionCounter(maxPerAddress);
  server.on('connection', (socket: Socket) => {
    const address = socket.remoteAddress ?? 'unknown';
    if (!counter.admit(address)) {
      socket.end(REFUSAL);
      socket.destroySoon();
      return;
    }
    socket.once('close', () => counter.release(address));
  });
  return counter;
}
