import { sql } from 'drizzle-orm';
import { bigint, bigserial, boolean, customType, index, pgTable, text } from 'drizzle-orm/pg-core';

/**
 * The PostgreSQL twin of drizzle/schema.ts (same tables, columns and meaning). Paths and names
 * use the "C" collation: byte order, as SQLite compares them, so listings, cursors and LIKE
 * behave the same on both catalogs whatever the database's locale.
 */
const path = customType<{ data: string }>({ dataType: () => 'text COLLATE "C"' });
/** Milliseconds since the epoch and byte counts outgrow int4. */
const int8 = (name: string) => bigint(name, { mode: 'number' });

/** A backup client: one namespace, one token. Only a hash of the token is kept. */
export const clients = pgTable('clients', {
  name: path('name').primaryKey(),
  tokenId: text('token_id').notNull().unique(),
  tokenHash: text('token_hash').notNull(),
  admin: boolean('admin').notNull().default(false),
  createdAt: int8('created_at').notNull(),
  revokedAt: int8('revoked_at'),
  quotaBytes: int8('quota_bytes'),
  usedBytes: int8('used_bytes').notNull().default(0),
  lastSeen: int8('last_seen'),
});

/** Content-addressed blobs: one row per distinct content, whatever its paths. */
export const blobs = pgTable(
  'blobs',
  {
    sha256: path('sha256').primaryKey(),
    size: int8('size').notNull(),
    state: text('state').$type<'hot' | 'cold'>().notNull().default('hot'),
    codec: text('codec'),
    storedSize: int8('stored_size').notNull(),
    incompressible: boolean('incompressible').notNull().default(false),
    lastAccess: int8('last_access').notNull(),
    createdAt: int8('created_at').notNull(),
  },
  (t) => [index('blobs_state_access').on(t.state, t.lastAccess)],
);

/** A file is a path in a namespace pointing at a blob. `path` includes the namespace. */
export const files = pgTable(
  'files',
  {
    path: path('path').primaryKey(),
    namespace: path('namespace').notNull(),
    dir: path('dir').notNull(),
    name: path('name').notNull(),
    sha256: path('sha256')
      .notNull()
      .references(() => blobs.sha256),
    size: int8('size').notNull(),
    mtime: int8('mtime'),
    uploadedAt: int8('uploaded_at').notNull(),
    versionId: int8('version_id').notNull().default(0),
  },
  (t) => [
    index('files_dir_name').on(t.dir, t.name),
    index('files_sha').on(t.sha256),
    index('files_ns_sha').on(t.namespace, t.sha256),
    // As in SQLite: folder listings sorted by size or date page through these without sorting.
    // PostgreSQL wants an index expression in parentheses; it matches the query's by meaning.
    index('files_dir_size').on(t.dir, t.size, t.name),
    index('files_dir_mtime').on(t.dir, sql`(case when ${t.mtime} is null then ${t.uploadedAt} else ${t.mtime} end)`, t.name),
    index('files_dir_uploaded').on(t.dir, t.uploadedAt, t.name),
  ],
);

/** The history: one row per change of a path, never updated (see drizzle/schema.ts). */
export const versions = pgTable(
  'versions',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    path: path('path').notNull(),
    namespace: path('namespace').notNull(),
    sha256: path('sha256').references(() => blobs.sha256),
    size: int8('size').notNull(),
    mtime: int8('mtime'),
    uploadedAt: int8('uploaded_at').notNull(),
    /** Latest download of this version through its own path (see drizzle/schema.ts). */
    readAt: int8('read_at'),
  },
  (t) => [
    index('versions_path_time').on(t.path, t.uploadedAt, t.id),
    index('versions_sha').on(t.sha256),
    index('versions_ns_sha').on(t.namespace, t.sha256),
    index('versions_ns_time').on(t.namespace, t.uploadedAt),
  ],
);

/** Paths whose newest version is a deletion: the trash. */
export const trash = pgTable('trash', {
  path: path('path').primaryKey(),
  namespace: path('namespace').notNull(),
  versionId: int8('version_id').notNull(),
  lastVersionId: int8('last_version_id').notNull(),
  deletedAt: int8('deleted_at').notNull(),
});

/** Namespaces whose pruning is stopped by the ransomware guard. */
export const pruneHolds = pgTable('prune_holds', {
  namespace: path('namespace').primaryKey(),
  heldSince: int8('held_since'),
  reason: text('reason').notNull().default(''),
  resumedAt: int8('resumed_at'),
});

/** Every folder that holds at least one file below it, so listings never scan all files. */
export const dirs = pgTable(
  'dirs',
  {
    path: path('path').primaryKey(),
    parent: path('parent').notNull(),
    name: path('name').notNull(),
  },
  (t) => [index('dirs_parent_name').on(t.parent, t.name)],
);

/** Resumable (tus) uploads in progress. */
export const uploads = pgTable(
  'uploads',
  {
    id: text('id').primaryKey(),
    owner: path('owner').notNull(),
    path: path('path').notNull(),
    length: int8('length').notNull(),
    offset: int8('offset').notNull().default(0),
    sha256: text('sha256'),
    mtime: int8('mtime'),
    metadata: text('metadata').notNull().default(''),
    createdAt: int8('created_at').notNull(),
    expiresAt: int8('expires_at').notNull(),
  },
  (t) => [index('uploads_expires').on(t.expiresAt)],
);

/** Backup roots: the remote folder each source backs up into (see drizzle/schema.ts). */
export const roots = pgTable(
  'roots',
  {
    path: path('path').primaryKey(),
    namespace: path('namespace').notNull(),
    sourceId: text('source_id').notNull(),
    host: text('host').notNull(),
    folder: text('folder').notNull(),
    createdAt: int8('created_at').notNull(),
    claimedAt: int8('claimed_at').notNull(),
    lastSeen: int8('last_seen').notNull(),
  },
  (t) => [index('roots_namespace').on(t.namespace, t.path)],
);

/** Backup passes as clients report them (see drizzle/schema.ts). */
export const passes = pgTable(
  'passes',
  {
    id: bigserial('id', { mode: 'number' }).primaryKey(),
    namespace: path('namespace').notNull(),
    root: path('root').notNull(),
    host: text('host').notNull().default(''),
    folder: text('folder').notNull().default(''),
    startedAt: int8('started_at').notNull(),
    endedAt: int8('ended_at').notNull(),
    receivedAt: int8('received_at').notNull(),
    scanned: int8('scanned').notNull(),
    uploaded: int8('uploaded').notNull(),
    failed: int8('failed').notNull(),
    deleted: int8('deleted').notNull(),
    bytes: int8('bytes').notNull(),
    stopped: boolean('stopped').notNull().default(false),
  },
  (t) => [index('passes_ns_root').on(t.namespace, t.root, t.id)],
);
