import { sql, type SQL } from 'drizzle-orm';
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
} from '../catalog.js';
import { ancestorsOf, decodeDirCursor, encodeDirCursor, likeContains, likePrefix, nameOf, parentOf, prefixEnd } from '../catalog-query.js';
import { ConflictError } from '../errors.js';
import { bool, num, numOrNull, str, strOrNull, type Row, type SqlDriver, type SqlExec } from './sql-driver.js';

/**
 * The catalog's queries, written once for SQLite and PostgreSQL. The SQL here is the common
 * subset of both; the few spellings that differ come from the driver's dialect, and so do
 * transactions and locks. Schemas: drizzle/schema.ts and drizzle/pg/schema.ts (kept equal by
 * test/unit/schema-parity.test.ts).
 */

const ENTRY = sql.raw(
  `f.path, f.namespace, f.dir, f.name, f.sha256, f.size, f.mtime, f.uploaded_at as "uploadedAt", ` +
    `b.state, b.codec, b.stored_size as "storedSize", b.last_access as "lastAccess"`,
);
const FILES_WITH_BLOBS = sql.raw('files f join blobs b on b.sha256 = f.sha256');
const BLOB = sql.raw(
  `sha256, size, state, codec, stored_size as "storedSize", incompressible, last_access as "lastAccess", created_at as "createdAt"`,
);
const CLIENT = sql.raw(`name, token_id as "tokenId", token_hash as "tokenHash", admin, created_at as "createdAt", revoked_at as "revokedAt"`);
const UPLOAD = sql.raw(
  `id, owner, path, length, "offset", sha256, mtime, metadata, created_at as "createdAt", expires_at as "expiresAt"`,
);
/** Same expression as the files_dir_mtime index, so that index serves this order. */
const MTIME_KEY = sql.raw('case when f.mtime is null then f.uploaded_at else f.mtime end');

function toEntry(r: Row): FileEntry {
  return {
    path: str(r.path),
    namespace: str(r.namespace),
    dir: str(r.dir),
    name: str(r.name),
    sha256: str(r.sha256),
    size: num(r.size),
    mtime: numOrNull(r.mtime),
    uploadedAt: num(r.uploadedAt),
    state: str(r.state) === 'cold' ? 'cold' : 'hot',
    codec: strOrNull(r.codec),
    storedSize: num(r.storedSize),
    lastAccess: num(r.lastAccess),
  };
}

function toBlob(r: Row): BlobRecord {
  return {
    sha256: str(r.sha256),
    size: num(r.size),
    state: str(r.state) === 'cold' ? 'cold' : 'hot',
    codec: strOrNull(r.codec),
    storedSize: num(r.storedSize),
    incompressible: bool(r.incompressible),
    lastAccess: num(r.lastAccess),
    createdAt: num(r.createdAt),
  };
}

function toClient(r: Row): ClientRecord {
  return {
    name: str(r.name),
    tokenId: str(r.tokenId),
    tokenHash: str(r.tokenHash),
    admin: bool(r.admin),
    createdAt: num(r.createdAt),
    revokedAt: numOrNull(r.revokedAt),
  };
}

function toUpload(r: Row): UploadRecord {
  return {
    id: str(r.id),
    owner: str(r.owner),
    path: str(r.path),
    length: num(r.length),
    offset: num(r.offset),
    sha256: strOrNull(r.sha256),
    mtime: numOrNull(r.mtime),
    metadata: str(r.metadata),
    createdAt: num(r.createdAt),
    expiresAt: num(r.expiresAt),
  };
}

const where = (conds: SQL[]): SQL => (conds.length ? sql` where ${sql.join(conds, sql` and `)}` : sql``);

/** `column` starts with `prefix`: a range on the column's index (case-sensitive), LIKE to be exact. */
export function prefixCondition(column: SQL, prefix: string): SQL {
  const end = prefixEnd(prefix);
  const range = end === null ? sql`${column} >= ${prefix}` : sql`${column} >= ${prefix} and ${column} < ${end}`;
  return sql`${range} and ${column} like ${likePrefix(prefix)} escape '\\'`;
}

const BOOL = (b: boolean) => (b ? 1 : 0);

export class SqlCatalog implements Catalog {
  constructor(readonly driver: SqlDriver) {}

  private async one(q: SQL, db: SqlExec = this.driver): Promise<Row | undefined> {
    return (await db.all(q))[0];
  }

  // --- clients ---

  async addClient(client: ClientRecord): Promise<void> {
    await this.driver.transaction(async (tx) => {
      await tx.lock(`client:${client.name}`);
      const existing = await this.one(sql`select revoked_at as "revokedAt" from clients where name = ${client.name}`, tx);
      if (existing && existing.revokedAt === null) throw new ConflictError(`client ${client.name} already exists`);
      await tx.run(sql`
        insert into clients (name, token_id, token_hash, admin, created_at, revoked_at)
        values (${client.name}, ${client.tokenId}, ${client.tokenHash}, ${BOOL(client.admin)}, ${client.createdAt}, ${client.revokedAt})
        on conflict (name) do update set token_id = excluded.token_id, token_hash = excluded.token_hash,
          admin = excluded.admin, created_at = excluded.created_at, revoked_at = excluded.revoked_at`);
    });
  }

  async getClient(name: string): Promise<ClientRecord | undefined> {
    const r = await this.one(sql`select ${CLIENT} from clients where name = ${name}`);
    return r && toClient(r);
  }

  async getClientByTokenId(tokenId: string): Promise<ClientRecord | undefined> {
    const r = await this.one(sql`select ${CLIENT} from clients where token_id = ${tokenId}`);
    return r && toClient(r);
  }

  async listClients(): Promise<ClientRecord[]> {
    return (await this.driver.all(sql`select ${CLIENT} from clients order by name`)).map(toClient);
  }

  async revokeClient(name: string, now: number): Promise<boolean> {
    return (await this.driver.run(sql`update clients set revoked_at = ${now} where name = ${name} and revoked_at is null`)) > 0;
  }

  // --- files ---

  async getFile(path: string): Promise<FileEntry | undefined> {
    const r = await this.one(sql`select ${ENTRY} from ${FILES_WITH_BLOBS} where f.path = ${path}`);
    return r && toEntry(r);
  }

  async putFile(input: PutFileInput): Promise<PutFileResult> {
    return this.driver.transaction(async (tx) => {
      // Folders: shared, so that puts run side by side but never while a delete prunes them.
      for (const d of ancestorsOf(input.path)) await tx.lock(`dir:${d}`, 'shared');
      await tx.lock(`file:${input.path}`);
      await tx.run(sql`
        insert into blobs (sha256, size, state, stored_size, last_access, created_at)
        values (${input.sha256}, ${input.size}, 'hot', ${input.size}, ${input.now}, ${input.now})
        on conflict (sha256) do nothing`);
      const before = await this.one(sql`select sha256 from files where path = ${input.path}`, tx);
      const namespace = input.path.split('/')[0] ?? '';
      await tx.run(sql`
        insert into files (path, namespace, dir, name, sha256, size, mtime, uploaded_at)
        values (${input.path}, ${namespace}, ${parentOf(input.path)}, ${nameOf(input.path)}, ${input.sha256}, ${input.size}, ${input.mtime}, ${input.now})
        on conflict (path) do update set sha256 = excluded.sha256, size = excluded.size, mtime = excluded.mtime, uploaded_at = excluded.uploaded_at`);
      await this.addDirs(tx, input.path);
      let orphan: string | null = null;
      if (before && before.sha256 !== input.sha256 && !(await this.referenced(tx, str(before.sha256)))) orphan = str(before.sha256);
      const entry = await this.one(sql`select ${ENTRY} from ${FILES_WITH_BLOBS} where f.path = ${input.path}`, tx);
      if (!entry) throw new Error('file row vanished inside its own transaction');
      return { created: !before, entry: toEntry(entry), orphan };
    });
  }

  private async addDirs(tx: SqlExec, path: string): Promise<void> {
    const folders = ancestorsOf(path);
    if (!folders.length) return;
    const rows = folders.map((d) => sql`(${d}, ${parentOf(d)}, ${nameOf(d)})`);
    await tx.run(sql`insert into dirs (path, parent, name) values ${sql.join(rows, sql`, `)} on conflict (path) do nothing`);
  }

  /** Removes the folder rows of `path` that no longer hold anything, deepest first. */
  private async pruneDirs(tx: SqlExec, path: string): Promise<void> {
    for (const d of ancestorsOf(path).reverse()) {
      const busy = await this.one(
        sql`select 1 as x where exists (select 1 from files where dir = ${d}) or exists (select 1 from dirs where parent = ${d})`,
        tx,
      );
      if (busy) break;
      await tx.run(sql`delete from dirs where path = ${d}`);
    }
  }

  private async referenced(db: SqlExec, sha256: string): Promise<boolean> {
    return (await this.one(sql`select 1 as x from files where sha256 = ${sha256} limit 1`, db)) !== undefined;
  }

  async deleteFile(path: string): Promise<{ orphan: string | null } | null> {
    return this.driver.transaction(async (tx) => {
      for (const d of ancestorsOf(path)) await tx.lock(`dir:${d}`);
      await tx.lock(`file:${path}`);
      const before = await this.one(sql`select sha256 from files where path = ${path}`, tx);
      if (!before) return null;
      await tx.run(sql`delete from files where path = ${path}`);
      await this.pruneDirs(tx, path);
      const sha = str(before.sha256);
      return { orphan: (await this.referenced(tx, sha)) ? null : sha };
    });
  }

  async listFiles(query: ListFilesQuery): Promise<FileEntry[]> {
    const conds: SQL[] = [];
    // The range uses the path index and is case-sensitive; LIKE alone matched 'Alice/' for 'alice/'.
    if (query.prefix) conds.push(prefixCondition(sql.raw('f.path'), query.prefix));
    if (query.after !== undefined) conds.push(sql`f.path > ${query.after}`);
    const rows = await this.driver.all(sql`select ${ENTRY} from ${FILES_WITH_BLOBS}${where(conds)} order by f.path limit ${query.limit}`);
    return rows.map(toEntry);
  }

  async listDir(query: ListDirQuery): Promise<DirListing> {
    const sort: DirSort = query.sort ?? 'name';
    const descending = query.descending ?? false;
    const like = sql.raw(this.driver.dialect.likeFolded);
    const key: SQL = { name: sql.raw('f.name'), size: sql.raw('f.size'), mtime: MTIME_KEY, uploaded: sql.raw('f.uploaded_at') }[sort];
    const position = query.cursor ? decodeDirCursor(query.cursor) : undefined;
    const foldersDescending = sort === 'name' && descending;
    let folders: string[] = [];
    if (position === undefined || !Array.isArray(position)) {
      const fconds: SQL[] = [sql`parent = ${query.dir}`];
      if (position) fconds.push(foldersDescending ? sql`name < ${position.d}` : sql`name > ${position.d}`);
      if (query.q) fconds.push(sql`name ${like} ${likeContains(query.q)} escape '\\'`);
      const rows = await this.driver.all(
        sql`select name from dirs${where(fconds)} order by name ${sql.raw(foldersDescending ? 'desc' : 'asc')} limit ${query.limit + 1}`,
      );
      folders = rows.map((r) => str(r.name));
      if (folders.length > query.limit) {
        const page = folders.slice(0, query.limit);
        return { folders: page, files: [], nextCursor: encodeDirCursor({ d: page[page.length - 1] as string }) };
      }
    }
    const fileLimit = query.limit - folders.length;
    const conds: SQL[] = [sql`f.dir = ${query.dir}`];
    if (query.q) conds.push(sql`f.name ${like} ${likeContains(query.q)} escape '\\'`);
    const op = sql.raw(descending ? '<' : '>');
    if (Array.isArray(position)) {
      const [k, name] = position;
      if (sort === 'name') conds.push(sql`f.name ${op} ${name}`);
      else conds.push(sql`(${key} ${op} ${k} or (${key} = ${k} and f.name ${op} ${name}))`);
    }
    const dir = sql.raw(descending ? 'desc' : 'asc');
    // By name alone when sorting by name: a repeated term makes SQLite sort again.
    const order = sort === 'name' ? sql`f.name ${dir}` : sql`${key} ${dir}, f.name ${dir}`;
    const rows = (await this.driver.all(sql`select ${ENTRY} from ${FILES_WITH_BLOBS}${where(conds)} order by ${order} limit ${fileLimit + 1}`)).map(
      toEntry,
    );
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
    return (await this.one(sql`select 1 as x from dirs where path = ${dir}`)) !== undefined;
  }

  async namespaceHasBlob(namespace: string, sha256: string): Promise<boolean> {
    return (await this.one(sql`select 1 as x from files where namespace = ${namespace} and sha256 = ${sha256} limit 1`)) !== undefined;
  }

  async stats(namespace?: string): Promise<Stats> {
    const fileWhere = namespace === undefined ? sql`` : sql` where namespace = ${namespace}`;
    const f = await this.one(sql`select count(*) as n, coalesce(sum(size), 0) as bytes from files${fileWhere}`);
    const blobWhere = namespace === undefined ? sql`` : sql` where sha256 in (select sha256 from files where namespace = ${namespace})`;
    const b = await this.one(sql`
      select count(*) as n, coalesce(sum(size), 0) as bytes, coalesce(sum(stored_size), 0) as stored,
        coalesce(sum(case when state = 'hot' then 1 else 0 end), 0) as hot,
        coalesce(sum(case when state = 'cold' then 1 else 0 end), 0) as cold
      from blobs${blobWhere}`);
    return {
      files: num(f?.n),
      logicalBytes: num(f?.bytes),
      blobs: num(b?.n),
      blobBytes: num(b?.bytes),
      storedBytes: num(b?.stored),
      hot: num(b?.hot),
      cold: num(b?.cold),
    };
  }

  // --- blobs ---

  async getBlob(sha256: string): Promise<BlobRecord | undefined> {
    const r = await this.one(sql`select ${BLOB} from blobs where sha256 = ${sha256}`);
    return r && toBlob(r);
  }

  async blobRefCount(sha256: string): Promise<number> {
    return num((await this.one(sql`select count(*) as n from files where sha256 = ${sha256}`))?.n);
  }

  async deleteBlobIfUnreferenced(sha256: string): Promise<boolean> {
    return this.driver.transaction(async (tx) => {
      // Row lock first: a put that is adding a reference right now finishes before we look.
      const row = await this.one(sql`select sha256 from blobs where sha256 = ${sha256}${sql.raw(this.driver.dialect.forUpdate)}`, tx);
      if (!row || (await this.referenced(tx, sha256))) return false;
      return (await tx.run(sql`delete from blobs where sha256 = ${sha256}`)) > 0;
    });
  }

  async touchBlobs(accesses: ReadonlyMap<string, number>): Promise<void> {
    const pairs = [...accesses];
    const greatest = sql.raw(this.driver.dialect.greatest);
    for (let i = 0; i < pairs.length; i += 200) {
      // One statement per chunk: the pairs travel as a derived table.
      const values = pairs
        .slice(i, i + 200)
        .map(([sha, at], j) => (j === 0 ? sql`select cast(${sha} as text) as sha, cast(${at} as bigint) as at` : sql`select ${sha}, ${at}`));
      await this.driver.run(sql`
        update blobs set last_access = ${greatest}(last_access, v.at)
        from (${sql.join(values, sql` union all `)}) as v
        where blobs.sha256 = v.sha`);
    }
  }

  async listBlobs(query: { after?: string; limit: number }): Promise<BlobRecord[]> {
    const cond = query.after === undefined ? sql`` : sql` where sha256 > ${query.after}`;
    return (await this.driver.all(sql`select ${BLOB} from blobs${cond} order by sha256 limit ${query.limit}`)).map(toBlob);
  }

  async updateBlob(
    sha256: string,
    change: Partial<Pick<BlobRecord, 'state' | 'codec' | 'storedSize' | 'incompressible' | 'lastAccess'>>,
  ): Promise<void> {
    const sets: SQL[] = [];
    if (change.state !== undefined) sets.push(sql`state = ${change.state}`);
    if (change.codec !== undefined) sets.push(sql`codec = ${change.codec}`);
    if (change.storedSize !== undefined) sets.push(sql`stored_size = ${change.storedSize}`);
    if (change.incompressible !== undefined) sets.push(sql`incompressible = ${BOOL(change.incompressible)}`);
    if (change.lastAccess !== undefined) sets.push(sql`last_access = ${change.lastAccess}`);
    if (!sets.length) return;
    await this.driver.run(sql`update blobs set ${sql.join(sets, sql`, `)} where sha256 = ${sha256}`);
  }

  async listCompressionCandidates(query: CompressionCandidatesQuery): Promise<BlobRecord[]> {
    const conds: SQL[] = [
      sql`state = 'hot'`,
      sql`last_access <= ${query.cutoff}`,
      sql`incompressible = ${BOOL(false)}`,
      sql`size >= ${query.minSize}`,
    ];
    const a = query.after;
    if (a) conds.push(sql`(last_access > ${a.lastAccess} or (last_access = ${a.lastAccess} and sha256 > ${a.sha256}))`);
    // Served by the (state, last_access) index: the scan stops at the cutoff.
    return (await this.driver.all(sql`select ${BLOB} from blobs${where(conds)} order by last_access, sha256 limit ${query.limit}`)).map(toBlob);
  }

  // --- resumable uploads ---

  async createUpload(u: UploadRecord): Promise<void> {
    await this.driver.run(sql`
      insert into uploads (id, owner, path, length, "offset", sha256, mtime, metadata, created_at, expires_at)
      values (${u.id}, ${u.owner}, ${u.path}, ${u.length}, ${u.offset}, ${u.sha256}, ${u.mtime}, ${u.metadata}, ${u.createdAt}, ${u.expiresAt})`);
  }

  async getUpload(id: string): Promise<UploadRecord | undefined> {
    const r = await this.one(sql`select ${UPLOAD} from uploads where id = ${id}`);
    return r && toUpload(r);
  }

  async setUploadOffset(id: string, offset: number, expiresAt?: number): Promise<void> {
    const extra = expiresAt === undefined ? sql`` : sql`, expires_at = ${expiresAt}`;
    await this.driver.run(sql`update uploads set "offset" = ${offset}${extra} where id = ${id}`);
  }

  async deleteUpload(id: string): Promise<void> {
    await this.driver.run(sql`delete from uploads where id = ${id}`);
  }

  async listExpiredUploads(now: number, limit: number): Promise<UploadRecord[]> {
    return (await this.driver.all(sql`select ${UPLOAD} from uploads where expires_at < ${now} order by expires_at limit ${limit}`)).map(toUpload);
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
