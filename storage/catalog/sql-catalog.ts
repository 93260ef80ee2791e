import { sql, type Placeholder, type SQL } from 'drizzle-orm';
import type {
  BlobRecord,
  Catalog,
  ClaimRootInput,
  ClaimRootResult,
  ClientRecord,
  CompressionCandidatesQuery,
  DeletedEntry,
  DirListing,
  HistoryPage,
  ListVersionsQuery,
  PruneHold,
  RecentChanges,
  VersionRecord,
  DirSort,
  FileEntry,
  ListDirQuery,
  ListFilesQuery,
  PassInput,
  PassRecord,
  SourcePasses,
  PutFileInput,
  PutFileResult,
  QuotaUsage,
  RootRecord,
  Stats,
  UploadRecord,
} from './catalog.js';
import { ancestorsOf, decodeDirCursor, encodeDirCursor, likeContains, likePrefix, nameOf, namespaceOf, parentOf, prefixEnd } from './catalog-query.js';
import { ConflictError, QuotaExceededError } from '../../core/errors.js';
import { PASSES_KEPT } from './catalog.js';
import { bool, num, numOrNull, str, strOrNull, Template, type Bound, type Row, type SqlDriver, type SqlExec, type SqlTx } from './sql-driver.js';

/**
 * The catalog's queries, written once for SQLite and PostgreSQL. The SQL here is the common
 * subset of both; the few spellings that differ come from the driver's dialect, and so do
 * transactions and locks. Schemas: drizzle/schema.ts and drizzle/pg/schema.ts (kept equal by
 * test/unit/schema-parity.test.ts).
 */

/** A file's namespace, folder and name are its path's (toEntry): not read back as three more strings per row. */
const ENTRY = sql.raw(
  `f.path, f.sha256, f.size, f.mtime, f.uploaded_at as "uploadedAt", ` +
    `f.version_id as "version", b.state, b.codec, b.stored_size as "storedSize", coalesce(fv.read_at, f.uploaded_at) as "lastAccess"`,
);
/** A file's last access is its own version's (never the shared blob's: that is other namespaces' too). */
const FILES_WITH_BLOBS = sql.raw('files f join blobs b on b.sha256 = f.sha256 left join versions fv on fv.id = f.version_id');
const VERSION = sql.raw(`v.id as "version", v.path, v.sha256, v.size, v.mtime, v.uploaded_at as "uploadedAt"`);
/** A version with its blob's state, shaped like a file entry (null blob columns for deletions). */
const VERSION_ENTRY = sql.raw(
  `v.id as "version", v.path, v.sha256, v.size, v.mtime, v.uploaded_at as "uploadedAt", ` +
    `b.state, b.codec, b.stored_size as "storedSize", coalesce(v.read_at, v.uploaded_at) as "lastAccess"`,
);
/** A path's newest version first: uploaded_at never goes back within a path, so id breaks ties. */
const NEWEST_FIRST = sql.raw('uploaded_at desc, id desc');
const BLOB = sql.raw(
  `sha256, size, state, codec, stored_size as "storedSize", incompressible, last_access as "lastAccess", created_at as "createdAt"`,
);
const CLIENT = sql.raw(
  `name, token_id as "tokenId", token_hash as "tokenHash", admin, created_at as "createdAt", revoked_at as "revokedAt", quota_bytes as "quotaBytes", ` +
    `last_seen as "lastSeen"`,
);
const UPLOAD = sql.raw(
  `id, owner, path, length, "offset", sha256, mtime, metadata, created_at as "createdAt", expires_at as "expiresAt"`,
);
const PASS = sql.raw(
  `id, namespace, root, host, folder, started_at as "startedAt", ended_at as "endedAt", received_at as "receivedAt", ` +
    `scanned, uploaded, failed, deleted, bytes, stopped`,
);
const ROOT = sql.raw(
  `path, namespace, source_id as "sourceId", host, folder, created_at as "createdAt", claimed_at as "claimedAt", last_seen as "lastSeen"`,
);
/*
 * The statements every upload runs (a batch once per file), as templates: rendered once per
 * driver instead of built and rendered at each call. Slots are numbered in the order of the
 * bind() arguments.
 */
const INSERT_BLOB = new Template(
  (v) => sql`
      insert into blobs (sha256, size, state, stored_size, last_access, created_at)
      values (${v(0)}, ${v(1)}, 'hot', ${v(1)}, ${v(2)}, ${v(2)})
      on conflict (sha256) do nothing`,
);
const INSERT_VERSION = new Template(
  (v) => sql`
      insert into versions (path, namespace, sha256, size, mtime, uploaded_at)
      values (${v(0)}, ${v(1)}, ${v(2)}, ${v(3)}, ${v(4)}, ${v(5)}) returning id`,
);
const UPSERT_FILE = new Template(
  (v) => sql`
      insert into files (path, namespace, dir, name, sha256, size, mtime, uploaded_at, version_id)
      values (${v(0)}, ${v(1)}, ${v(2)}, ${v(3)}, ${v(4)}, ${v(5)}, ${v(6)}, ${v(7)}, ${v(8)})
      on conflict (path) do update set sha256 = excluded.sha256, size = excluded.size, mtime = excluded.mtime,
        uploaded_at = excluded.uploaded_at, version_id = excluded.version_id`,
);
const FILE_STATE = new Template((v) => sql`select sha256, mtime from files where path = ${v(0)}`);
const HEAD = new Template(
  (v) => sql`select id, sha256, uploaded_at as "uploadedAt" from versions where path = ${v(0)} order by ${NEWEST_FIRST} limit 1`,
);
const ADD_USAGE = new Template((v) => sql`update clients set used_bytes = used_bytes + ${v(0)} where name = ${v(1)}`);
const UNTRASH = new Template((v) => sql`delete from trash where path = ${v(0)}`);
const FILE_ENTRY = new Template((v) => sql`select ${ENTRY} from ${FILES_WITH_BLOBS} where f.path = ${v(0)}`);
const BLOB_ROW = new Template((v) => sql`select ${BLOB} from blobs where sha256 = ${v(0)}`);
/** Read by every upload before its body (quotaOf reads it again, locked, in the transaction). */
const QUOTA_USAGE = new Template((v) => sql`select quota_bytes as "quotaBytes", used_bytes as "usedBytes" from clients where name = ${v(0)}`);
const CLIENT_BY_TOKEN = new Template((v) => sql`select ${CLIENT} from clients where token_id = ${v(0)}`);

/**
 * A statement around a list of items (an IN list, rows of a VALUES list), as templates of 2^k
 * items: a list is filled up to the next power of two with its last item again, so each size is
 * rendered once, not the whole list again at every call. Only for statements where an item twice
 * means what it means once (IN; inserts that do nothing on conflict).
 */
class ListTemplate {
  private readonly bySize = new Map<number, Template>();
  /** `item` spells one item of `width` slots (slot(0) .. slot(width - 1)); `build` the statement around the items, joined by commas. */
  constructor(
    private readonly build: (items: SQL) => SQL,
    private readonly width = 1,
    private readonly item: (slot: (k: number) => Placeholder) => SQL = (slot) => sql`${slot(0)}`,
  ) {}

  /** Binds the items' values, `width` of them per item, in order. */
  bind(values: readonly unknown[]): Bound {
    const count = values.length / this.width;
    if (count < 1 || !Number.isInteger(count)) throw new Error(`a list of items of ${this.width} values needs at least one whole item`);
    let size = 1;
    while (size < count) size *= 2;
    let t = this.bySize.get(size);
    if (!t) {
      const { width, item, build } = this;
      t = new Template((v) => build(sql.join(Array.from({ length: size }, (_, i) => item((k) => v(i * width + k))), sql`, `)));
      this.bySize.set(size, t);
    }
    const last = values.slice(values.length - this.width);
    const filled = count === size ? values : values.concat(...Array.from({ length: size - count }, () => last));
    return t.bind(...filled);
  }
}

const INSERT_DIRS = new ListTemplate(
  (rows) => sql`insert into dirs (path, parent, name) values ${rows} on conflict (path) do nothing`,
  3,
  (v) => sql`(${v(0)}, ${v(1)}, ${v(2)})`,
);
const FILE_STATES = new ListTemplate((list) => sql`select path, sha256, mtime from files where path in (${list})`);
const NEWEST_TIMES = new ListTemplate((list) => sql`select path, max(uploaded_at) as "at" from versions where path in (${list}) group by path`);
const UNTRASH_ALL = new ListTemplate((list) => sql`delete from trash where path in (${list})`);
const BLOB_ROWS = new ListTemplate((list) => sql`select ${BLOB} from blobs where sha256 in (${list})`);
const FILE_ENTRIES = new ListTemplate((list) => sql`select ${ENTRY} from ${FILES_WITH_BLOBS} where f.path in (${list})`);

/** Same expression as the files_dir_mtime index, so that index serves this order. */
const MTIME_KEY = sql.raw('case when f.mtime is null then f.uploaded_at else f.mtime end');

function toEntry(r: Row): FileEntry {
  const path = str(r.path);
  return {
    path,
    namespace: namespaceOf(path),
    dir: parentOf(path),
    name: nameOf(path),
    sha256: str(r.sha256),
    size: num(r.size),
    mtime: numOrNull(r.mtime),
    uploadedAt: num(r.uploadedAt),
    version: String(num(r.version)),
    state: str(r.state) === 'cold' ? 'cold' : 'hot',
    codec: strOrNull(r.codec),
    storedSize: num(r.storedSize),
    lastAccess: num(r.lastAccess),
  };
}

function toVersion(r: Row): VersionRecord {
  const sha256 = strOrNull(r.sha256);
  return {
    version: String(num(r.version)),
    path: str(r.path),
    sha256,
    size: num(r.size),
    mtime: numOrNull(r.mtime),
    uploadedAt: num(r.uploadedAt),
    deleted: sha256 === null,
  };
}

function toHold(r: Row): PruneHold {
  return { namespace: str(r.namespace), heldSince: numOrNull(r.heldSince), reason: str(r.reason), resumedAt: numOrNull(r.resumedAt) };
}

/** A version id from a client: digits only, else it names no version. */
function versionId(v: string): number | undefined {
  if (!/^\d{1,15}$/.test(v)) return undefined;
  return Number(v);
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
    quotaBytes: numOrNull(r.quotaBytes),
    lastSeen: numOrNull(r.lastSeen),
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

function toPass(r: Row): PassRecord {
  return {
    id: String(num(r.id)),
    namespace: str(r.namespace),
    root: str(r.root),
    host: str(r.host),
    folder: str(r.folder),
    startedAt: num(r.startedAt),
    endedAt: num(r.endedAt),
    receivedAt: num(r.receivedAt),
    scanned: num(r.scanned),
    uploaded: num(r.uploaded),
    failed: num(r.failed),
    deleted: num(r.deleted),
    bytes: num(r.bytes),
    stopped: bool(r.stopped),
  };
}

function toRoot(r: Row): RootRecord {
  return {
    path: str(r.path),
    namespace: str(r.namespace),
    sourceId: str(r.sourceId),
    host: str(r.host),
    folder: str(r.folder),
    createdAt: num(r.createdAt),
    claimedAt: num(r.claimedAt),
    lastSeen: num(r.lastSeen),
  };
}

/** Paths per IN list: far below SQLite's and PostgreSQL's limits on bound parameters. */
const IN_LIST_MAX = 900;

/** `a, b, c` of bound values, for an IN list. */
const listOf = (values: readonly (string | number)[]): SQL => sql.join(values.map((v) => sql`${v}`), sql`, `);

function chunksOf<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

const where = (conds: SQL[]): SQL => (conds.length ? sql` where ${sql.join(conds, sql` and `)}` : sql``);

/** `column` starts with `prefix`: a range on the column's index (case-sensitive and exact). */
export function prefixCondition(column: SQL, prefix: string): SQL {
  return pageCondition(column, prefix, undefined) ?? sql`1 = 1`;
}

/** The bounds of a page of a listing by path, as values: pageCondition's, or a template's. */
interface PageBounds<V> {
  after?: V;
  from?: V;
  below?: V;
  like?: V;
}

/**
 * A page of a listing by path: under `prefix` (when not ''), after the cursor `after`. One
 * lower bound only: given `path >= prefix and path > after`, SQLite seeks on the first and
 * steps over every row before the cursor, which made a walk quadratic. Byte order, as the
 * catalogs compare (SQLite BINARY, PostgreSQL COLLATE "C").
 */
function pageBounds(prefix: string, after: string | undefined): PageBounds<string> {
  const fromCursor = after !== undefined && (prefix === '' || Buffer.compare(Buffer.from(after), Buffer.from(prefix)) >= 0);
  const b: PageBounds<string> = {};
  if (fromCursor) b.after = after;
  if (prefix !== '') {
    if (!fromCursor) b.from = prefix;
    const end = prefixEnd(prefix);
    // The range alone is exact (byte order is code point order). LIKE only where it has no end:
    // with a bound pattern SQLite re-compiles the statement on every run (~50 us each).
    if (end !== null) b.below = end;
    else b.like = likePrefix(prefix);
  }
  return b;
}

function boundsCondition(column: SQL, b: PageBounds<unknown>): SQL | undefined {
  const conds: SQL[] = [];
  if (b.after !== undefined) conds.push(sql`${column} > ${b.after}`);
  if (b.from !== undefined) conds.push(sql`${column} >= ${b.from}`);
  if (b.below !== undefined) conds.push(sql`${column} < ${b.below}`);
  if (b.like !== undefined) conds.push(sql`${column} like ${b.like} escape '\\'`);
  return conds.length ? sql.join(conds, sql` and `) : undefined;
}

/** pageBounds as a condition on `column`. */
export function pageCondition(column: SQL, prefix: string, after: string | undefined): SQL | undefined {
  return boundsCondition(column, pageBounds(prefix, after));
}

/**
 * A paged statement as one template per shape of its page condition (which bounds it has: six
 * shapes at most), so that a listing is not rendered and hashed again at each request.
 * `build` gets the condition, or undefined for no bounds, and the slot after the bounds' slots.
 */
class PagedTemplate {
  readonly #byShape = new Map<string, Template>();
  constructor(private readonly build: (cond: SQL | undefined, next: Placeholder) => SQL) {}

  bind(prefix: string, after: string | undefined, next: unknown): Bound {
    const b = pageBounds(prefix, after);
    const values = [b.after, b.from, b.below, b.like].filter((v) => v !== undefined);
    const shape = [b.after, b.from, b.below, b.like].map((v) => (v === undefined ? '-' : '+')).join('');
    let t = this.#byShape.get(shape);
    if (!t) {
      t = new Template((v) => {
        let n = 0;
        const slot = (x: unknown) => (x === undefined ? undefined : v(n++));
        const cond = boundsCondition(sql.raw('f.path'), { after: slot(b.after), from: slot(b.from), below: slot(b.below), like: slot(b.like) });
        return this.build(cond, v(n));
      });
      this.#byShape.set(shape, t);
    }
    return t.bind(...values, next);
  }
}

const LIST_FILES = new PagedTemplate((cond, limit) => sql`select ${ENTRY} from ${FILES_WITH_BLOBS}${where(cond ? [cond] : [])} order by f.path limit ${limit}`);

const BOOL = (b: boolean) => (b ? 1 : 0);
/** A pass that backed everything up: nothing failed and it ran to the end. */
const SUCCESS = sql`failed = 0 and stopped = ${BOOL(false)}`;

export class SqlCatalog implements Catalog {
  /** quotaOf's statement: its row lock is spelled by the dialect. */
  private readonly quotaRow: Template;

  constructor(readonly driver: SqlDriver) {
    const forUpdate = sql.raw(driver.dialect.forUpdate);
    this.quotaRow = new Template((v) => sql`select quota_bytes as "quotaBytes", used_bytes as "usedBytes" from clients where name = ${v(0)}${forUpdate}`);
  }

  private async one(q: SQL | Bound, db: SqlExec = this.driver): Promise<Row | undefined> {
    return (await db.all(q))[0];
  }

  // --- clients ---

  async addClient(client: ClientRecord): Promise<void> {
    await this.driver.transaction(async (tx) => {
      await tx.lock(`client:${client.name}`);
      const existing = await this.one(sql`select revoked_at as "revokedAt" from clients where name = ${client.name}`, tx);
      if (existing && existing.revokedAt === null) throw new ConflictError(`client ${client.name} already exists`);
      // used_bytes: a re-added name keeps counting what its namespace still holds.
      await tx.run(sql`
        insert into clients (name, token_id, token_hash, admin, created_at, revoked_at, quota_bytes, used_bytes)
        values (${client.name}, ${client.tokenId}, ${client.tokenHash}, ${BOOL(client.admin)}, ${client.createdAt}, ${client.revokedAt}, ${client.quotaBytes},
          (select coalesce(sum(size), 0) from versions where namespace = ${client.name}))
        on conflict (name) do update set token_id = excluded.token_id, token_hash = excluded.token_hash,
          admin = excluded.admin, created_at = excluded.created_at, revoked_at = excluded.revoked_at, quota_bytes = excluded.quota_bytes, last_seen = null`);
    });
  }

  async getClient(name: string): Promise<ClientRecord | undefined> {
    const r = await this.one(sql`select ${CLIENT} from clients where name = ${name}`);
    return r && toClient(r);
  }

  async getClientByTokenId(tokenId: string): Promise<ClientRecord | undefined> {
    const r = await this.one(CLIENT_BY_TOKEN.bind(tokenId));
    return r && toClient(r);
  }

  async listClients(): Promise<ClientRecord[]> {
    return (await this.driver.all(sql`select ${CLIENT} from clients order by name`)).map(toClient);
  }

  async revokeClient(name: string, now: number): Promise<boolean> {
    return (await this.driver.run(sql`update clients set revoked_at = ${now} where name = ${name} and revoked_at is null`)) > 0;
  }

  async setQuota(name: string, quotaBytes: number | null): Promise<boolean> {
    return (await this.driver.run(sql`update clients set quota_bytes = ${quotaBytes} where name = ${name}`)) > 0;
  }

  async quotaUsage(namespace: string): Promise<QuotaUsage> {
    const r = await this.one(QUOTA_USAGE.bind(namespace));
    return { quotaBytes: numOrNull(r?.quotaBytes), usedBytes: num(r?.usedBytes) };
  }

  /**
   * Moves a namespace's usage by `delta` bytes. Every transaction that adds or removes content
   * versions calls it once, after its other locks: on PostgreSQL it row-locks the client, and
   * taking that lock last keeps lock order the same everywhere (no deadlocks).
   */
  private async addUsage(tx: SqlExec, namespace: string, delta: number): Promise<void> {
    if (delta !== 0) await tx.run(ADD_USAGE.bind(delta, namespace));
  }

  /** A namespace's quota and usage, row-locked: concurrent writes of it take turns from here to commit. */
  private async quotaOf(tx: SqlExec, namespace: string): Promise<{ quota: number | null; used: number }> {
    const r = await this.one(this.quotaRow.bind(namespace), tx);
    return { quota: numOrNull(r?.quotaBytes), used: num(r?.usedBytes) };
  }

  /** Refuses a new version of `size` bytes that would take the namespace past its quota (inside putFile's transaction). */
  private async checkQuota(tx: SqlExec, namespace: string, size: number): Promise<void> {
    const { quota, used } = await this.quotaOf(tx, namespace);
    if (quota !== null && used + size > quota) throw new QuotaExceededError(namespace, used, quota, size);
  }

  async touchClients(seen: ReadonlyMap<string, number>): Promise<void> {
    if (seen.size === 0) return;
    const greatest = sql.raw(this.driver.dialect.greatest);
    await this.driver.transaction(async (tx) => {
      // By name: two instances flushing at once row-lock the clients in the same order.
      for (const [name, at] of [...seen].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
        await tx.run(sql`update clients set last_seen = ${greatest}(coalesce(last_seen, 0), ${at}) where name = ${name}`);
      }
    });
  }

  // --- backup passes ---

  async recordPass(p: PassInput): Promise<PassRecord> {
    return this.driver.transaction(async (tx) => {
      const [row] = await tx.all(sql`
        insert into passes (namespace, root, host, folder, started_at, ended_at, received_at, scanned, uploaded, failed, deleted, bytes, stopped)
        values (${p.namespace}, ${p.root}, ${p.host}, ${p.folder}, ${p.startedAt}, ${p.endedAt}, ${p.receivedAt}, ${p.scanned}, ${p.uploaded},
          ${p.failed}, ${p.deleted}, ${p.bytes}, ${BOOL(p.stopped)})
        returning id`);
      // Bounded per namespace, but "last successful backup" survives any number of failing passes.
      await tx.run(sql`
        delete from passes where namespace = ${p.namespace}
          and id <= (select id from passes where namespace = ${p.namespace} order by id desc limit 1 offset ${PASSES_KEPT})
          and id not in (select max(id) from passes where namespace = ${p.namespace} and ${SUCCESS} group by root)`);
      return { ...p, id: String(num(row?.id)) };
    });
  }

  async listPasses(query: { namespace?: string; limit: number; before?: string }): Promise<PassRecord[]> {
    const conds: SQL[] = [];
    if (query.namespace !== undefined) conds.push(sql`namespace = ${query.namespace}`);
    if (query.before !== undefined) {
      const before = versionId(query.before);
      if (before === undefined) return [];
      conds.push(sql`id < ${before}`);
    }
    return (await this.driver.all(sql`select ${PASS} from passes${where(conds)} order by id desc limit ${query.limit}`)).map(toPass);
  }

  async sourcePasses(namespace: string): Promise<SourcePasses[]> {
    const rows = (
      await this.driver.all(sql`
        select ${PASS} from passes where id in (select max(id) from passes where namespace = ${namespace} group by root)
          or id in (select max(id) from passes where namespace = ${namespace} and ${SUCCESS} group by root)
        order by root, id`)
    ).map(toPass);
    const out = new Map<string, SourcePasses>();
    for (const p of rows) {
      const success = p.failed === 0 && !p.stopped;
      const s = out.get(p.root);
      // Rows come oldest first per root: the later one is the newest pass.
      if (!s) out.set(p.root, { root: p.root, last: p, lastSuccess: success ? p : null });
      else {
        s.last = p;
        if (success) s.lastSuccess = p;
      }
    }
    return [...out.values()];
  }

  async lastSuccessfulPasses(): Promise<Map<string, number>> {
    const rows = await this.driver.all(sql`select namespace, max(received_at) as "at" from passes where ${SUCCESS} group by namespace`);
    return new Map(rows.map((r) => [str(r.namespace), num(r.at)]));
  }

  // --- files ---

  async getFile(path: string): Promise<FileEntry | undefined> {
    const r = await this.one(FILE_ENTRY.bind(path));
    return r && toEntry(r);
  }

  /** The newest version of a path (inside a transaction that holds its lock). */
  private async head(tx: SqlExec, path: string): Promise<Row | undefined> {
    return this.one(HEAD.bind(path), tx);
  }

  private async addVersion(
    tx: SqlExec,
    v: { path: string; sha256: string | null; size: number; mtime: number | null; now: number },
  ): Promise<{ id: number; at: number }> {
    // Server time, but never before the path's previous version: "newest" stays one order.
    const at = Math.max(v.now, num((await this.head(tx, v.path))?.uploadedAt));
    return { id: await this.insertVersion(tx, v, at), at };
  }

  /** A version row uploaded at `at`; its id. */
  private async insertVersion(tx: SqlExec, v: { path: string; sha256: string | null; size: number; mtime: number | null }, at: number): Promise<number> {
    const [row] = await tx.all(INSERT_VERSION.bind(v.path, namespaceOf(v.path), v.sha256, v.size, v.mtime, at));
    return num(row?.id);
  }

  /** The blob row of new content (hot, just used); content already known keeps its row. */
  private async insertBlob(tx: SqlExec, input: PutFileInput): Promise<void> {
    await tx.run(INSERT_BLOB.bind(input.sha256, input.size, input.now));
  }

  /** The path's current row, pointing at version `id` uploaded at `at`. */
  private async upsertFile(tx: SqlExec, input: PutFileInput, at: number, id: number): Promise<void> {
    const { path } = input;
    await tx.run(UPSERT_FILE.bind(path, namespaceOf(path), parentOf(path), nameOf(path), input.sha256, input.size, input.mtime, at, id));
  }

  async putFile(input: PutFileInput): Promise<PutFileResult> {
    return this.driver.transaction((tx) => this.putIn(tx, input));
  }

  /**
   * putFile for many paths in one transaction, with the same rows and results as one putFile
   * each, in a few statements per batch instead of ten per file: the current rows, the newest
   * version times and each namespace's quota are read once for all paths; usage, trash, folders
   * and the answers are written and read once at the end. Per file stay the blob, version and
   * file rows. A path past its quota is refused alone (in path order, as one by one).
   */
  async putFiles(inputs: readonly PutFileInput[]): Promise<(PutFileResult | QuotaExceededError)[]> {
    if (new Set(inputs.map((i) => i.path)).size !== inputs.length) throw new Error('putFiles: a path appears twice');
    // Locks in path order, so that two batches touching the same paths never wait on each other in a circle.
    const order = inputs.map((input, i) => ({ input, i })).sort((a, b) => (a.input.path < b.input.path ? -1 : a.input.path > b.input.path ? 1 : 0));
    return this.driver.transaction(async (tx) => {
      // Every path lock before the first path's write: a write row-locks the client (usage, quota),
      // and a path lock awaited while holding that row would close a cycle with a put of that path.
      for (const { input } of order) await this.lockForPut(tx, input.path);
      const paths = order.map((o) => o.input.path);
      const before = new Map<string, Row>();
      const newest = new Map<string, number>();
      for (const part of chunksOf(paths, IN_LIST_MAX)) {
        for (const r of await tx.all(FILE_STATES.bind(part))) before.set(str(r.path), r);
        for (const r of await tx.all(NEWEST_TIMES.bind(part))) newest.set(str(r.path), num(r.at));
      }
      // Quota and usage per namespace, read (and on PostgreSQL row-locked) once, counted here.
      const usage = new Map<string, { quota: number | null; used: number; delta: number }>();
      const namespaceUsage = async (namespace: string) => {
        let u = usage.get(namespace);
        if (!u) {
          u = { ...(await this.quotaOf(tx, namespace)), delta: 0 };
          usage.set(namespace, u);
        }
        return u;
      };
      const results: (PutFileResult | QuotaExceededError)[] = new Array(inputs.length);
      const written: { i: number; created: boolean; changed: boolean; path: string }[] = [];
      const fresh: string[] = [];
      const folders = new Set<string>();
      for (const { input, i } of order) {
        const b = before.get(input.path);
        const same = b !== undefined && b.sha256 === input.sha256 && numOrNull(b.mtime) === input.mtime;
        const namespace = namespaceOf(input.path);
        if (!same && input.quota !== 'exempt') {
          const u = await namespaceUsage(namespace);
          if (u.quota !== null && u.used + input.size > u.quota) {
            results[i] = new QuotaExceededError(namespace, u.used, u.quota, input.size);
            continue;
          }
        }
        await this.insertBlob(tx, input);
        if (!same) {
          // As addVersion: server time, never before the path's previous version.
          const at = Math.max(input.now, newest.get(input.path) ?? 0);
          const id = await this.insertVersion(tx, input, at);
          newest.set(input.path, at);
          const u = await namespaceUsage(namespace);
          u.used += input.size;
          u.delta += input.size;
          await this.upsertFile(tx, input, at, id);
          if (!b) fresh.push(input.path);
          // A folder already added brought its own ancestors.
          if (!folders.has(parentOf(input.path))) for (const d of ancestorsOf(input.path)) folders.add(d);
        }
        written.push({ i, created: !b, changed: !same, path: input.path });
      }
      // By name, like touchClients: two batches lock client rows in the same order.
      for (const [namespace, u] of [...usage].sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0))) await this.addUsage(tx, namespace, u.delta);
      for (const part of chunksOf(fresh, IN_LIST_MAX)) await tx.run(UNTRASH_ALL.bind(part));
      await this.addDirs(tx, [...folders].sort());
      const entries = new Map<string, FileEntry>();
      for (const part of chunksOf(written.map((w) => w.path), IN_LIST_MAX)) {
        for (const r of await tx.all(FILE_ENTRIES.bind(part))) entries.set(str(r.path), toEntry(r));
      }
      for (const w of written) {
        const entry = entries.get(w.path);
        if (!entry) throw new Error('file row vanished inside its own transaction');
        results[w.i] = { created: w.created, changed: w.changed, entry };
      }
      return results;
    });
  }

  private async lockForPut(tx: SqlTx, path: string): Promise<void> {
    // Folders: shared, so that puts run side by side but never while a delete prunes them.
    for (const d of ancestorsOf(path)) await tx.lock(`dir:${d}`, 'shared');
    await tx.lock(`file:${path}`);
  }

  private async putIn(tx: SqlTx, input: PutFileInput): Promise<PutFileResult> {
    // Taken again inside a batch (PostgreSQL's advisory locks stack within a transaction).
    await this.lockForPut(tx, input.path);
    const before = await this.one(FILE_STATE.bind(input.path), tx);
    const same = before && before.sha256 === input.sha256 && numOrNull(before.mtime) === input.mtime;
    const namespace = namespaceOf(input.path);
    // Every version counts its full size, even when the content is shared (with another
    // path or namespace): a quota limits what the user keeps, not what the disk holds.
    // Checked before anything is written, so that a batch can refuse this path alone.
    if (!same && input.quota !== 'exempt') await this.checkQuota(tx, namespace, input.size);
    await this.insertBlob(tx, input);
    if (!same) {
      const { id, at } = await this.addVersion(tx, input);
      await this.addUsage(tx, namespace, input.size);
      await this.upsertFile(tx, input, at, id);
      if (!before) await tx.run(UNTRASH.bind(input.path));
      await this.addDirs(tx, ancestorsOf(input.path));
    }
    const entry = await this.one(FILE_ENTRY.bind(input.path), tx);
    if (!entry) throw new Error('file row vanished inside its own transaction');
    return { created: !before, changed: !same, entry: toEntry(entry) };
  }

  /** Folder rows for these folders (those already there stay), three bound values per row. */
  private async addDirs(tx: SqlExec, folders: readonly string[]): Promise<void> {
    for (const part of chunksOf(folders, IN_LIST_MAX / 3)) await tx.run(INSERT_DIRS.bind(part.flatMap((d) => [d, parentOf(d), nameOf(d)])));
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
    return (await this.one(sql`select 1 as x from versions where sha256 = ${sha256} limit 1`, db)) !== undefined;
  }

  async deleteFile(path: string, now: number): Promise<boolean> {
    return this.driver.transaction(async (tx) => {
      for (const d of ancestorsOf(path)) await tx.lock(`dir:${d}`);
      await tx.lock(`file:${path}`);
      const before = await this.one(sql`select version_id as "versionId" from files where path = ${path}`, tx);
      if (!before) return false;
      const { id, at } = await this.addVersion(tx, { path, sha256: null, size: 0, mtime: null, now });
      await tx.run(sql`delete from files where path = ${path}`);
      await this.pruneDirs(tx, path);
      await tx.run(sql`
        insert into trash (path, namespace, version_id, last_version_id, deleted_at)
        values (${path}, ${namespaceOf(path)}, ${id}, ${num(before.versionId)}, ${at})
        on conflict (path) do update set version_id = excluded.version_id, last_version_id = excluded.last_version_id, deleted_at = excluded.deleted_at`);
      return true;
    });
  }

  async listFiles(query: ListFilesQuery): Promise<FileEntry[]> {
    if (query.at !== undefined) return this.listFilesAt({ ...query, at: query.at });
    // The range uses the path index and is case-sensitive; LIKE alone matched 'Alice/' for 'alice/'.
    const rows = await this.driver.all(LIST_FILES.bind(query.prefix, query.after, query.limit));
    return rows.map(toEntry);
  }

  async listPathHashes(query: { prefix: string; after?: string; limit: number }): Promise<{ path: string; sha256: string }[]> {
    const cond = pageCondition(sql.raw('path'), query.prefix, query.after);
    const rows = await this.driver.all(sql`select path, sha256 from files${where(cond ? [cond] : [])} order by path limit ${query.limit}`);
    return rows.map((r) => ({ path: str(r.path), sha256: str(r.sha256) }));
  }

  /**
   * The tree at a moment: paths (from the history, by path) a chunk at a time, each with its
   * newest version uploaded at or before `at` through the (path, uploaded_at, id) index;
   * deletions are dropped and the next chunk read until the page is full.
   */
  private async listFilesAt(query: ListFilesQuery & { at: number }): Promise<FileEntry[]> {
    const out: FileEntry[] = [];
    let after = query.after;
    const chunk = Math.min(Math.max(query.limit, 50), 1000);
    for (;;) {
      const cond = pageCondition(sql.raw('path'), query.prefix, after);
      const conds = cond ? [cond] : [];
      // A left join: one row per path of the chunk, so the last row is where the next chunk starts.
      const rows = await this.driver.all(sql`
        select p.path as "chunkPath", ${VERSION_ENTRY}
        from (select distinct path from versions${where(conds)} order by path limit ${chunk}) p
        left join versions v on v.id = (select v2.id from versions v2 where v2.path = p.path and v2.uploaded_at <= ${query.at}
                                        order by v2.uploaded_at desc, v2.id desc limit 1)
        left join blobs b on b.sha256 = v.sha256
        order by p.path`);
      for (const r of rows) {
        // No version yet at `at`, or a deletion: not in the tree then.
        if (r.sha256 === null || r.sha256 === undefined) continue;
        out.push(toEntry(r));
        if (out.length >= query.limit) return out;
      }
      const last = rows[rows.length - 1];
      if (rows.length < chunk || !last) return out;
      after = str(last.chunkPath);
    }
  }

  // --- history ---

  async listVersions(query: ListVersionsQuery): Promise<VersionRecord[]> {
    const conds: SQL[] = [sql`path = ${query.path}`];
    if (query.before !== undefined) {
      const id = versionId(query.before);
      if (id === undefined) return [];
      // Within a path time never goes back as ids grow, so the cursor's time bounds the rest:
      // the index seeks there instead of stepping over every newer version (a cursor version
      // pruned meanwhile leaves only the id test, still right).
      conds.push(sql`id < ${id}`);
      conds.push(sql`uploaded_at <= coalesce((select c.uploaded_at from versions c where c.id = ${id}), ${Number.MAX_SAFE_INTEGER})`);
    }
    return (await this.driver.all(sql`select ${VERSION} from versions v${where(conds)} order by ${NEWEST_FIRST} limit ${query.limit}`)).map(toVersion);
  }

  async getVersion(path: string, version: string): Promise<FileEntry | undefined> {
    const id = versionId(version);
    if (id === undefined) return undefined;
    const r = await this.one(sql`select ${VERSION_ENTRY} from versions v join blobs b on b.sha256 = v.sha256 where v.id = ${id} and v.path = ${path}`);
    return r && toEntry(r);
  }

  async listDeleted(query: { prefix: string; limit: number; after?: string }): Promise<DeletedEntry[]> {
    const cond = pageCondition(sql.raw('t.path'), query.prefix, query.after);
    const conds = cond ? [cond] : [];
    const rows = await this.driver.all(sql`
      select t.path, t.deleted_at as "deletedAt", t.version_id as "deletedVersion", v.id as "version", v.sha256, v.size, v.mtime, v.uploaded_at as "uploadedAt"
      from trash t join versions v on v.id = t.last_version_id${where(conds)} order by t.path limit ${query.limit}`);
    return rows.map((r) => ({
      path: str(r.path),
      deletedAt: num(r.deletedAt),
      deletedVersion: String(num(r.deletedVersion)),
      version: String(num(r.version)),
      sha256: str(r.sha256),
      size: num(r.size),
      mtime: numOrNull(r.mtime),
      uploadedAt: num(r.uploadedAt),
    }));
  }

  async listHistory(query: { after?: string; limit: number }): Promise<HistoryPage[]> {
    const cond = query.after === undefined ? sql`` : sql` where path > ${query.after}`;
    const paths = (await this.driver.all(sql`select path from versions${cond} group by path having count(*) > 1 order by path limit ${query.limit}`)).map((r) =>
      str(r.path),
    );
    if (!paths.length) return [];
    const rows = await this.driver.all(sql`
      select ${VERSION} from versions v where v.path in (${listOf(paths)}) order by v.path, v.uploaded_at, v.id`);
    const byPath = new Map<string, VersionRecord[]>(paths.map((p) => [p, []]));
    for (const r of rows) byPath.get(str(r.path))?.push(toVersion(r));
    return paths.map((path) => ({ path, versions: byPath.get(path) ?? [] }));
  }

  /**
   * Makes the trash row of `path` agree with what is left of its history after versions were
   * removed: a deletion on top points at the newest content below it; a history of deletions
   * alone is dropped whole.
   */
  private async settleHead(tx: SqlExec, path: string): Promise<void> {
    const head = await this.head(tx, path);
    if (!head || head.sha256 !== null) {
      await tx.run(UNTRASH.bind(path));
      return;
    }
    const content = await this.one(
      sql`select id from versions where path = ${path} and sha256 is not null order by ${NEWEST_FIRST} limit 1`,
      tx,
    );
    if (!content) {
      await tx.run(sql`delete from versions where path = ${path}`);
      await tx.run(UNTRASH.bind(path));
      return;
    }
    await tx.run(sql`
      insert into trash (path, namespace, version_id, last_version_id, deleted_at)
      values (${path}, ${namespaceOf(path)}, ${num(head.id)}, ${num(content.id)}, ${num(head.uploadedAt)})
      on conflict (path) do update set version_id = excluded.version_id, last_version_id = excluded.last_version_id, deleted_at = excluded.deleted_at`);
  }

  /** Of these blobs, the ones no version references any more. */
  private async unreferenced(tx: SqlExec, shas: Iterable<string>): Promise<string[]> {
    const out: string[] = [];
    for (const sha of new Set(shas)) if (!(await this.referenced(tx, sha))) out.push(sha);
    return out;
  }

  async deleteVersions(path: string, versions: string[]): Promise<{ removed: number; orphans: string[] }> {
    const ids = versions.map(versionId).filter((v): v is number => v !== undefined);
    if (!ids.length) return { removed: 0, orphans: [] };
    return this.driver.transaction(async (tx) => {
      for (const d of ancestorsOf(path)) await tx.lock(`dir:${d}`, 'shared');
      await tx.lock(`file:${path}`);
      const list = listOf(ids);
      // The current content is never removed, whatever the caller asked.
      const keep = sql`coalesce((select version_id from files where path = ${path}), -1)`;
      const doomed = await tx.all(sql`select sha256, size from versions where path = ${path} and id in (${list}) and id <> ${keep}`);
      const removed = await tx.run(sql`delete from versions where path = ${path} and id in (${list}) and id <> ${keep}`);
      await this.settleHead(tx, path);
      await this.addUsage(tx, namespaceOf(path), -doomed.reduce((sum, r) => sum + num(r.size), 0));
      const shas = doomed.map((r) => r.sha256).filter((x): x is string => typeof x === 'string');
      return { removed, orphans: await this.unreferenced(tx, shas) };
    });
  }

  async purge(pathOrPrefix: string): Promise<{ paths: number; versions: number; orphans: string[] }> {
    const cond = pathOrPrefix.endsWith('/') ? prefixCondition(sql.raw('path'), pathOrPrefix) : sql`path = ${pathOrPrefix}`;
    let paths = 0;
    let removed = 0;
    const orphans: string[] = [];
    for (;;) {
      const page = (await this.driver.all(sql`select distinct path from versions where ${cond} order by path limit 200`)).map((r) => str(r.path));
      if (!page.length) break;
      await this.driver.transaction(async (tx) => {
        // Usage per namespace, written after every path lock is held (addUsage's lock order).
        const freed = new Map<string, number>();
        for (const path of page) {
          for (const d of ancestorsOf(path)) await tx.lock(`dir:${d}`);
          await tx.lock(`file:${path}`);
          const shas = (await tx.all(sql`select distinct sha256 from versions where path = ${path} and sha256 is not null`)).map((r) => str(r.sha256));
          const bytes = await this.one(sql`select coalesce(sum(size), 0) as n from versions where path = ${path}`, tx);
          freed.set(namespaceOf(path), (freed.get(namespaceOf(path)) ?? 0) + num(bytes?.n));
          removed += await tx.run(sql`delete from versions where path = ${path}`);
          if ((await tx.run(sql`delete from files where path = ${path}`)) > 0) await this.pruneDirs(tx, path);
          await tx.run(UNTRASH.bind(path));
          orphans.push(...(await this.unreferenced(tx, shas)));
          paths++;
        }
        for (const [namespace, bytes] of freed) await this.addUsage(tx, namespace, -bytes);
      });
    }
    return { paths, versions: removed, orphans: [...new Set(orphans)] };
  }

  /**
   * A blob whose bytes are gone (fsck --repair): every version that held it goes; a path whose
   * current content it was gets a deletion on top, so it leaves the listing and its older
   * content stays restorable from the trash. Returns the paths whose current content was lost.
   */
  async dropLostBlob(sha256: string, now: number): Promise<string[]> {
    const current = (await this.driver.all(sql`select path from files where sha256 = ${sha256} order by path`)).map((r) => str(r.path));
    for (const path of current) await this.deleteFile(path, now);
    const touched = (await this.driver.all(sql`select distinct path from versions where sha256 = ${sha256}`)).map((r) => str(r.path));
    for (const path of touched) {
      await this.driver.transaction(async (tx) => {
        await tx.lock(`file:${path}`);
        const lost = await this.one(sql`select coalesce(sum(size), 0) as n from versions where path = ${path} and sha256 = ${sha256}`, tx);
        await tx.run(sql`delete from versions where path = ${path} and sha256 = ${sha256}`);
        await this.settleHead(tx, path);
        await this.addUsage(tx, namespaceOf(path), -num(lost?.n));
      });
    }
    return current;
  }

  async recentChanges(namespace: string, since: number): Promise<RecentChanges> {
    const changed = await this.one(sql`
      select count(distinct v.path) as n from versions v
      where v.namespace = ${namespace} and v.uploaded_at >= ${since}
        and exists (select 1 from versions p where p.path = v.path and p.id < v.id and p.sha256 is not null)`);
    const files = await this.one(sql`select count(*) as n from files where namespace = ${namespace}`);
    const gone = await this.one(sql`select count(*) as n from trash where namespace = ${namespace} and deleted_at >= ${since}`);
    return { changed: num(changed?.n), total: num(files?.n) + num(gone?.n) };
  }

  async getPruneHold(namespace: string): Promise<PruneHold | undefined> {
    const r = await this.one(sql`select namespace, held_since as "heldSince", reason, resumed_at as "resumedAt" from prune_holds where namespace = ${namespace}`);
    return r && toHold(r);
  }

  async listPruneHolds(): Promise<PruneHold[]> {
    return (await this.driver.all(sql`select namespace, held_since as "heldSince", reason, resumed_at as "resumedAt" from prune_holds order by namespace`)).map(
      toHold,
    );
  }

  async holdPruning(namespace: string, now: number, reason: string): Promise<void> {
    await this.driver.run(sql`
      insert into prune_holds (namespace, held_since, reason) values (${namespace}, ${now}, ${reason})
      on conflict (namespace) do update set held_since = excluded.held_since, reason = excluded.reason`);
  }

  async resumePruning(namespace: string, now: number): Promise<boolean> {
    return (await this.driver.run(sql`update prune_holds set held_since = null, resumed_at = ${now} where namespace = ${namespace} and held_since is not null`)) > 0;
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
    return (await this.one(sql`select 1 as x from versions where namespace = ${namespace} and sha256 = ${sha256} limit 1`)) !== undefined;
  }

  async stats(namespace?: string): Promise<Stats> {
    const fileWhere = namespace === undefined ? sql`` : sql` where namespace = ${namespace}`;
    const f = await this.one(sql`select count(*) as n, coalesce(sum(size), 0) as bytes from files${fileWhere}`);
    const v = await this.one(sql`
      select count(*) as n, coalesce(sum(size), 0) as bytes from versions${fileWhere}`);
    const deleted = await this.one(sql`select count(*) as n from trash${fileWhere}`);
    const blobWhere = namespace === undefined ? sql`` : sql` where sha256 in (select sha256 from versions where namespace = ${namespace})`;
    const b = await this.one(sql`
      select count(*) as n, coalesce(sum(size), 0) as bytes, coalesce(sum(stored_size), 0) as stored,
        coalesce(sum(case when state = 'hot' then 1 else 0 end), 0) as hot,
        coalesce(sum(case when state = 'cold' then 1 else 0 end), 0) as cold
      from blobs${blobWhere}`);
    const quota = namespace === undefined ? null : (await this.quotaUsage(namespace)).quotaBytes;
    return {
      files: num(f?.n),
      versions: num(v?.n),
      // Every files row is one content version: what the versions hold beyond it is history.
      historyBytes: num(v?.bytes) - num(f?.bytes),
      usedBytes: num(v?.bytes),
      quotaBytes: quota,
      deleted: num(deleted?.n),
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
    const r = await this.one(BLOB_ROW.bind(sha256));
    return r && toBlob(r);
  }

  async getBlobs(sha256s: readonly string[]): Promise<Map<string, BlobRecord>> {
    const found = new Map<string, BlobRecord>();
    for (const part of chunksOf([...new Set(sha256s)], IN_LIST_MAX)) {
      for (const r of await this.driver.all(BLOB_ROWS.bind(part))) found.set(str(r.sha256), toBlob(r));
    }
    return found;
  }

  async blobRefCount(sha256: string): Promise<number> {
    return num((await this.one(sql`select count(*) as n from versions where sha256 = ${sha256}`))?.n);
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
    await this.touchLatest([...accesses], { table: 'blobs', key: 'sha256', keyType: 'text', time: 'last_access' });
  }

  async touchVersions(accesses: ReadonlyMap<string, number>): Promise<void> {
    const pairs = [...accesses].flatMap(([v, at]) => {
      const id = versionId(v);
      return id === undefined ? [] : [[id, at] as const];
    });
    await this.touchLatest(pairs, { table: 'versions', key: 'id', keyType: 'bigint', time: 'read_at' });
  }

  /** Sets `time` to the later of its value and each pair's, one statement per 200 pairs (a derived table). */
  private async touchLatest(
    pairs: ReadonlyArray<readonly [string | number, number]>,
    t: { table: 'blobs' | 'versions'; key: string; keyType: 'text' | 'bigint'; time: string },
  ): Promise<void> {
    const greatest = sql.raw(this.driver.dialect.greatest);
    const [table, key, time] = [sql.raw(t.table), sql.raw(t.key), sql.raw(t.time)];
    for (let i = 0; i < pairs.length; i += 200) {
      const values = pairs
        .slice(i, i + 200)
        .map(([k, at], j) => (j === 0 ? sql`select cast(${k} as ${sql.raw(t.keyType)}) as k, cast(${at} as bigint) as at` : sql`select ${k}, ${at}`));
      await this.driver.run(sql`
        update ${table} set ${time} = ${greatest}(coalesce(${time}, 0), v.at)
        from (${sql.join(values, sql` union all `)}) as v
        where ${table}.${key} = v.k`);
    }
  }

  async countFileHeat(namespace: string, coldBefore: number, minSize: number): Promise<{ hot: number; cold: number }> {
    const r = await this.one(sql`
      select count(*) as n,
        coalesce(sum(case when f.size >= ${minSize} and coalesce(fv.read_at, f.uploaded_at) <= ${coldBefore} then 1 else 0 end), 0) as cold
      from files f left join versions fv on fv.id = f.version_id where f.namespace = ${namespace}`);
    return { hot: num(r?.n) - num(r?.cold), cold: num(r?.cold) };
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

  // --- backup roots ---

  async claimRoot(input: ClaimRootInput): Promise<ClaimRootResult> {
    const namespace = namespaceOf(input.path);
    return this.driver.transaction(async (tx) => {
      // One claim per namespace at a time: two sources never both get overlapping roots.
      await tx.lock(`roots:${namespace}`);
      const exact = await this.one(sql`select ${ROOT} from roots where path = ${input.path}`, tx);
      // A root inside this one or around it (a parent folder): the two would write the same paths.
      const ancestors = ancestorsOf(input.path);
      const around = ancestors.length ? sql`path in (${sql.join(ancestors.map((a) => sql`${a}`), sql`, `)})` : sql`1 = 0`;
      const nested = await this.one(
        sql`select ${ROOT} from roots where namespace = ${namespace} and (${around} or (${prefixCondition(sql.raw('path'), `${input.path}/`)})) order by path limit 1`,
        tx,
      );
      if (nested) return { outcome: 'nested', other: toRoot(nested) };
      if (!exact) {
        await tx.run(sql`
          insert into roots (path, namespace, source_id, host, folder, created_at, claimed_at, last_seen)
          values (${input.path}, ${namespace}, ${input.sourceId}, ${input.host}, ${input.folder}, ${input.now}, ${input.now}, ${input.now})`);
        const root: RootRecord = { path: input.path, namespace, sourceId: input.sourceId, host: input.host, folder: input.folder, createdAt: input.now, claimedAt: input.now, lastSeen: input.now };
        return { outcome: 'created', root };
      }
      const previous = toRoot(exact);
      const same = previous.sourceId === input.sourceId;
      if (!same && !input.adopt) return { outcome: 'taken', other: previous };
      const claimedAt = same ? previous.claimedAt : input.now;
      // The same source may spell itself differently (a host name's case): the latest spelling shows.
      await tx.run(sql`
        update roots set source_id = ${input.sourceId}, host = ${input.host}, folder = ${input.folder}, claimed_at = ${claimedAt}, last_seen = ${input.now}
        where path = ${input.path}`);
      const root: RootRecord = { ...previous, sourceId: input.sourceId, host: input.host, folder: input.folder, claimedAt, lastSeen: input.now };
      return same ? { outcome: 'same', root } : { outcome: 'adopted', root, previous };
    });
  }

  async listRoots(namespace?: string): Promise<RootRecord[]> {
    const cond = namespace === undefined ? sql`` : sql` where namespace = ${namespace}`;
    return (await this.driver.all(sql`select ${ROOT} from roots${cond} order by path`)).map(toRoot);
  }

  async releaseRoot(path: string): Promise<boolean> {
    return (await this.driver.run(sql`delete from roots where path = ${path}`)) > 0;
  }

  async close(): Promise<void> {
    await this.driver.close();
  }
}
