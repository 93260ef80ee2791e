import type { Catalog } from '../catalog/catalog.js';

export interface SeenTrackerOptions {
  catalog: Pick<Catalog, 'touchClients'>;
  clock: () => number;
  /** At most one catalog write per client this often (default 60 s): "last seen" is that exact. */
  intervalMs?: number;
  log?: (line: string) => void;
}

/**
 * "Last seen" of each client for the health view. A backup sends thousands of requests; the
 * catalog hears about a client at most once per interval, on the first request after it. No
 * timer: it works the same in a Lambda that freezes between requests.
 */
export class SeenTracker {
  readonly #o: SeenTrackerOptions;
  readonly #written = new Map<string, number>();

  constructor(options: SeenTrackerOptions) {
    this.#o = options;
  }

  /** Implements handlers' SeenRecorder (structurally: storage/ does not import handlers/). */
  async seen(name: string): Promise<void> {
    const now = this.#o.clock();
    const last = this.#written.get(name);
    if (last !== undefined && now - last < (this.#o.intervalMs ?? 60_000)) return;
    this.#written.set(name, now);
    try {
      await this.#o.catalog.touchClients(new Map([[name, now]]));
    } catch (err) {
      // Not worth failing a request for: the next one tries again.
      if (this.#written.get(name) === now) this.#written.delete(name);
      this.#o.log?.(`last seen of ${name}: not recorded (${(err as Error).message})`);
    }
  }
}
