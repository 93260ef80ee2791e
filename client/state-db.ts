import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { and, asc, eq, gt, lt, sql } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import { findUp } from '../shared/find-up.js';
import type { ConfirmedRecord } from './change-detect.js';
import * as schema from './state-schema.js';

const { files, uploads, meta, missing } = schema;

export const CLIENT_MIGRATIONS = findUp(import.meta.url, 'client/migrations');

export type Via = 'put' | 'tus' | 'link' | 'same';

export interface FileRecord extends ConfirmedRecord {
  path: string;
  via: Via;
  confirmedAt: number;
}

export interface UploadRecord {
  path: string;
  remotePath: string;
  url: string;
  size: number;
  mtimeMs: number;
  sha256: string;
  createdAt: number;
}

/** The client's state DB: confirmed files and resumable uploads in flight. */
export class StateDb {
  readonly sqlite: Database.Database;
  private readonly db: BetterSQLite3Database<typeof schema>;
  private readonly getFileStmt: Database.Statement;
  private readonly getUploadStmt;
  private readonly putFileStmt: Database.Statement;
  private readonly filesInStmt: Database.Statement;
  private readonly filesInRootStmt: Database.Statement;
  private readonly allPathsStmt: Database.Statement;

  constructor(readonly file: string) {
    mkdirSync(dirname(file), { recursive: true });
    this.sqlite = new Database(file);
    this.sqlite.pragma('journal_mode = WAL');
    // Losing the last confirmations in a power cut only means re-checking those files.
    this.sqlite.pragma('synchronous = NORMAL');
    this.sqlite.pragma('busy_timeout = 5000');
    this.db = drizzle(this.sqlite, { schema });
    migrate(this.db, { migrationsFolder: CLIENT_MIGRATIONS });
    // Plain statements: a rescan reads every record, and drizzle's row mapping was most of its cost;
    // a backup of small files reads and writes one record per file.
    const cols = 'path, remote_path as remotePath, size, mtime_ms as mtimeMs, sha256, via, confirmed_at as confirmedAt';
    this.getFileStmt = this.sqlite.prepare(`select ${cols} from files where path = ?`);
    // Rows as arrays, made into objects here: about half the cost of better-sqlite3's row objects.
    const rawCols = 'path, remote_path, size, mtime_ms, sha256, via, confirmed_at';
    this.filesInStmt = this.sqlite.prepare(`select ${rawCols} from files where path > ? and path < ? and instr(substr(path, ?), '/') = 0`).raw();
    this.filesInRootStmt = this.sqlite.prepare(`select ${rawCols} from files where instr(path, '/') = 0`).raw();
    this.allPathsStmt = this.sqlite.prepare('select path from files order by path').pluck();
    this.getUploadStmt = this.db.select().from(uploads).where(eq(uploads.path, sql.placeholder('path'))).prepare();
    this.putFileStmt = this.sqlite.prepare(
      'insert into files (path, remote_path, size, mtime_ms, sha256, via, confirmed_at) values (@path, @remotePath, @size, @mtimeMs, @sha256, @via, @confirmedAt) ' +
        'on conflict (path) do update set remote_path = excluded.remote_path, size = excluded.size, mtime_ms = excluded.mtime_ms, sha256 = excluded.sha256, via = excluded.via, confirmed_at = excluded.confirmed_at',
    );
  }

  getFile(path: string): FileRecord | undefined {
    return this.getFileStmt.get(path) as FileRecord | undefined;
  }

  /**
   * The records of the files directly in folder `dir` ('' the backed-up folder itself), by path:
   * one query per folder instead of one per file on a rescan ('/' sorts right before '0').
   */
  filesIn(dir: string): Map<string, FileRecord> {
    const rows = (dir === '' ? this.filesInRootStmt.all() : this.filesInStmt.all(`${dir}/`, `${dir}0`, dir.length + 2)) as [string, string, number, number, string, Via, number][];
    const records = new Map<string, FileRecord>();
    for (const [path, remotePath, size, mtimeMs, sha256, via, confirmedAt] of rows) records.set(path, { path, remotePath, size, mtimeMs, sha256, via, confirmedAt });
    return records;
  }

  /** Every recorded path, in path order (without the rest of the records). */
  allPaths(): string[] {
    return this.allPathsStmt.all() as string[];
  }

  /** Called only once the server confirmed this content at `remotePath`. */
  putFile(record: FileRecord): void {
    this.putFileStmt.run(record);
  }

  /** putFile for many (a batch the server confirmed), in one transaction. */
  putFiles(records: readonly FileRecord[]): void {
    this.sqlite.transaction(() => {
      for (const r of records) this.putFileStmt.run(r);
    })();
  }

  /** The file is no longer backed up under this name (deleted on the server, or left there). */
  deleteFile(path: string): void {
    this.sqlite.transaction(() => {
      this.db.delete(files).where(eq(files.path, path)).run();
      this.db.delete(missing).where(eq(missing.path, path)).run();
    })();
  }

  /** Every record, in path order (read whole: callers keep only the few they need). */
  allFiles(): FileRecord[] {
    return this.db.select().from(files).orderBy(asc(files.path)).all();
  }

  /** Records below the folder `dir` ('a/b' -> 'a/b/...'): '/' sorts right before '0'. */
  filesUnder(dir: string): FileRecord[] {
    return this.db.select().from(files).where(and(gt(files.path, `${dir}/`), lt(files.path, `${dir}0`))).orderBy(asc(files.path)).all();
  }

  /** Notes that `path` was found gone at `now` unless already noted; returns since when it is gone. */
  markMissing(path: string, now: number): number {
    this.db.insert(missing).values({ path, since: now }).onConflictDoNothing().run();
    return this.db.select().from(missing).where(eq(missing.path, path)).get()?.since ?? now;
  }

  /** The file is there again. */
  clearMissing(path: string): void {
    this.db.delete(missing).where(eq(missing.path, path)).run();
  }

  missingPaths(): string[] {
    return this.db.select({ path: missing.path }).from(missing).all().map((r) => r.path);
  }

  countMissing(): number {
    return this.db.select({ n: sql<number>`count(*)` }).from(missing).get()?.n ?? 0;
  }

  countFiles(): number {
    return this.db.select({ n: sql<number>`count(*)` }).from(files).get()?.n ?? 0;
  }

  getUpload(path: string): UploadRecord | undefined {
    return this.getUploadStmt.get({ path });
  }

  putUpload(record: UploadRecord): void {
    this.db
      .insert(uploads)
      .values(record)
      .onConflictDoUpdate({ target: uploads.path, set: { ...record } })
      .run();
  }

  deleteUpload(path: string): void {
    this.db.delete(uploads).where(eq(uploads.path, path)).run();
  }

  setMeta(key: string, value: string): void {
    this.db.insert(meta).values({ key, value }).onConflictDoUpdate({ target: meta.key, set: { value } }).run();
  }

  getMeta(key: string): string | undefined {
    return this.db.select().from(meta).where(eq(meta.key, key)).get()?.value;
  }

  close(): void {
    if (this.sqlite.open) this.sqlite.close();
  }
}
