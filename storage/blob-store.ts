/**
 * Where blob bytes live. Blobs are content-addressed: the key is the SHA-256 (lower-case hex) of
 * the plain content. A write goes to a temporary object first and becomes visible under its key
 * only after it is complete and hashed, so a crash never exposes a torn blob.
 *
 * Implementations: storage/disk-blob-store.ts (local disk). Streams are Web streams so that the
 * same handlers run on Node and on a cloud runtime.
 */
export interface TempBlob {
  /** Opaque id of the temporary object. */
  readonly id: string;
  readonly sha256: string;
  readonly size: number;
}

export interface ByteRange {
  /** First byte, inclusive. */
  start: number;
  /** Last byte, inclusive. */
  end: number;
}

export interface WriteOptions {
  /** Refuse (TooLargeError) and discard once more than this many bytes arrive. */
  maxBytes?: number;
  signal?: AbortSignal;
}

export interface BlobLocation {
  /** 'hot': stored plain; 'cold': stored compressed with `codec`. */
  state: 'hot' | 'cold';
  codec: string | null;
}

export interface BlobStore {
  /**
   * Streams `body` into a new temporary object while hashing it. Throws TooLargeError past
   * `maxBytes`, InsufficientStorageError when the disk is full; in every failure the temporary
   * data is already gone.
   */
  writeTemp(body: ReadableStream<Uint8Array> | null, options?: WriteOptions): Promise<TempBlob>;
  /**
   * Makes a temporary object visible under its SHA-256. If that content is already stored, the
   * temporary object is simply dropped. Returns whether new bytes were stored.
   */
  commit(temp: TempBlob): Promise<{ stored: boolean }>;
  /** Drops a temporary object (after a digest mismatch, an error or a lost race). Never throws. */
  discard(temp: TempBlob): Promise<void>;
  /**
   * The plain content of a blob, or a byte range of it. `where` is the catalog's idea of how
   * the blob is stored; implementations may fall back to the other form after a crash.
   */
  read(sha256: string, range?: ByteRange, where?: BlobLocation): Promise<ReadableStream<Uint8Array>>;
  has(sha256: string): Promise<boolean>;
  /** Removes every stored form of a blob. Missing is not an error. */
  delete(sha256: string): Promise<void>;
  /** Removes temporary leftovers of earlier runs. Call at start-up only. */
  cleanupTemp(): Promise<number>;
}
