/**
 * Where blob bytes live. Blobs are content-addressed: the key is the SHA-256 (lower-case hex) of
 * the plain content. A write goes to a temporary object first and becomes visible under its key
 * only after it is complete and hashed, so a crash never exposes a torn blob.
 *
 * Implementations: storage/blobs/disk/disk-blob-store.ts (local disk). Streams are Web streams so that the
 * same handlers run on Node and on a cloud runtime.
 */
export interface TempBlob {
  /** Opaque id of the temporary object. */
  readonly id: string;
  readonly sha256: string;
  readonly size: number;
}

/**
 * What writeTemp reads a body from: a Web stream, or any async iterable of chunks (a batch hands
 * each file's bytes out this way, without building a stream per file).
 */
export type BodySource = ReadableStream<Uint8Array> | AsyncIterable<Uint8Array>;

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
  /**
   * Do not wait for the fsync of the temporary object: `syncTemps` does, or `commit` (which never
   * makes a temp visible before it is durable), so that a batch of small files syncs them side
   * by side instead of waiting for each in turn. Disk: a small body goes to the blob log, whose
   * one fdatasync serves every such temp written meanwhile (storage/blobs/disk/blob-log.ts); a
   * larger one's fsync starts at once on the descriptor it was written through.
   */
  deferSync?: boolean;
}

export interface CommitOptions {
  /** Leave the fsync of the blob's folder to `syncCommits` (a batch syncs its folders together). */
  deferSync?: boolean;
}

export interface AppendOptions extends WriteOptions {
  /** Expected SHA-256 (lower-case hex) of this body alone (tus checksum extension). */
  sha256?: string;
}

export interface ReadOptions {
  /**
   * Whole reads only: hash the content on the way and fail the stream with CorruptBlobError
   * (naming the form read) instead of ending it when it does not match; the last chunk is held
   * back until then, so a reader never gets every byte of a corrupt blob.
   */
  verify?: boolean;
}

/** What the catalog records about a stored blob, for checks of the stored copy. */
export interface KnownBlob {
  where: BlobLocation;
  /** Bytes the form named by `where` takes in storage. */
  storedSize: number;
}

export interface BlobLocation {
  /** 'hot': stored plain; 'cold': stored compressed with `codec`. */
  state: 'hot' | 'cold';
  codec: string | null;
}

export interface BlobStore {
  /** What storage holds, listed for fsck (storage/fsck/fsck-run.ts). */
  readonly inventory: StoreInventory;
  /**
   * Streams `body` into a new temporary object while hashing it. Throws TooLargeError past
   * `maxBytes`, InsufficientStorageError when the disk is full; in every failure the temporary
   * data is already gone.
   */
  writeTemp(body: BodySource | null, options?: WriteOptions): Promise<TempBlob>;
  /**
   * Makes a temporary object visible under its SHA-256. If that content is already stored, the
   * stored copy is checked first (its size always, its whole hash when small; `known` is what the
   * catalog records about it): when it passes, the temporary object is dropped; when it fails, the
   * failing forms are quarantined and the verified temporary object becomes the plain form, and
   * `healed` says what was wrong (see storage/blobs/blob-verify.ts). `stored`: new bytes were stored.
   * Call under the blob's lock.
   */
  commit(temp: TempBlob, known?: KnownBlob, options?: CommitOptions): Promise<{ stored: boolean; healed?: string }>;
  /**
   * Makes temporary objects written with `deferSync` durable, all at once (disk: their fsyncs run
   * side by side, so the filesystem groups them). A no-op where writes are durable anyway (S3).
   */
  syncTemps(temps: readonly TempBlob[]): Promise<void>;
  /** Makes blobs committed with `deferSync` durable, all at once (disk: their folders' fsyncs). */
  syncCommits(sha256s: readonly string[]): Promise<void>;
  /** Drops a temporary object (after a digest mismatch, an error or a lost race). Never throws. */
  discard(temp: TempBlob): Promise<void>;
  /**
   * The plain content of a blob, or a byte range of it. `where` is the catalog's idea of how
   * the blob is stored; implementations may fall back to the other form after a crash.
   */
  read(sha256: string, range?: ByteRange, where?: BlobLocation, options?: ReadOptions): Promise<ReadableStream<Uint8Array>>;
  /**
   * Moves one stored form out of service (disk: `quarantine/`, S3: `quarantine/` keys; kept for
   * inspection, never deleted) if it still fails its hash when read again in full, so that a form
   * repaired meanwhile or a one-off bad read is never moved. Returns whether it moved it. Call under
   * the blob's lock.
   */
  quarantine(sha256: string, where: BlobLocation): Promise<boolean>;
  has(sha256: string): Promise<boolean>;
  /** Removes every stored form of a blob. Missing is not an error. */
  delete(sha256: string): Promise<void>;
  /** Removes temporary leftovers of earlier runs. Call at start-up only. */
  cleanupTemp(): Promise<number>;

  /** Parts of resumable uploads: bytes that arrive over many requests, kept across restarts. */
  readonly parts: UploadParts;
  /**
   * Disk only: the blob log small uploads (a batch's files, a small PUT) are made durable through
   * before their own files are (storage/blobs/disk/blob-log.ts). Start-up replays what a crash left of it
   * (storage/blobs/log-replay.ts). Absent where every write is durable by itself (S3).
   */
  readonly logReplay?: LogReplay;
  /** Disk only: the blob log's segments waiting for their checkpoint, and checkpoints that failed since start (/metrics). */
  logStatus?(): { segments: number; checkpointFailures: number };
  /** Stored forms (hot plain / cold compressed); the swap protocol is in storage/hot-cold/form-swap.ts. */
  readonly forms: BlobForms;
}

/** A blob log's leftovers after a crash, for the start-up replay (storage/blobs/log-replay.ts). */
export interface LogReplay {
  /** Segments an earlier run left (none after a clean stop). */
  leftovers(): Promise<string[]>;
  /** A segment's intact records, in order. */
  records(segment: string): AsyncIterable<{ sha256: string; bytes: Uint8Array }>;
  /** Writes a record's blob as its plain form, durably, over whatever is there. */
  restore(record: { sha256: string; bytes: Uint8Array }): Promise<void>;
  /** Deletes replayed segments once what was put back is durable. */
  retire(segments: readonly string[]): Promise<void>;
}

/** Resumable-upload parts (disk: storage/blobs/disk/disk-upload-parts.ts, S3: storage/blobs/s3/s3-upload-parts.ts). */
export interface UploadParts {
  /** Creates an empty part. `id` is [A-Za-z0-9_-]{1,128}; an existing part is a ConflictError. */
  create(id: string): Promise<void>;
  /**
   * Streams `body` into part `id` starting at exactly `offset` (the size the caller recorded; any
   * bytes beyond it, left by a crash, are dropped first) and resolves with the part's new size.
   * If the body breaks off or `options.signal` aborts, the bytes already written are kept (a
   * resumable upload keeps what arrived) and their size returned. On TooLargeError (past
   * `maxBytes` in this call), ChecksumMismatchError (`sha256` of this body given and wrong),
   * InsufficientStorageError or any other failure, the part is cut back to `offset` and the error
   * thrown. With `sha256` a broken-off body cannot be verified, so it is cut back to `offset` too.
   * NotFoundError when the part does not exist; ConflictError when it is shorter than `offset`.
   */
  append(id: string, offset: number, body: ReadableStream<Uint8Array> | null, options?: AppendOptions): Promise<number>;
  /** Current size of a part in bytes (NotFoundError when missing). */
  size(id: string): Promise<number>;
  /**
   * Hashes the whole part (one streaming pass) and turns it into a temporary object for
   * BlobStore.commit() or discard(); after that the part is no longer available under `id`.
   */
  finish(id: string): Promise<TempBlob>;
  /** Removes a part (termination, expiry). Missing is not an error. */
  delete(id: string): Promise<void>;
}

/** A blob's stored forms (disk: storage/blobs/disk/disk-blob-forms.ts, S3: storage/blobs/s3/s3-blob-forms.ts). */
export interface BlobForms {
  /**
   * Streams the blob's `from` form into a new pending `to` form (compressing or decompressing
   * with the codecs of storage/hot-cold/codec.ts, off the event loop), complete and durable but not yet
   * visible. A plain result is checked against the SHA-256 (CorruptBlobError). NotFoundError when
   * there is no `from` form; on any failure or abort the pending data is already gone.
   */
  convert(sha256: string, from: BlobLocation, to: BlobLocation, options?: { signal?: AbortSignal }): Promise<PendingForm>;
  /** Makes a pending form visible next to the blob's other forms, atomically and durably. */
  install(pending: PendingForm): Promise<void>;
  /** Drops a pending form that will not be installed. Never throws. */
  discard(pending: PendingForm): Promise<void>;
  /** Removes one stored form of a blob. Missing is not an error. */
  delete(sha256: string, where: BlobLocation): Promise<void>;
  /** The forms a blob is stored in right now, with the bytes each takes. */
  list(sha256: string): Promise<StoredForm[]>;
  /**
   * Swap journal: a durable mark, set before a second form is installed and cleared once the old
   * form is gone, so that start-up finds the swaps a crash interrupted without walking every blob.
   */
  beginSwap(sha256: string): Promise<void>;
  endSwap(sha256: string): Promise<void>;
  unfinishedSwaps(): Promise<string[]>;
}

/** A new stored form of a blob, written to temporary storage but not yet visible. */
export interface PendingForm extends BlobLocation {
  /** Opaque id of the temporary object. */
  readonly id: string;
  readonly sha256: string;
  /** Bytes the form takes in storage. */
  readonly storedSize: number;
}

/** One stored form of a blob as it exists in storage. */
export interface StoredForm extends BlobLocation {
  storedSize: number;
}

/** An area of a store that fsck lists. */
export type StoreArea = 'blobs' | 'tmp' | 'parts' | 'quarantine';

/** One thing found in a store's area. */
export interface StoreEntry {
  /** A file path (disk) or an object key (S3): what quarantineEntry and removeEntry take. */
  location: string;
  /** Bytes it takes (a part: the bytes it holds from offset 0). */
  size: number;
  /** Last modification, ms since the epoch. */
  modifiedAt: number;
  /** 'blobs' only: the stored form this is; absent for a stray (anything else found there). */
  form?: { sha256: string } & BlobLocation;
  /** 'parts' only: the upload id. */
  partId?: string;
}

/**
 * A store's contents for fsck, whatever the backend (disk: directory walks; S3: paged
 * ListObjectsV2). Listings stream: a store of millions of blobs is never loaded at once.
 */
export interface StoreInventory {
  /** Everything in one area; 'blobs' in SHA-256 order (a blob's plain form first). */
  list(area: StoreArea): AsyncIterable<StoreEntry>;
  /**
   * SHA-256 and size of exactly one stored form's plain content (no fallback to another form),
   * streamed; `unreadable` when its codec refuses it. NotFoundError when it is not there.
   */
  hash(sha256: string, where: BlobLocation): Promise<{ sha256: string; size: number } | { unreadable: string }>;
  /** Moves a listed entry into quarantine (kept for inspection, never deleted). */
  quarantineEntry(location: string): Promise<void>;
  /** Deletes a listed entry (a temporary object, a part, a stored form). Missing is not an error. */
  removeEntry(location: string): Promise<void>;
}
