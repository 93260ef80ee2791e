/**
 * Last-access tracking for the hot/cold policy. Filesystem atime is no use (relatime updates it
 * at most daily), so every download is recorded here: in memory first, then flushed to the
 * catalog in one batch about once a second. A video player seeking or a browser resuming sends a
 * burst of range requests; that burst becomes one write per blob per flush, not one per request.
 * A read of a cold blob also schedules its promotion back to hot.
 */
import type { BlobState, Catalog } from './catalog.js';

export interface AccessTrackerOptions {
  catalog: Pick<Catalog, 'touchBlobs'>;
  clock: () => number;
  /** How long reads gather before one catalog write (default 1000 ms). */
  flushMs?: number;
  /** Told about each read of a blob the catalog had as cold (the promotion dedupes repeats). */
  onColdRead?: (sha256: string) => void;
  log?: (line: string) => void;
}

/** Implements handlers' ReadTracker (structurally: storage/ does not import handlers/). */
export class AccessTracker {
  readonly #o: AccessTrackerOptions;
  #pending = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: AccessTrackerOptions) {
    this.#o = options;
  }

  recordRead(sha256: string, state: BlobState): void {
    if (this.#stopped) return;
    const at = this.#o.clock();
    this.#pending.set(sha256, Math.max(at, this.#pending.get(sha256) ?? 0));
    if (state === 'cold') this.#o.onColdRead?.(sha256);
    this.#arm();
  }

  #arm(): void {
    if (this.#timer || this.#stopped) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#o.flushMs ?? 1000);
    this.#timer.unref();
  }

  /** The latest read of a blob not yet written to the catalog. */
  lastSeen(sha256: string): number | undefined {
    return this.#pending.get(sha256);
  }

  /** Number of blobs with reads waiting for the next flush. */
  get pendingCount(): number {
    return this.#pending.size;
  }

  /** Writes the gathered reads now (flushes run one after another, never concurrently). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.size === 0) return;
      const batch = this.#pending;
      this.#pending = new Map();
      try {
        await this.#o.catalog.touchBlobs(batch);
      } catch (err) {
        // Kept for the next flush: losing access times would make read files look cold.
        for (const [sha, at] of batch) this.#pending.set(sha, Math.max(at, this.#pending.get(sha) ?? 0));
        this.#o.log?.(`access tracking: writing ${batch.size} access time(s) failed, retrying: ${(err as Error).message}`);
        this.#arm();
      }
    });
    return this.#flushing;
  }

  /** Final flush; later reads are ignored. Call before the catalog closes. */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }
}
