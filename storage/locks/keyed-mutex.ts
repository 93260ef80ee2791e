/**
 * Serialises async work per key (a blob's SHA-256) inside one process: committing a blob and
 * recording a reference to it must not interleave with deleting its last reference, or with the
 * sweeper swapping its stored form.
 */
export class KeyedMutex {
  readonly #tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.#queue(key, () => this.guard([key], work));
  }

  /**
   * Runs `work` holding every key at once (a batch commit). Keys are taken in sorted order, so
   * two callers holding several keys never wait on each other in a circle.
   */
  runAll<T>(keys: readonly string[], work: () => Promise<T>): Promise<T> {
    const sorted = [...new Set(keys)].sort();
    const from = (i: number): Promise<T> => {
      const key = sorted[i];
      return key === undefined ? this.guard(sorted, work) : this.#queue(key, () => from(i + 1));
    };
    return from(0);
  }

  /** Runs `work` once this process holds `keys`: where other processes must be kept out too, here. */
  protected guard<T>(_keys: readonly string[], work: () => Promise<T>): Promise<T> {
    return work();
  }

  async #queue<T>(key: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#tails.get(key) ?? Promise.resolve();
    const current = previous.then(work, work);
    const tail = current.then(
      () => undefined,
      () => undefined,
    );
    this.#tails.set(key, tail);
    try {
      return await current;
    } finally {
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }

  /** Number of keys with work queued or running (for tests and diagnostics). */
  get size(): number {
    return this.#tails.size;
  }
}
