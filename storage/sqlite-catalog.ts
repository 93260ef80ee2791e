import { mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import { and, asc, desc, eq, gt, gte, inArray, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3';
import { migrate } from 'drizzle-orm/better-sqlite3/migrator';
import * as schema from '../drizzle/schema.js';
import type {
  BlobRecord,
  Catalog,
  ClientRecord,
  CompressionCandidatesQuery,
  DirListing,
  DirSort,
  FileEntry,
  ListDirQuery,
  ListFilesQuery,
  PutFileInput,
  PutFileResult,
  Stats,
  UploadRecord,
} from './catalog.js';
import { ancestorsOf, decodeDirCursor as decodeCursor, encodeDirCursor as encodeCursor, likeContains, likePrefix, nameOf, parentOf, prefixEnd } from './catalog-query.js';
import { ConflictError } from './errors.js';

const { blobs, clients, dirs, files, uploads } = schema;

export const MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', 'drizzle', 'migrations');

const entryColumns = {
  path: files.path,
  namespace: files.namespace,
  dir: files.dir,
  name: files.name,
  sha256: files.sha256,
  size: files.size,
  mtime: files.mtime,
  uploadedAt: files.uploadedAt,
  state: blobs.state,
  codec: blobs.codec,
  storedSize: blobs.storedSize,
  lastAccess: blobs.lastAccess,
};

export interface SqliteCatalogOptions {
  /** Path of the SQLite file; ':memory:' for throwaway tests. */
  file: string;
}

/** The catalog in one SQLite file (WAL mode), through Drizzle. Migrations run on open. */
export class SqliteCatalog implements Catalog {
  readonly sqlite: Database.Database;
  readonly db: BetterSQLite3Database<typeof schema>;

  constructor(options: SqliteCatalogOptions) {
    if (options.file !== ':memory:') mkdirSync(dirname(options.file), { recursive: true });
    this.sqlite = new Database(options.file);
    this.sqlite.pragma('journal_mode = WAL');
    // NORMAL in WAL mode is durable against process crashes; a power cut may lose the last
    // transactions but never corrupts the database.
    this.sqlite.pragma('synchronous = NORMAL');
    this.sqlite.pragma('foreign_keys = ON');
    this.sqlite.pragma('busy_timeout = 5000');
    this.db = drizzle(this.sqlite, { schema });
    migrate(this.db, { migrationsFolder: MIGRATIONS_FOLDER });
  }

  // --- clients ---

  async addClient(client: ClientRecord): Promise<void> {
    const existing = this.db.select().from(clients).where(eq(clients.name, client.name)).get();
    if (existing && existing.revokedAt === null) throw new ConflictError(`client ${client.name} already exists`);
    this.db
      .insert(clients)
      .values(client)
      .onConflictDoUpdate({ target: clients.name, set: { ...client } })
      .run();
  }

  async getClient(name: string): Promise<ClientRecord | undefined> {
    return this.db.select().from(clients).where(eq(clients.name, name)).get();
  }

  async getClientByTokenId(tokenId: string): Promise<ClientRecord | undefined> {
    return this.db.select().from(clients).where(eq(clients.tokenId, tokenId)).get();
  }

  async listClients(): Promise<ClientRecord[]> {
    return this.db.select().from(clients).orderBy(asc(clients.name)).all();
  }

  async revokeClient(name: string, now: number): Promise<boolean> {
    const r = this.db
      .update(clients)
      .set({ revokedAt: now })
      .where(and(eq(clients.name, name), sql`${clients.revokedAt} is null`))
      .run();
    return r.changes > 0;
  }

  // --- files ---

  async getFile(path: string): Promise<FileEntry | undefined> {
    return this.db
      .select(entryColumns)
      .from(files)
      .innerJoin(blobs, eq(files.sha256, blobs.sha256))
      .where(eq(files.path, path))
      .get();
  }

  async putFile(input: PutFileInput): Promise<PutFileResult> {
    return this.db.transaction((tx) => {
      tx.insert(blobs)
        .values({
          sha256: input.sha256,
          size: input.size,
          state: 'hot',
          storedSize: input.size,
          lastAccess: input.now,
          createdAt: input.now,
        })
        .onConflictDoNothing()
        .run();
      const before = tx.select({ sha256: files.sha256 }).from(files).where(eq(files.path, input.path)).get();
      const dir = parentOf(input.path);
      const row = {
        path: input.path,
        namespace: input.path.split('/')[0] ?? '',
        dir,
        name: nameOf(input.path),
        sha256: input.sha256,
        size: input.size,
        mtime: input.mtime,
        uploadedAt: input.now,
      };
      tx.insert(files)
        .values(row)
        .onConflictDoUpdate({ target: files.path, set: row })
        .run();
      for (const d of ancestorsOf(input.path)) {
        tx.insert(dirs)
          .values({ path: d, parent: parentOf(d), name: nameOf(d) })
          .onConflictDoNothing()
          .run();
      }
      let orphan: string | null = null;
      if (before && before.sha256 !== input.sha256) {
        const refs = tx.select({ n: sql<number>`count(*)` }).from(files).where(eq(files.sha256, before.sha256)).get();
        if ((refs?.n ?? 0) === 0) orphan = before.sha256;
      }
      const entry = tx
        .select(entryColumns)
        .from(files)
        .innerJoin(blobs, eq(files.sha256, blobs.sha256))
        .where(eq(files.path, input.path))
        .get();
      if (!entry) throw new Error('file row vanished inside its own transaction');
      return { created: !before, entry, orphan };
    });
  }

  async deleteFile(path: string): Promise<{ orphan: string | null } | null> {
    return this.db.transaction((tx) => {
      const before = tx.select({ sha256: files.sha256 }).from(files).where(eq(files.path, path)).get();
      if (!before) return null;
      tx.delete(files).where(eq(files.path, path)).run();
      // Prune folders that no longer hold anything, deepest first.
      for (const d of ancestorsOf(path).reverse()) {
        const hasFile = tx.select({ p: files.path }).from(files).where(eq(files.dir, d)).limit(1).get();
        const hasDir = tx.select({ p: dirs.path }).from(dirs).where(eq(dirs.parent, d)).limit(1).get();
        if (hasFile || hasDir) break;
        tx.delete(dirs).where(eq(dirs.path, d)).run();
      }
      const refs = tx.select({ n: sql<number>`count(*)` }).from(files).where(eq(files.sha256, before.sha256)).get();
      return { orphan: (refs?.n ?? 0) === 0 ? before.sha256 : null };
    });
  }

  async listFiles(query: ListFilesQuery): Promise<FileEntry[]> {
    const conds: SQL[] = [];
    if (query.prefix) {
      // The range uses the path index and is case-sensitive; LIKE alone matched 'Alice/' for 'alice/'.
      const end = prefixEnd(query.prefix);
      conds.push(end === null ? gte(files.path, query.prefix) : and(gte(files.path, query.prefix), lt(files.path, end)) as SQL);
      conds.push(sql`${files.path} like ${likePrefix(query.prefix)} escape '\\'`);
    }
    if (query.after !== undefined) conds.push(gt(files.path, query.after));
    return this.db
      .select(entryColumns)
      .from(files)
      .innerJoin(blobs, eq(files.sha256, blobs.sha256))
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(asc(files.path))
      .limit(query.limit)
      .all();
  }

  async listDir(query: ListDirQuery): Promise<DirListing> {
    const sort: DirSort = query.sort ?? 'name';
    const descending = query.descending ?? false;
    const key: SQL = {
      name: sql`${files.name}`,
      size: sql`${files.size}`,
      // Same expression as the files_dir_mtime index, so that index serves this order.
      mtime: sql`case when ${files.mtime} is null then ${files.uploadedAt} else ${files.mtime} end`,
      uploaded: sql`${files.uploadedAt}`,
    }[sort];
    const position = query.cursor ? decodeCursor(query.cursor) : undefined;
    const foldersDescending = sort === 'name' && descending;
    let folders: string[] = [];
    if (position === undefined || !Array.isArray(position)) {
      const fconds: SQL[] = [eq(dirs.parent, query.dir)];
      if (position) fconds.push((foldersDescending ? lt : gt)(dirs.name, position.d));
      if (query.q) fconds.push(sql`${dirs.name} like ${likeContains(query.q)} escape '\\'`);
      folders = this.db
        .select({ name: dirs.name })
        .from(dirs)
        .where(and(...fconds))
        .orderBy((foldersDescending ? desc : asc)(dirs.name))
        .limit(query.limit + 1)
        .all()
        .map((r) => r.name);
      if (folders.length > query.limit) {
        const page = folders.slice(0, query.limit);
        return { folders: page, files: [], nextCursor: encodeCursor({ d: page[page.length - 1] as string }) };
      }
    }
    const fileLimit = query.limit - folders.length;
    const conds: SQL[] = [eq(files.dir, query.dir)];
    if (query.q) conds.push(sql`${files.name} like ${likeContains(query.q)} escape '\\'`);
    if (Array.isArray(position)) {
      const [k, name] = position;
      const cmp = descending ? lt : gt;
      if (sort === 'name') conds.push(cmp(files.name, name));
      else {
        const cond = descending
          ? or(sql`${key} < ${k}`, and(sql`${key} = ${k}`, lt(files.name, name)))
          : or(sql`${key} > ${k}`, and(sql`${key} = ${k}`, gt(files.name, name)));
        if (cond) conds.push(cond);
      }
    }
    const order = descending ? desc : asc;
    const rows = this.db
      .select(entryColumns)
      .from(files)
      .innerJoin(blobs, eq(files.sha256, blobs.sha256))
      .where(and(...conds))
      // By name alone when sorting by name: a repeated term makes SQLite sort again.
      .orderBy(...(sort === 'name' ? [order(files.name)] : [order(key), order(files.name)]))
      .limit(fileLimit + 1)
      .all();
    const page = rows.slice(0, fileLimit);
    const last = page[page.length - 1];
    let nextCursor: string | null = null;
    if (rows.length > fileLimit && last) {
      const k = { name: last.name, size: last.size, mtime: last.mtime ?? last.uploadedAt, uploaded: last.uploadedAt }[sort];
      nextCursor = encodeCursor([k, last.name]);
    } else if (rows.length > fileLimit) {
      // The page filled up with folders exactly: files start on the next page.
      nextCursor = encodeCursor({ d: folders[folders.length - 1] as string });
    }
    return { folders, files: page, nextCursor };
  }

  async dirExists(dir: string): Promise<boolean> {
    return this.db.select({ p: dirs.path }).from(dirs).where(eq(dirs.path, dir)).get() !== undefined;
  }

  async namespaceHasBlob(namespace: string, sha256: string): Promise<boolean> {
    const row = this.db
      .select({ p: files.path })
      .from(files)
      .where(and(eq(files.namespace, namespace), eq(files.sha256, sha256)))
      .limit(1)
      .get();
    return row !== undefined;
  }

  async stats(namespace?: string): Promise<Stats> {
    const fileWhere = namespace === undefined ? undefined : eq(files.namespace, namespace);
    const f = this.db
      .select({ n: sql<number>`count(*)`, bytes: sql<number>`coalesce(sum(${files.size}), 0)` })
      .from(files)
      .where(fileWhere)
      .get();
    const blobWhere =
      namespace === undefined
        ? undefined
        : inArray(blobs.sha256, this.db.select({ s: files.sha256 }).from(files).where(eq(files.namespace, namespace)));
    const b = this.db
      .select({
        n: sql<number>`count(*)`,
        bytes: sql<number>`coalesce(sum(${blobs.size}), 0)`,
        stored: sql<number>`coalesce(sum(${blobs.storedSize}), 0)`,
        hot: sql<number>`coalesce(sum(case when ${blobs.state} = 'hot' then 1 else 0 end), 0)`,
        cold: sql<number>`coalesce(sum(case when ${blobs.state} = 'cold' then 1 else 0 end), 0)`,
      })
      .from(blobs)
      .where(blobWhere)
      .get();
    return {
      files: f?.n ?? 0,
      logicalBytes: f?.bytes ?? 0,
      blobs: b?.n ?? 0,
      blobBytes: b?.bytes ?? 0,
      storedBytes: b?.stored ?? 0,
      hot: b?.hot ?? 0,
      cold: b?.cold ?? 0,
    };
  }

  // --- blobs ---

  async getBlob(sha256: string): Promise<BlobRecord | undefined> {
    return this.db.select().from(blobs).where(eq(blobs.sha256, sha256)).get();
  }

  async blobRefCount(sha256: string): Promise<number> {
    const r = this.db.select({ n: sql<number>`count(*)` }).from(files).where(eq(files.sha256, sha256)).get();
    return r?.n ?? 0;
  }

  async deleteBlobIfUnreferenced(sha256: string): Promise<boolean> {
    return this.db.transaction((tx) => {
      const ref = tx.select({ p: files.path }).from(files).where(eq(files.sha256, sha256)).limit(1).get();
      if (ref) return false;
      return tx.delete(blobs).where(eq(blobs.sha256, sha256)).run().changes > 0;
    });
  }

  async touchBlobs(accesses: ReadonlyMap<string, number>): Promise<void> {
    if (accesses.size === 0) return;
    const stmt = this.sqlite.prepare('update blobs set last_access = max(last_access, ?) where sha256 = ?');
    this.sqlite.transaction(() => {
      for (const [sha, at] of accesses) stmt.run(at, sha);
    })();
  }

  async listBlobs(query: { after?: string; limit: number }): Promise<BlobRecord[]> {
    return this.db
      .select()
      .from(blobs)
      .where(query.after === undefined ? undefined : gt(blobs.sha256, query.after))
      .orderBy(asc(blobs.sha256))
      .limit(query.limit)
      .all();
  }

  async updateBlob(
    sha256: string,
    change: Partial<Pick<BlobRecord, 'state' | 'codec' | 'storedSize' | 'incompressible' | 'lastAccess'>>,
  ): Promise<void> {
    if (Object.keys(change).length === 0) return;
    this.db.update(blobs).set(change).where(eq(blobs.sha256, sha256)).run();
  }

  async listCompressionCandidates(query: CompressionCandidatesQuery): Promise<BlobRecord[]> {
    const conds: (SQL | undefined)[] = [
      eq(blobs.state, 'hot'),
      lte(blobs.lastAccess, query.cutoff),
      eq(blobs.incompressible, false),
      gte(blobs.size, query.minSize),
    ];
    const a = query.after;
    if (a) conds.push(or(gt(blobs.lastAccess, a.lastAccess), and(eq(blobs.lastAccess, a.lastAccess), gt(blobs.sha256, a.sha256))));
    // Served by the (state, last_access) index: the scan stops at the cutoff.
    return this.db
      .select()
      .from(blobs)
      .where(and(...conds))
      .orderBy(asc(blobs.lastAccess), asc(blobs.sha256))
      .limit(query.limit)
      .all();
  }

  // --- resumable uploads ---

  async createUpload(upload: UploadRecord): Promise<void> {
    this.db.insert(uploads).values(upload).run();
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    return this.db.select().from(uploads).where(eq(uploads.id, id)).get();
  }

  async setUploadOffset(id: string, offset: number, expiresAt?: number): Promise<void> {
    this.db
      .update(uploads)
      .set(expiresAt === undefined ? { offset } : { offset, expiresAt })
      .where(eq(uploads.id, id))
      .run();
  }

  async deleteUpload(id: string): Promise<void> {
    this.db.delete(uploads).where(eq(uploads.id, id)).run();
  }

  async listExpiredUploads(now: number, limit: number): Promise<UploadRecord[]> {
    return this.db.select().from(uploads).where(lt(uploads.expiresAt, now)).orderBy(asc(uploads.expiresAt)).limit(limit).all();
  }

  async close(): Promise<void> {
    if (this.sqlite.open) this.sqlite.close();
  }
}

