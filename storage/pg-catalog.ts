import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { and, asc, count, desc, eq, gt, gte, inArray, isNull, lt, lte, or, sql, type SQL } from 'drizzle-orm';
import { drizzle, type NodePgDatabase } from 'drizzle-orm/node-postgres';
import { migrate } from 'drizzle-orm/node-postgres/migrator';
import pg from 'pg';
import * as schema from '../drizzle/pg/schema.js';
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
import { ancestorsOf, decodeDirCursor, encodeDirCursor, likeContains, likePrefix, nameOf, parentOf } from './catalog-query.js';
import { ConflictError } from './errors.js';

const { blobs, clients, dirs, files, uploads } = schema;

export const PG_MIGRATIONS_FOLDER = join(dirname(fileURLToPath(import.meta.url)), '..', 'drizzle', 'pg', 'migrations');

/** Every instance migrating at once must take turns: one fixed advisory lock id. */
const MIGRATION_LOCK = 0x63622d6d; // "cb-m"

type Db = NodePgDatabase<typeof schema>;
type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

const num = (v: SQL) => v.mapWith(Number);

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

/**
 * Serialises catalog transactions that touch the same key across every server instance sharing
 * the database (released at commit). Keys are namespaced so paths and folders never collide.
 */
async function xactLock(tx: Tx, key: string, shared = false): Promise<void> {
  if (shared) await tx.execute(sql`select pg_advisory_xact_lock_shared(hashtextextended(${key}, 0))`);
  else await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended(${key}, 0))`);
}

export interface PgCatalogOptions {
  /** postgres://user:password@host:port/database */
  url: string;
  /** Connections in the pool (default 10). */
  max?: number;
  log?: (line: string) => void;
}

/**
 * The catalog in PostgreSQL through Drizzle (node-postgres), so that several server instances
 * share one. Same behaviour as SqliteCatalog: text compares byte-wise (COLLATE "C"), cursors
 * and LIKE patterns match. Open with PgCatalog.open(), which runs the migrations.
 */
export class PgCatalog implements Catalog {
  readonly pool: pg.Pool;
  readonly db: Db;

  private constructor(pool: pg.Pool) {
    this.pool = pool;
    this.db = drizzle(pool, { schema });
  }

  static async open(options: PgCatalogOptions): Promise<PgCatalog> {
    const pool = new pg.Pool({ connectionString: options.url, max: options.max ?? 10 });
    // An idle connection dropped by the server must not crash the process; the pool reconnects.
    pool.on('error', (err) => (options.log ?? console.error)(`postgres: idle connection error: ${err.message}`));
    const catalog = new PgCatalog(pool);
    try {
      await catalog.migrate();
    } catch (err) {
      await pool.end();
      throw err;
    }
    return catalog;
  }

  /** Applies pending migrations, one instance at a time. */
  async migrate(): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
      try {
        await migrate(drizzle(client, { schema }), { migrationsFolder: PG_MIGRATIONS_FOLDER });
      } finally {
        await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
      }
    } finally {
      client.release();
    }
  }

  // --- clients ---

  async addClient(client: ClientRecord): Promise<void> {
    await this.db.transaction(async (tx) => {
      await xactLock(tx, `client:${client.name}`);
      const [existing] = await tx.select().from(clients).where(eq(clients.name, client.name));
      if (existing && existing.revokedAt === null) throw new ConflictError(`client ${client.name} already exists`);
      await tx
        .insert(clients)
        .values(client)
        .onConflictDoUpdate({ target: clients.name, set: { ...client } });
    });
  }

  async getClient(name: string): Promise<ClientRecord | undefined> {
    const [row] = await this.db.select().from(clients).where(eq(clients.name, name));
    return row;
  }

  async getClientByTokenId(tokenId: string): Promise<ClientRecord | undefined> {
    const [row] = await this.db.select().from(clients).where(eq(clients.tokenId, tokenId));
    return row;
  }

  async listClients(): Promise<ClientRecord[]> {
    return this.db.select().from(clients).orderBy(asc(clients.name));
  }

  async revokeClient(name: string, now: number): Promise<boolean> {
    const r = await this.db
      .update(clients)
      .set({ revokedAt: now })
      .where(and(eq(clients.name, name), isNull(clients.revokedAt)));
    return (r.rowCount ?? 0) > 0;
  }

  // --- files ---

  async getFile(path: string): Promise<FileEntry | undefined> {
    const [row] = await this.db.select(entryColumns).from(files).innerJoin(blobs, eq(files.sha256, blobs.sha256)).where(eq(files.path, path));
    return row;
  }

  async putFile(input: PutFileInput): Promise<PutFileResult> {
    return this.db.transaction(async (tx) => {
      // Folders: shared, so that puts run side by side but never while a delete prunes them.
      for (const d of ancestorsOf(input.path)) await xactLock(tx, `dir:${d}`, true);
      await xactLock(tx, `file:${input.path}`);
      await tx
        .insert(blobs)
        .values({ sha256: input.sha256, size: input.size, state: 'hot', storedSize: input.size, lastAccess: input.now, createdAt: input.now })
        .onConflictDoNothing();
      const [before] = await tx.select({ sha256: files.sha256 }).from(files).where(eq(files.path, input.path));
      const row = {
        path: input.path,
        namespace: input.path.split('/')[0] ?? '',
        dir: parentOf(input.path),
        name: nameOf(input.path),
        sha256: input.sha256,
        size: input.size,
        mtime: input.mtime,
        uploadedAt: input.now,
      };
      await tx.insert(files).values(row).onConflictDoUpdate({ target: files.path, set: row });
      const folders = ancestorsOf(input.path).map((d) => ({ path: d, parent: parentOf(d), name: nameOf(d) }));
      if (folders.length) await tx.insert(dirs).values(folders).onConflictDoNothing();
      let orphan: string | null = null;
      if (before && before.sha256 !== input.sha256) {
        const [refs] = await tx.select({ n: count() }).from(files).where(eq(files.sha256, before.sha256));
        if ((refs?.n ?? 0) === 0) orphan = before.sha256;
      }
      const [entry] = await tx.select(entryColumns).from(files).innerJoin(blobs, eq(files.sha256, blobs.sha256)).where(eq(files.path, input.path));
      if (!entry) throw new Error('file row vanished inside its own transaction');
      return { created: !before, entry, orphan };
    });
  }

  async deleteFile(path: string): Promise<{ orphan: string | null } | null> {
    return this.db.transaction(async (tx) => {
      const chain = ancestorsOf(path);
      for (const d of chain) await xactLock(tx, `dir:${d}`);
      await xactLock(tx, `file:${path}`);
      const [before] = await tx.select({ sha256: files.sha256 }).from(files).where(eq(files.path, path));
      if (!before) return null;
      await tx.delete(files).where(eq(files.path, path));
      // Prune folders that no longer hold anything, deepest first.
      for (const d of [...chain].reverse()) {
        const [hasFile] = await tx.select({ p: files.path }).from(files).where(eq(files.dir, d)).limit(1);
        const [hasDir] = await tx.select({ p: dirs.path }).from(dirs).where(eq(dirs.parent, d)).limit(1);
        if (hasFile || hasDir) break;
        await tx.delete(dirs).where(eq(dirs.path, d));
      }
      const [refs] = await tx.select({ n: count() }).from(files).where(eq(files.sha256, before.sha256));
      return { orphan: (refs?.n ?? 0) === 0 ? before.sha256 : null };
    });
  }

  async listFiles(query: ListFilesQuery): Promise<FileEntry[]> {
    const conds: SQL[] = [];
    if (query.prefix) conds.push(sql`${files.path} like ${likePrefix(query.prefix)} escape '\\'`);
    if (query.after !== undefined) conds.push(gt(files.path, query.after));
    return this.db
      .select(entryColumns)
      .from(files)
      .innerJoin(blobs, eq(files.sha256, blobs.sha256))
      .where(conds.length ? and(...conds) : undefined)
      .orderBy(asc(files.path))
      .limit(query.limit);
  }

  async listDir(query: ListDirQuery): Promise<DirListing> {
    const sort: DirSort = query.sort ?? 'name';
    const descending = query.descending ?? false;
    const key: SQL = {
      name: sql`${files.name}`,
      size: sql`${files.size}`,
      mtime: sql`coalesce(${files.mtime}, ${files.uploadedAt})`,
      uploaded: sql`${files.uploadedAt}`,
    }[sort];
    const position = query.cursor ? decodeDirCursor(query.cursor) : undefined;
    const foldersDescending = sort === 'name' && descending;
    let folders: string[] = [];
    if (position === undefined || !Array.isArray(position)) {
      const fconds: SQL[] = [eq(dirs.parent, query.dir)];
      if (position) fconds.push((foldersDescending ? lt : gt)(dirs.name, position.d));
      // ILIKE under COLLATE "C" folds ASCII only, as SQLite's LIKE does.
      if (query.q) fconds.push(sql`${dirs.name} ilike ${likeContains(query.q)} escape '\\'`);
      const rows = await this.db
        .select({ name: dirs.name })
        .from(dirs)
        .where(and(...fconds))
        .orderBy((foldersDescending ? desc : asc)(dirs.name))
        .limit(query.limit + 1);
      folders = rows.map((r) => r.name);
      if (folders.length > query.limit) {
        const page = folders.slice(0, query.limit);
        return { folders: page, files: [], nextCursor: encodeDirCursor({ d: page[page.length - 1] as string }) };
      }
    }
    const fileLimit = query.limit - folders.length;
    const conds: SQL[] = [eq(files.dir, query.dir)];
    if (query.q) conds.push(sql`${files.name} ilike ${likeContains(query.q)} escape '\\'`);
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
    const rows = await this.db
      .select(entryColumns)
      .from(files)
      .innerJoin(blobs, eq(files.sha256, blobs.sha256))
      .where(and(...conds))
      .orderBy(order(key), order(files.name))
      .limit(fileLimit + 1);
    const page = rows.slice(0, fileLimit);
    const last = page[page.length - 1];
    let nextCursor: string | null = null;
    if (rows.length > fileLimit && last) {
      const k = { name: last.name, size: last.size, mtime: last.mtime ?? last.uploadedAt, uploaded: last.uploadedAt }[sort];
      nextCursor = encodeDirCursor([k, last.name]);
    } else if (rows.length > fileLimit) {
      // The page filled up with folders exactly: files start on the next page.
      nextCursor = encodeDirCursor({ d: folders[folders.length - 1] as string });
    }
    return { folders, files: page, nextCursor };
  }

  async dirExists(dir: string): Promise<boolean> {
    const [row] = await this.db.select({ p: dirs.path }).from(dirs).where(eq(dirs.path, dir));
    return row !== undefined;
  }

  async namespaceHasBlob(namespace: string, sha256: string): Promise<boolean> {
    const [row] = await this.db
      .select({ p: files.path })
      .from(files)
      .where(and(eq(files.namespace, namespace), eq(files.sha256, sha256)))
      .limit(1);
    return row !== undefined;
  }

  async stats(namespace?: string): Promise<Stats> {
    const fileWhere = namespace === undefined ? undefined : eq(files.namespace, namespace);
    const [f] = await this.db
      .select({ n: count(), bytes: num(sql`coalesce(sum(${files.size}), 0)`) })
      .from(files)
      .where(fileWhere);
    const blobWhere =
      namespace === undefined
        ? undefined
        : inArray(blobs.sha256, this.db.select({ s: files.sha256 }).from(files).where(eq(files.namespace, namespace)));
    const [b] = await this.db
      .select({
        n: count(),
        bytes: num(sql`coalesce(sum(${blobs.size}), 0)`),
        stored: num(sql`coalesce(sum(${blobs.storedSize}), 0)`),
        hot: num(sql`count(*) filter (where ${blobs.state} = 'hot')`),
        cold: num(sql`count(*) filter (where ${blobs.state} = 'cold')`),
      })
      .from(blobs)
      .where(blobWhere);
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
    const [row] = await this.db.select().from(blobs).where(eq(blobs.sha256, sha256));
    return row;
  }

  async blobRefCount(sha256: string): Promise<number> {
    const [r] = await this.db.select({ n: count() }).from(files).where(eq(files.sha256, sha256));
    return r?.n ?? 0;
  }

  async deleteBlobIfUnreferenced(sha256: string): Promise<boolean> {
    return this.db.transaction(async (tx) => {
      // Row lock first: a put that is adding a reference right now finishes before we look.
      const [row] = await tx.select({ s: blobs.sha256 }).from(blobs).where(eq(blobs.sha256, sha256)).for('update');
      if (!row) return false;
      const [ref] = await tx.select({ p: files.path }).from(files).where(eq(files.sha256, sha256)).limit(1);
      if (ref) return false;
      const r = await tx.delete(blobs).where(eq(blobs.sha256, sha256));
      return (r.rowCount ?? 0) > 0;
    });
  }

  async touchBlobs(accesses: ReadonlyMap<string, number>): Promise<void> {
    if (accesses.size === 0) return;
    // One statement for the whole batch: the pairs travel as one JSON parameter.
    const pairs = JSON.stringify([...accesses].map(([sha, at]) => ({ sha, at })));
    await this.db.execute(sql`
      update ${blobs} set last_access = greatest(${blobs.lastAccess}, v.at)
      from json_to_recordset(${pairs}::json) as v(sha text, at bigint)
      where ${blobs.sha256} = v.sha`);
  }

  async listBlobs(query: { after?: string; limit: number }): Promise<BlobRecord[]> {
    return this.db
      .select()
      .from(blobs)
      .where(query.after === undefined ? undefined : gt(blobs.sha256, query.after))
      .orderBy(asc(blobs.sha256))
      .limit(query.limit);
  }

  async updateBlob(
    sha256: string,
    change: Partial<Pick<BlobRecord, 'state' | 'codec' | 'storedSize' | 'incompressible' | 'lastAccess'>>,
  ): Promise<void> {
    if (Object.keys(change).length === 0) return;
    await this.db.update(blobs).set(change).where(eq(blobs.sha256, sha256));
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
    return this.db
      .select()
      .from(blobs)
      .where(and(...conds))
      .orderBy(asc(blobs.lastAccess), asc(blobs.sha256))
      .limit(query.limit);
  }

  // --- resumable uploads ---

  async createUpload(upload: UploadRecord): Promise<void> {
    await this.db.insert(uploads).values(upload);
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const [row] = await this.db.select().from(uploads).where(eq(uploads.id, id));
    return row;
  }

  async setUploadOffset(id: string, offset: number, expiresAt?: number): Promise<void> {
    await this.db
      .update(uploads)
      .set(expiresAt === undefined ? { offset } : { offset, expiresAt })
      .where(eq(uploads.id, id));
  }

  async deleteUpload(id: string): Promise<void> {
    await this.db.delete(uploads).where(eq(uploads.id, id));
  }

  async listExpiredUploads(now: number, limit: number): Promise<UploadRecord[]> {
    return this.db.select().from(uploads).where(lt(uploads.expiresAt, now)).orderBy(asc(uploads.expiresAt)).limit(limit);
  }

  #closed = false;

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.pool.end();
  }
}
