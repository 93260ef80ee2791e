/**
 * Last-access tracking for the hot/cold policy. Filesystem atime is no use (relatime updates it
 * at most daily), so every download is recorded here: in memory first, then flushed to the
 * catalog in one batch about once a second. A video player seeking or a browser resuming sends a
 * burst of range requests; that burst becomes one write per blob per flush, not one per request.
 * A read of a cold blob also schedules its promotion back to hot.
 *
 * Two clocks per read: the blob's (any path's reads: what the sweeper goes by) and the file's
 * version's (reads through that path only: what its owner is shown). Content is shared across
 * namespaces, so showing the blob's would tell one client when another reads the same bytes.
 */
import type { BlobState, Catalog } from '../catalog/catalog.js';

/** One download: the content, its stored state as the catalog had it, and the file version read. */
export interface FileRead {
  sha256: string;
  state: BlobState;
  version: string;
}

export interface AccessTrackerOptions {
  catalog: Pick<Catalog, 'touchBlobs' | 'touchVersions'>;
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
  #pendingVersions = new Map<string, number>();
  #timer: NodeJS.Timeout | undefined;
  #flushing: Promise<void> = Promise.resolve();
  #stopped = false;

  constructor(options: AccessTrackerOptions) {
    this.#o = options;
  }

  recordRead(read: FileRead): void {
    if (this.#stopped) return;
    const at = this.#o.clock();
    keepLatest(this.#pending, read.sha256, at);
    keepLatest(this.#pendingVersions, read.version, at);
    if (read.state === 'cold') this.#o.onColdRead?.(read.sha256);
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

  /** Number of blobs and versions with reads waiting for the next flush. */
  get pendingCount(): number {
    return this.#pending.size + this.#pendingVersions.size;
  }

  /** Writes the gathered reads now (flushes run one after another, never concurrently). */
  flush(): Promise<void> {
    this.#flushing = this.#flushing.then(async () => {
      if (this.#pending.size === 0 && this.#pendingVersions.size === 0) return;
      let blobs = this.#pending;
      let versions = this.#pendingVersions;
      this.#pending = new Map();
      this.#pendingVersions = new Map();
      try {
        if (blobs.size) await this.#o.catalog.touchBlobs(blobs);
        blobs = new Map();
        if (versions.size) await this.#o.catalog.touchVersions(versions);
      } catch (err) {
        // Kept for the next flush: losing access times would make read files look cold.
        for (const [sha, at] of blobs) keepLatest(this.#pending, sha, at);
        for (const [v, at] of versions) keepLatest(this.#pendingVersions, v, at);
        this.#o.log?.(`access tracking: writing ${blobs.size + versions.size} access time(s) failed, retrying: ${(err as Error).message}`);
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

function keepLatest(map: Map<string, number>, key: string, at: number): void {
  map.set(key, Math.max(at, map.get(key) ?? 0));
}
