import { sql } from 'drizzle-orm';
import { index, integer, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/** A backup client: one namespace, one token. Only a hash of the token is kept. */
export const clients = sqliteTable('clients', {
  name: text('name').primaryKey(),
  /** Public half of the token, used to find the row for a Bearer token. */
  tokenId: text('token_id').notNull().unique(),
  /** SHA-256 (hex) of the whole token. */
  tokenHash: text('token_hash').notNull(),
  admin: integer('admin', { mode: 'boolean' }).notNull().default(false),
  createdAt: integer('created_at').notNull(),
  revokedAt: integer('revoked_at'),
  /** Most bytes the namespace may hold, current files and history together; null: no limit. */
  quotaBytes: integer('quota_bytes'),
  /**
   * Sizes of every content version of the namespace (what the quota counts), kept by each write
   * that adds or removes versions so that a quota check reads one row instead of summing.
   */
  usedBytes: integer('used_bytes').notNull().default(0),
  /** Server time of its latest authenticated request, written at most once a minute (storage/clients/seen-tracker.ts). */
  lastSeen: integer('last_seen'),
});

/** Content-addressed blobs: one row per distinct content, whatever its paths. */
export const blobs = sqliteTable(
  'blobs',
  {
    sha256: text('sha256').primaryKey(),
    size: integer('size').notNull(),
    /** 'hot' = stored plain, 'cold' = stored compressed with `codec`. */
    state: text('state', { enum: ['hot', 'cold'] }).notNull().default('hot'),
    codec: text('codec'),
    storedSize: integer('stored_size').notNull(),
    /** Compression was tried and did not pay off: never tried again. */
    incompressible: integer('incompressible', { mode: 'boolean' }).notNull().default(false),
    lastAccess: integer('last_access').notNull(),
    createdAt: integer('created_at').notNull(),
  },
  (t) => [index('blobs_state_access').on(t.state, t.lastAccess)],
);

/** A file is a path in a namespace pointing at a blob. `path` includes the namespace. */
export const files = sqliteTable(
  'files',
  {
    path: text('path').primaryKey(),
    namespace: text('namespace').notNull(),
    /** Parent folder's full path ('alice' for 'alice/a.txt'). */
    dir: text('dir').notNull(),
    name: text('name').notNull(),
    sha256: text('sha256')
      .notNull()
      .references(() => blobs.sha256),
    size: integer('size').notNull(),
    /** The client's modification time (ms since epoch), when it sent one. */
    mtime: integer('mtime'),
    uploadedAt: integer('uploaded_at').notNull(),
    /** The version (versions.id) this row shows: the path's newest. */
    versionId: integer('version_id').notNull().default(0),
  },
  (t) => [
    index('files_dir_name').on(t.dir, t.name),
    index('files_sha').on(t.sha256),
    index('files_ns_sha').on(t.namespace, t.sha256),
    // Folder listings sorted by size or date page through these without sorting the folder.
    // The mtime expression must match listDir's exactly; it avoids a comma because drizzle-kit
    // splits index columns on commas.
    index('files_dir_size').on(t.dir, t.size, t.name),
    index('files_dir_mtime').on(t.dir, sql`case when ${t.mtime} is null then ${t.uploadedAt} else ${t.mtime} end`, t.name),
    index('files_dir_uploaded').on(t.dir, t.uploadedAt, t.name),
  ],
);

/**
 * The history: one row per change of a path, never updated but for its read time. A content
 * version points at a blob; a deletion (tombstone) has no blob. The newest row of a path is its
 * current state (`files` holds it when it is content, `trash` when it is a deletion). Only
 * retention and the admin's purge remove rows.
 */
export const versions = sqliteTable(
  'versions',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    path: text('path').notNull(),
    namespace: text('namespace').notNull(),
    /** null: a deletion. */
    sha256: text('sha256').references(() => blobs.sha256),
    size: integer('size').notNull(),
    mtime: integer('mtime'),
    /** Server time; never earlier than the path's previous version (so id and time agree). */
    uploadedAt: integer('uploaded_at').notNull(),
    /**
     * Latest download of this version through its own path (null: none since the upload). What
     * the file's owner sees as its last access; blobs.last_access (any path's read) drives the
     * sweeper and is never shown to clients, as it would tell one namespace of another's reads.
     */
    readAt: integer('read_at'),
  },
  (t) => [
    index('versions_path_time').on(t.path, t.uploadedAt, t.id),
    index('versions_sha').on(t.sha256),
    index('versions_ns_sha').on(t.namespace, t.sha256),
    index('versions_ns_time').on(t.namespace, t.uploadedAt),
  ],
);

/** Paths whose newest version is a deletion: the trash. */
export const trash = sqliteTable('trash', {
  path: text('path').primaryKey(),
  namespace: text('namespace').notNull(),
  /** The deletion's version id. */
  versionId: integer('version_id').notNull(),
  /** The last content version before the deletion. */
  lastVersionId: integer('last_version_id').notNull(),
  deletedAt: integer('deleted_at').notNull(),
});

/** Namespaces whose pruning is stopped by the ransomware guard (until an admin resumes it). */
export const pruneHolds = sqliteTable('prune_holds', {
  namespace: text('namespace').primaryKey(),
  /** When the guard stopped pruning; null once resumed. */
  heldSince: integer('held_since'),
  reason: text('reason').notNull().default(''),
  /** Changes before this time no longer count for the guard (set by resume-prune). */
  resumedAt: integer('resumed_at'),
});

/** Every folder that holds at least one file below it, so listings never scan all files. */
export const dirs = sqliteTable(
  'dirs',
  {
    path: text('path').primaryKey(),
    parent: text('parent').notNull(),
    name: text('name').notNull(),
  },
  (t) => [index('dirs_parent_name').on(t.parent, t.name)],
);

/** Resumable (tus) uploads in progress. */
export const uploads = sqliteTable(
  'uploads',
  {
    id: text('id').primaryKey(),
    owner: text('owner').notNull(),
    path: text('path').notNull(),
    length: integer('length').notNull(),
    offset: integer('offset').notNull().default(0),
    sha256: text('sha256'),
    mtime: integer('mtime'),
    /** The raw Upload-Metadata header, echoed back on HEAD. */
    metadata: text('metadata').notNull().default(''),
    createdAt: integer('created_at').notNull(),
    expiresAt: integer('expires_at').notNull(),
  },
  (t) => [index('uploads_expires').on(t.expiresAt)],
);


/**
 * Backup roots: the remote folder each source (a folder on one computer) backs up into, so a
 * second folder of the same name is refused instead of overwriting the first one's files.
 * Roots of one namespace never nest.
 */
export const roots = sqliteTable(
  'roots',
  {
    /** Full path of the remote folder, namespace first ('alice/docs'; 'alice' for the whole namespace). */
    path: text('path').primaryKey(),
    namespace: text('namespace').notNull(),
    /** Who writes here: a hash of the host name and the absolute folder (handlers/api/roots.ts). */
    sourceId: text('source_id').notNull(),
    host: text('host').notNull(),
    folder: text('folder').notNull(),
    createdAt: integer('created_at').notNull(),
    /** When the current source claimed it (later than created_at after an adopt). */
    claimedAt: integer('claimed_at').notNull(),
    lastSeen: integer('last_seen').notNull(),
  },
  (t) => [index('roots_namespace').on(t.namespace, t.path)],
);

/**
 * Backup passes as clients report them (POST /api/passes), for the admin's health view: who
 * backed up when. Only the newest passes of each namespace are kept (storage/catalog/sql-catalog.ts).
 */
export const passes = sqliteTable(
  'passes',
  {
    id: integer('id').primaryKey({ autoIncrement: true }),
    namespace: text('namespace').notNull(),
    /** The remote folder the pass backed up into ('alice/docs'). */
    root: text('root').notNull(),
    host: text('host').notNull().default(''),
    folder: text('folder').notNull().default(''),
    /** The client's clock. */
    startedAt: integer('started_at').notNull(),
    endedAt: integer('ended_at').notNull(),
    /** Server time: what staleness is measured on (a client's wrong clock cannot hide it). */
    receivedAt: integer('received_at').notNull(),
    scanned: integer('scanned').notNull(),
    uploaded: integer('uploaded').notNull(),
    failed: integer('failed').notNull(),
    deleted: integer('deleted').notNull(),
    bytes: integer('bytes').notNull(),
    /** Cut short (Ctrl+C): not a successful backup, whatever failed says. */
    stopped: integer('stopped', { mode: 'boolean' }).notNull().default(false),
  },
  (t) => [index('passes_ns_root').on(t.namespace, t.root, t.id)],
);
