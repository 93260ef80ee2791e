import type { BlobStore } from '../storage/blobs/blob-store.js';
import type { BlobState, Catalog } from '../storage/catalog/catalog.js';
import type { KeyedMutex } from '../storage/locks/keyed-mutex.js';
import type { SpaceReserve } from '../storage/space/space-reserve.js';

/** What the handlers need from the outside world. Adapters build it; tests build real ones. */
export interface AppDeps {
  blobs: BlobStore;
  catalog: Catalog;
  /** Milliseconds since the epoch. */
  clock: () => number;
  /** Per-blob serialisation of commit / delete / stored-form swaps. */
  locks: KeyedMutex;
  /** Told about every download of a blob (batched access times, promotion of cold blobs). */
  reads?: ReadTracker;
  /** Failed-login limiting; absent means unlimited. */
  loginLimiter?: LoginLimiter;
  config: AppConfig;
  /**
   * The request-target as the client sent it, from the adapter's bindings (`c.env`), before URL
   * parsing resolved `.`/`..`; absent when the runtime does not keep it.
   */
  rawTarget?: (env: unknown) => string | undefined;
  /** Space held back so that deletes work on a full disk (storage/space/space-reserve.ts); absent: none. */
  reserve?: SpaceReserve;
  /** Where the handlers log (one line per event); defaults to console. */
  log?: (line: string) => void;
  /** Told the route pattern and client of every request (access log, metrics); absent: nobody asks. */
  requests?: RequestObserver;
  /** Told about each authenticated request's client ("last seen" in the health view); absent: not tracked. */
  seen?: SeenRecorder;
  /** What `GET /metrics` serves; absent (the Lambda adapter): 404. */
  metrics?: MetricsExposition;
}

/** What only the app knows about a request: the adapter measures bytes and time itself. */
export interface RequestTags {
  /** The pattern of the route that served it (`/files/*`), never the raw path; `unmatched` when none did. */
  route: string;
  /** The authenticated client, if any. */
  client: string | undefined;
}

export interface RequestObserver {
  /** Called once per request, when the app has answered it. */
  tag(request: Request, tags: RequestTags): void;
}

export interface MetricsExposition {
  /** e.g. Prometheus' `text/plain; version=0.0.4; charset=utf-8`. */
  readonly contentType: string;
  /** The exposition text; storage-derived values (catalog sizes) are read now, at scrape time. */
  render(): Promise<string>;
}

export interface AppConfig {
  /** Largest accepted upload in bytes. */
  maxUploadBytes: number;
  /** Incomplete resumable uploads are dropped after this long without activity. */
  uploadExpiryMs: number;
  /** Unfinished resumable uploads one client may hold at once (more: 429). */
  maxOpenUploads: number;
  /** Sum of Upload-Length over one client's unfinished uploads (more: 429). */
  maxReservedUploadBytes: number;
  /** A bearer token that may read `/metrics` (besides admin clients); '' means admins only. */
  metricsToken?: string;
  /** The health view warns about clients without a successful backup for this long; 0: never. */
  staleAfterMs: number;
  /** The sweeper's hot time: a client is shown its own files' heat by it (handlers/files/file-view.ts). */
  hotTimeMs: number;
}

export interface SeenRecorder {
  /** Resolves once recorded (or once it decided not to write now); never rejects. */
  seen(name: string): Promise<void>;
}

export interface ReadTracker {
  /** A download of `version` (a file's content through its path), whose blob the catalog had in `state`. */
  recordRead(read: { sha256: string; state: BlobState; version: string }): void;
}

export interface LoginLimiter {
  /** Throws TooManyRequestsError when `key` failed too often recently. */
  check(key: string): void;
  fail(key: string): void;
  succeed(key: string): void;
}

export const DEFAULT_CONFIG: AppConfig = {
  maxUploadBytes: 1024 ** 4,
  uploadExpiryMs: 24 * 60 * 60 * 1000,
  maxOpenUploads: 100,
  maxReservedUploadBytes: 2 * 1024 ** 4,
  metricsToken: '',
  staleAfterMs: 2 * 24 * 60 * 60 * 1000,
  hotTimeMs: 7 * 24 * 60 * 60 * 1000,
};
