import type { KeyedMutex } from '../../storage/locks/keyed-mutex.js';

/** Key of an upload in the shared KeyedMutex (blob keys are hex, so they never collide). */
export function uploadLockKey(id: string): string {
  return `upload:${id}`;
}

/**
 * One request at a time per upload, and the newest wins: a client that resumes after a broken
 * connection must not wait for the server to notice that the old PATCH is dead. A request asks
 * the current holder to stop (its body is cut off, the bytes received so far are kept and
 * recorded), then runs. Requests never interleave, so the recorded offset always matches the
 * stored bytes. The expiry job uses the same mutex key without interrupting anyone.
 */
export class UploadGate {
  readonly #holders = new Map<string, AbortController>();

  constructor(readonly locks: KeyedMutex) {}

  async run<T>(id: string, work: (takenOver: AbortSignal) => Promise<T>): Promise<T> {
    this.#holders.get(id)?.abort();
    return this.locks.run(uploadLockKey(id), async () => {
      const mine = new AbortController();
      this.#holders.set(id, mine);
      try {
        return await work(mine.signal);
      } finally {
        if (this.#holders.get(id) === mine) this.#holders.delete(id);
      }
    });
  }
}
