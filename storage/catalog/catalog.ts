import type { QuotaExceededError } from '../../core/errors.js';

/**
 * The catalog: which files exist, which blob each points at, who may log in, uploads in
 * progress. Implementations: storage/catalog/sqlite/sqlite-catalog.ts (Drizzle over better-sqlite3). Methods
 * are async so that a networked database can implement the same interface.
 */

export interface ClientRecord {
  name: string;
  tokenId: string;
  tokenHash: string;
  admin: boolean;
  createdAt: number;
  revokedAt: number | null;
  /** Most bytes the namespace may hold (current files and history); null: no limit. */
  quotaBytes: number | null;
  /** Server time of its latest authenticated request (to about a minute); null: never seen. */
  lastSeen?: number | null;
}

/** A namespace's quota and what counts against it: the sizes of all its content versions. */
export interface QuotaUsage {
  quotaBytes: number | null;
  usedBytes: number;
}

export type BlobState = 'hot' | 'cold';

export interface BlobRecord {
  sha256: string;
  size: number;
  state: BlobState;
  codec: string | null;
  storedSize: number;
  incompressible: boolean;
  lastAccess: number;
  createdAt: number;
}

export interface FileRecord {
  /** Full path including the namespace: 'alice/docs/a.txt'. */
  path: string;
  namespace: string;
  dir: string;
  name: string;
  sha256: string;
  size: number;
  mtime: number | null;
  uploadedAt: number;
  /** The version this entry shows (opaque to clients; the versions row id). */
  version: string;
}

/** A file with the state of its blob, as listings show it. */
export interface FileEntry extends FileRecord {
  state: BlobState;
  codec: string | null;
  storedSize: number;
  /**
   * This file's own last access: the latest download of this version through its path, else its
   * upload. Never the blob's, which reads of the same content in other namespaces move too.
   */
  lastAccess: number;
}

export interface PutFileInput {
  path: string;
  sha256: string;
  size: number;
  mtime: number | null;
  now: number;
  /**
   * 'enforce' (the default): a new version that would take the namespace past its quota is
   * refused with QuotaExceededError. 'exempt': restores, which bring back content already held.
   */
  quota?: 'enforce' | 'exempt';
}

export interface PutFileResult {
  /** The path had no current content before (new, or back from the trash). */
  created: boolean;
  /** False when the path already held this content and mtime: no version was added. */
  changed: boolean;
  entry: FileEntry;
}

/** One entry of a path's history: content, or a deletion (sha256 null). */
export interface VersionRecord {
  version: string;
  path: string;
  sha256: string | null;
  size: number;
  mtime: number | null;
  uploadedAt: number;
  deleted: boolean;
}

/** A path in the trash: its newest version is a deletion. */
export interface DeletedEntry {
  path: string;
  deletedAt: number;
  /** The deletion itself. */
  deletedVersion: string;
  /** The last content before the deletion (what a restore brings back). */
  version: string;
  sha256: string;
  size: number;
  mtime: number | null;
  uploadedAt: number;
}

export interface ListVersionsQuery {
  path: string;
  limit: number;
  /** Exclusive: versions older than this one (the last of the previous page). */
  before?: string;
}

/** Prefix paging, as ListFilesQuery, over paths with any history. */
export interface HistoryPage {
  path: string;
  versions: VersionRecord[];
}

export interface PruneHold {
  namespace: string;
  heldSince: number | null;
  reason: string;
  resumedAt: number | null;
}

/** Changes in a namespace since a time, for the ransomware guard. */
export interface RecentChanges {
  /** Distinct paths whose content was replaced or deleted. */
  changed: number;
  /** Paths that existed: current files plus those deleted in the window. */
  total: number;
}

export interface ListFilesQuery {
  /** Only paths starting with this string (a raw prefix, not necessarily a folder). */
  prefix: string;
  limit: number;
  /** Exclusive: the last path of the previous page. */
  after?: string;
  /** The tree as it was at this time (ms since the epoch): each path's newest version uploaded at or before it. */
  at?: number;
}

export type DirSort = 'name' | 'size' | 'mtime' | 'uploaded';

export interface ListDirQuery {
  /** Full path of the folder ('alice/docs'); '' lists the namespaces. */
  dir: string;
  limit: number;
  sort?: DirSort;
  descending?: boolean;
  /** Opaque cursor from the previous page. */
  cursor?: string;
  /** Only folders and files whose name contains this text (case-insensitive for ASCII). */
  q?: string;
}

export interface DirListing {
  /**
   * Sub-folders (names only) on this page. Folders come before files and are paged by the same
   * cursor and limit; they sort by name (descending only when sorting by name descending).
   */
  folders: string[];
  files: FileEntry[];
  nextCursor: string | null;
}

export interface Stats {
  files: number;
  /** Every version, current and past (deletions included). */
  versions: number;
  /** Sizes of the content versions that are not current (what the history holds). */
  historyBytes: number;
  /** Current plus history bytes: what a quota counts. */
  usedBytes: number;
  /** The namespace's quota (null: none, or stats over everything). */
  quotaBytes: number | null;
  /** Paths in the trash. */
  deleted: number;
  blobs: number;
  /** Sum of the sizes of all files (what the users backed up). */
  logicalBytes: number;
  /** Sum of the sizes of distinct blobs, plain. */
  blobBytes: number;
  /** What the blobs take in storage (compressed where cold). */
  storedBytes: number;
  hot: number;
  cold: number;
}

export interface CompressionCandidatesQuery {
  cutoff: number;
  minSize: number;
  limit: number;
  /** Exclusive: the last row of the previous page. */
  after?: Pick<BlobRecord, 'lastAccess' | 'sha256'>;
}

export interface UploadRecord {
  id: string;
  owner: string;
  path: string;
  length: number;
  offset: number;
  sha256: string | null;
  mtime: number | null;
  metadata: string;
  createdAt: number;
  expiresAt: number;
}

/** A backup root: the remote folder one source (a folder on one computer) backs up into. */
export interface RootRecord {
  /** Full path, namespace first ('alice/docs'). */
  path: string;
  namespace: string;
  sourceId: string;
  host: string;
  folder: string;
  createdAt: number;
  /** When the current source claimed it (an adopt moves it). */
  claimedAt: number;
  lastSeen: number;
}

export interface ClaimRootInput {
  path: string;
  sourceId: string;
  host: string;
  folder: string;
  /** Take the root over from another source (a new computer); never a nested one. */
  adopt: boolean;
  now: number;
}

/**
 * `created`: the root was free; `same`: it is this source's already; `adopted`: taken over
 * (`previous` held it); `taken`: another source holds it; `nested`: it lies inside or around
 * another root of the namespace (`other`), which no adopt overrides.
 */
export type ClaimRootResult =
  | { outcome: 'created' | 'same'; root: RootRecord }
  | { outcome: 'adopted'; root: RootRecord; previous: RootRecord }
  | { outcome: 'taken' | 'nested'; other: RootRecord };

/** One backup pass as its client reported it (POST /api/passes). */
export interface PassInput {
  namespace: string;
  /** The remote folder it backed up into, namespace first ('alice/docs'). */
  root: string;
  host: string;
  folder: string;
  /** The client's clock, ms since the epoch. */
  startedAt: number;
  endedAt: number;
  /** Server time. */
  receivedAt: number;
  /** Files looked at. */
  scanned: number;
  /** Files that reached the server (sent or linked). */
  uploaded: number;
  failed: number;
  /** Deletions sent. */
  deleted: number;
  /** Sizes of the files that reached the server. */
  bytes: number;
  /** Cut short (Ctrl+C). */
  stopped: boolean;
}

export interface PassRecord extends PassInput {
  id: string;
}

/** The newest pass of one remote folder, and its newest successful one (no failures, not stopped). */
export interface SourcePasses {
  root: string;
  last: PassRecord;
  lastSuccess: PassRecord | null;
}

/** Passes kept per namespace; older ones go as new ones come (the newest successful one of each root stays). */
export const PASSES_KEPT = 100;

export interface Catalog {
  // --- clients ---
  addClient(client: ClientRecord): Promise<void>;
  getClient(name: string): Promise<ClientRecord | undefined>;
  getClientByTokenId(tokenId: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  /** Returns false when there is no such active client. */
  revokeClient(name: string, now: number): Promise<boolean>;
  /** Sets (null: removes) a client's quota; false when there is no such client. */
  setQuota(name: string, quotaBytes: number | null): Promise<boolean>;
  /** The namespace's quota and usage (no client: no quota, nothing used). */
  quotaUsage(namespace: string): Promise<QuotaUsage>;
  /** Records latest requests, batched by the caller: name -> time (a later time wins). */
  touchClients(seen: ReadonlyMap<string, number>): Promise<void>;

  // --- backup passes ---
  /** Records a pass; keeps the namespace's newest PASSES_KEPT (and each root's newest successful one). */
  recordPass(pass: PassInput): Promise<PassRecord>;
  /** Newest first; `before` is exclusive (the last id of the previous page). */
  listPasses(query: { namespace?: string; limit: number; before?: string }): Promise<PassRecord[]>;
  /** Per remote folder of the namespace, by root. */
  sourcePasses(namespace: string): Promise<SourcePasses[]>;
  /** Per namespace, when its newest successful pass was received (for the metrics' backup age). */
  lastSuccessfulPasses(): Promise<Map<string, number>>;

  // --- files ---
  getFile(path: string): Promise<FileEntry | undefined>;
  /**
   * Records `path` -> blob (creating the blob row if new) in one transaction; the quota is
   * checked inside it, so two writes never both pass a quota only one of them fits.
   */
  putFile(input: PutFileInput): Promise<PutFileResult>;
  /**
   * Records many paths in one transaction (one durable commit for a batch of small files).
   * Results in input order; each path at most once. A path past its namespace's quota is
   * refused alone (its QuotaExceededError in its place, nothing of it written); any other
   * failure rolls the whole batch back.
   */
  putFiles(inputs: readonly PutFileInput[]): Promise<(PutFileResult | QuotaExceededError)[]>;
  /** Adds a deletion (tombstone) to the path's history; false when there was no such file. */
  deleteFile(path: string, now: number): Promise<boolean>;
  listFiles(query: ListFilesQuery): Promise<FileEntry[]>;
  /** Current files below `prefix` (after `after`), path and content hash only, in path order: for the listing digest. */
  listPathHashes(query: { prefix: string; after?: string; limit: number }): Promise<{ path: string; sha256: string }[]>;

  // --- history ---
  /** Newest first. */
  listVersions(query: ListVersionsQuery): Promise<VersionRecord[]>;
  /** A content version of `path` with its blob's state; undefined for unknown ids and deletions. */
  getVersion(path: string, version: string): Promise<FileEntry | undefined>;
  /** The trash under a prefix, by path. */
  listDeleted(query: { prefix: string; limit: number; after?: string }): Promise<DeletedEntry[]>;
  /** Paths with more than one version (the only ones retention can shorten), oldest version first. */
  listHistory(query: { after?: string; limit: number }): Promise<HistoryPage[]>;
  /**
   * Removes versions (never a path's current content: such ids are skipped) and, when all of
   * a deleted path's versions go, its trash row. Returns blobs no version references any more.
   */
  deleteVersions(path: string, versions: string[]): Promise<{ removed: number; orphans: string[] }>;
  /** Removes every version of the paths under `prefix` (or of the one path): the admin's purge. */
  purge(pathOrPrefix: string): Promise<{ paths: number; versions: number; orphans: string[] }>;
  /**
   * A blob whose bytes are lost (fsck --repair): its versions go; paths whose current content
   * it was get a deletion. Returns those paths.
   */
  dropLostBlob(sha256: string, now: number): Promise<string[]>;
  recentChanges(namespace: string, since: number): Promise<RecentChanges>;
  getPruneHold(namespace: string): Promise<PruneHold | undefined>;
  listPruneHolds(): Promise<PruneHold[]>;
  holdPruning(namespace: string, now: number, reason: string): Promise<void>;
  /** Resumes pruning; changes before `now` no longer count for the guard. False when not held. */
  resumePruning(namespace: string, now: number): Promise<boolean>;
  listDir(query: ListDirQuery): Promise<DirListing>;
  /** True when `dir` is a folder holding at least one file below it. */
  dirExists(dir: string): Promise<boolean>;
  /** Whether a version (current or past) of `namespace` references this content. */
  namespaceHasBlob(namespace: string, sha256: string): Promise<boolean>;
  /** Stats over everything, or one namespace. */
  stats(namespace?: string): Promise<Stats>;

  // --- blobs ---
  getBlob(sha256: string): Promise<BlobRecord | undefined>;
  /** getBlob for many at once (a batch's contents): the rows found, by SHA-256. */
  getBlobs(sha256s: readonly string[]): Promise<Map<string, BlobRecord>>;
  /** Versions (current or past) that reference the blob. */
  blobRefCount(sha256: string): Promise<number>;
  /** Deletes the blob row if no version references it; returns whether it did. */
  deleteBlobIfUnreferenced(sha256: string): Promise<boolean>;
  /** Records reads, batched by the caller: sha256 -> time of the latest read. */
  touchBlobs(accesses: ReadonlyMap<string, number>): Promise<void>;
  /** Records reads of files, batched by the caller: version -> time of the latest read through its path. */
  touchVersions(accesses: ReadonlyMap<string, number>): Promise<void>;
  /**
   * A namespace's current files by their own heat: cold when at least `minSize` bytes and last
   * accessed (own reads, else upload) at or before `coldBefore`. What a client is shown instead of
   * the shared blobs' stored forms.
   */
  countFileHeat(namespace: string, coldBefore: number, minSize: number): Promise<{ hot: number; cold: number }>;
  /** Every blob in the catalog, a page at a time (for fsck and the sweeper). */
  listBlobs(query: { after?: string; limit: number }): Promise<BlobRecord[]>;
  updateBlob(sha256: string, change: Partial<Pick<BlobRecord, 'state' | 'codec' | 'storedSize' | 'incompressible' | 'lastAccess'>>): Promise<void>;
  /**
   * Hot blobs the sweeper may compress: not marked incompressible, at least `minSize` bytes, last
   * read at or before `cutoff`; least recently read first, a page at a time.
   */
  listCompressionCandidates(query: CompressionCandidatesQuery): Promise<BlobRecord[]>;

  // --- resumable uploads ---
  createUpload(upload: UploadRecord): Promise<void>;
  getUpload(id: string): Promise<UploadRecord | undefined>;
  /** Records the bytes received so far and, when given, the new expiry (it slides with activity). */
  setUploadOffset(id: string, offset: number, expiresAt?: number): Promise<void>;
  deleteUpload(id: string): Promise<void>;
  listExpiredUploads(now: number, limit: number): Promise<UploadRecord[]>;

  // --- backup roots ---
  /** Claims `path` for a source, in one transaction per namespace (two claims never both win). */
  claimRoot(input: ClaimRootInput): Promise<ClaimRootResult>;
  /** By path; one namespace, or all. */
  listRoots(namespace?: string): Promise<RootRecord[]>;
  /** Forgets a root (its files stay); false when there was none. */
  releaseRoot(path: string): Promise<boolean>;

  close(): Promise<void>;
}
