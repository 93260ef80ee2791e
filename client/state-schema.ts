import { integer, real, sqliteTable, text } from 'drizzle-orm/sqlite-core';

/**
 * The client's own state DB (not the server's catalog): what the server has confirmed for each
 * local file. A row is written only after the server acknowledged the content.
 */
export const files = sqliteTable('files', {
  /** Path below the backed-up folder, names joined by '/', exactly as on disk. */
  path: text('path').primaryKey(),
  /** Where the server holds it: `NAME/PREFIX/path`. */
  remotePath: text('remote_path').notNull(),
  size: integer('size').notNull(),
  /** fs.Stats.mtimeMs as read before the upload (fractional ms kept: compared exactly). */
  mtimeMs: real('mtime_ms').notNull(),
  sha256: text('sha256').notNull(),
  /** How the server got it: 'put', 'tus', 'link' or 'same' (content already there). */
  via: text('via', { enum: ['put', 'tus', 'link', 'same'] }).notNull(),
  confirmedAt: integer('confirmed_at').notNull(),
});

/**
 * Resumable uploads in flight: the tus upload URL of a big file, so a killed run continues from
 * the server's offset next time. Valid only for the same size, mtime and SHA-256.
 */
export const uploads = sqliteTable('uploads', {
  path: text('path').primaryKey(),
  remotePath: text('remote_path').notNull(),
  url: text('url').notNull(),
  size: integer('size').notNull(),
  mtimeMs: real('mtime_ms').notNull(),
  sha256: text('sha256').notNull(),
  createdAt: integer('created_at').notNull(),
});

/** Free-form facts about this DB (which server and folder it belongs to), for humans. */
export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull(),
});

/**
 * Backed-up files found gone locally, and since when: the DELETE waits until they have been gone
 * for --settle (an editor's save may remove a file and write it again), across runs.
 */
export const missing = sqliteTable('missing', {
  path: text('path').primaryKey(),
  since: integer('since').notNull(),
});
