/**
 * The catalog: which files exist, which blob each points at, who may log in, uploads in
 * progress. Implementations: storage/sqlite-catalog.ts (Drizzle over better-sqlite3). Methods
 * are async so that a networked database can implement the same interface.
 */

export interface ClientRecord {
  name: string;
  tokenId: string;
  tokenHash: string;
  admin: boolean;
  createdAt: number;
  revokedAt: number | null;
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
}

/** A file with the state of its blob, as listings show it. */
export interface FileEntry extends FileRecord {
  state: BlobState;
  codec: string | null;
  storedSize: number;
  lastAccess: number;
}

export interface PutFileInput {
  path: string;
  sha256: string;
  size: number;
  mtime: number | null;
  now: number;
}

export interface PutFileResult {
  created: boolean;
  entry: FileEntry;
  /** The blob the path pointed at before, when nothing references it any more. */
  orphan: string | null;
}

export interface ListFilesQuery {
  /** Only paths starting with this string (a raw prefix, not necessarily a folder). */
  prefix: string;
  limit: number;
  /** Exclusive: the last path of the previous page. */
  after?: string;
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

export interface Catalog {
  // --- clients ---
  addClient(client: ClientRecord): Promise<void>;
  getClient(name: string): Promise<ClientRecord | undefined>;
  getClientByTokenId(tokenId: string): Promise<ClientRecord | undefined>;
  listClients(): Promise<ClientRecord[]>;
  /** Returns false when there is no such active client. */
  revokeClient(name: string, now: number): Promise<boolean>;

  // --- files ---
  getFile(path: string): Promise<FileEntry | undefined>;
  /** Records `path` -> blob (creating the blob row if new) in one transaction. */
  putFile(input: PutFileInput): Promise<PutFileResult>;
  /** Returns null when there was no such file; otherwise the orphaned blob, if any. */
  deleteFile(path: string): Promise<{ orphan: string | null } | null>;
  listFiles(query: ListFilesQuery): Promise<FileEntry[]>;
  listDir(query: ListDirQuery): Promise<DirListing>;
  /** True when `dir` is a folder holding at least one file below it. */
  dirExists(dir: string): Promise<boolean>;
  /** Whether a file of `namespace` references this content. */
  namespaceHasBlob(namespace: string, sha256: string): Promise<boolean>;
  /** Stats over everything, or one namespace. */
  stats(namespace?: string): Promise<Stats>;

  // --- blobs ---
  getBlob(sha256: string): Promise<BlobRecord | undefined>;
  blobRefCount(sha256: string): Promise<number>;
  /** Deletes the blob row if no file references it; returns whether it did. */
  deleteBlobIfUnreferenced(sha256: string): Promise<boolean>;
  /** Records reads, batched by the caller: sha256 -> time of the latest read. */
  touchBlobs(accesses: ReadonlyMap<string, number>): Promise<void>;
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

  close(): Promise<void>;
}
