import type Database from 'better-sqlite3';
import type { SQL } from 'drizzle-orm';
import { SQLiteSyncDialect } from 'drizzle-orm/sqlite-core';
import { Bound, TemplateCache, type Row, type SqlDialect, type SqlDriver, type SqlTx } from '../sql-driver.js';
import type { WalSync } from './wal-sync.js';

const render = new SQLiteSyncDialect();

/** Transactions committed together at most (a bound on what one failed commit takes with it). */
export const GROUP_MAX = 256;

/** A statement prepared once; a reader's rows come as arrays (`raw`) and `toRow` names their values. */
interface Prepared {
  stmt: Database.Statement;
  toRow: ((values: unknown[]) => Row) | undefined;
}

/**
 * Rows as objects with `names` for keys, in order (a name twice: the later value, as SQLite's own
 * objects have it). better-sqlite3 builds a row object through the V8 API one named property at a
 * time; arrays named here in JS cost a third less for a listing page's rows (docs/BENCHMARKS.md).
 */
function rowOf(names: readonly string[]): (values: unknown[]) => Row {
  return (values) => {
    const row: Row = {};
    for (let i = 0; i < names.length; i++) row[names[i] as string] = values[i];
    return row;
  };
}

/** Transactions whose work is done and that wait for one COMMIT together. */
interface Group {
  members: number;
  committed: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

/**
 * SqlDriver over one better-sqlite3 connection. Statements run synchronously; transactions
 * are async (the query layer awaits between statements), so they take turns through one
 * queue, and a statement issued while a transaction is open waits for it instead of joining it.
 *
 * Group commit: a transaction's work runs in a savepoint of an open SQLite transaction, and the
 * COMMIT waits until the end of the event-loop turn, so every transaction that comes in
 * meanwhile commits with it: one WAL write and one fsync (synchronous = FULL) for many
 * concurrent uploads instead of one each. A transaction's promise settles only after that
 * COMMIT (or at once when its own work fails: its savepoint is rolled back, the others go on).
 * Reads and single statements never see uncommitted work (see `outside`). An idle server's
 * transaction commits one setImmediate later than it would alone.
 *
 * Durable commits (`walSync`, storage/catalog/sqlite/wal-sync.ts): the connection runs with
 * `synchronous = NORMAL`, the COMMIT only writes the WAL, and the WAL is fdatasynced in the
 * thread pool while the main thread goes on; a transaction, a write outside one, and a read
 * settle only once every commit before them is on disk, so nobody is told of (or shown) work
 * that a power cut could still take back. The next group forms and commits while a sync runs.
 */
export class SqliteDriver implements SqlDriver {
  readonly dialect: SqlDialect = { name: 'sqlite', likeFolded: 'like', greatest: 'max', forUpdate: '' };
  private readonly statements = new Map<string, Prepared>();
  /** Rendered once each; their statements are prepared once through `statements` like any other text. */
  private readonly templates = new TemplateCache(render);
  private tail: Promise<void> = Promise.resolve();
  private queued = 0;
  private group: Group | undefined;
  /** Told each statement before it runs (tests read query plans with it). */
  trace?: (sql: string, params: unknown[]) => void;
  /** Set by a statement that wrote (outside a transaction that is its own commit). */
  #wrote = false;

  constructor(
    readonly sqlite: Database.Database,
    /** Makes commits durable off the main thread; absent: SQLite's own setting decides (FULL syncs in the COMMIT). */
    private readonly walSync?: WalSync,
  ) {}

  private prepared(q: SQL | Bound): Prepared & { params: unknown[] } {
    const { sql, params } = q instanceof Bound ? this.templates.render(q) : render.sqlToQuery(q);
    this.trace?.(sql, params);
    let p = this.statements.get(sql);
    if (!p) {
      const stmt = this.sqlite.prepare(sql);
      p = { stmt, toRow: stmt.reader ? rowOf(stmt.raw(true).columns().map((c) => c.name)) : undefined };
      // Bounded: statements are built from a fixed set of shapes, but IN lists vary in length.
      if (this.statements.size > 500) this.statements.clear();
      this.statements.set(sql, p);
    }
    return { ...p, params };
  }

  private allNow(q: SQL | Bound): Row[] {
    const { stmt, toRow, params } = this.prepared(q);
    // A write with `returning` is a reader too: SQLite's own answer says whether it writes.
    if (!stmt.readonly) this.#writing();
    if (toRow) return (stmt.all(...params) as unknown[][]).map(toRow);
    stmt.run(...params);
    return [];
  }

  private runNow(q: SQL | Bound): number {
    const { stmt, params } = this.prepared(q);
    this.#writing();
    return stmt.run(...params).changes;
  }

  /** A statement is about to write: outside a transaction (its own commit) refused once WAL syncs have failed. */
  #writing(): void {
    this.#wrote = true;
    const failed = this.sqlite.inTransaction ? undefined : this.walSync?.failure;
    if (failed) throw failed;
  }

  /** Runs `fn` when every earlier queued unit of work has finished. */
  private exclusive<T>(fn: () => T | Promise<T>): Promise<T> {
    const prev = this.tail;
    let release!: () => void;
    this.tail = new Promise<void>((r) => (release = r));
    this.queued++;
    return prev.then(fn).finally(() => {
      this.queued--;
      release();
    });
  }

  /**
   * Outside transactions: at once when nothing is queued, else in turn; never beside uncommitted
   * work. A group waiting for its end-of-turn COMMIT is waited for once (holding no place in the
   * queue, so the COMMIT can run), then, still open (a new one) or met in the queue, committed first.
   * Waiting rather than committing at once is what lets the requests of one turn share a COMMIT:
   * nearly every request reads (its token) while others' uploads wait for theirs.
   */
  private async outside<T>(now: () => T): Promise<T> {
    const open = this.group;
    if (open && this.queued === 0) await open.committed.catch(() => {});
    let wrote = false;
    const run = () => {
      if (this.group) this.commitGroup(this.group);
      this.#wrote = false;
      const result = now();
      // A write outside a transaction is a commit of its own.
      wrote = this.#wrote;
      if (wrote) this.walSync?.committed();
      return result;
    };
    // Synchronously when idle: nothing can start in between.
    const result = this.queued === 0 ? run() : await this.exclusive(run);
    // What it wrote, or read, is answered once it is on disk (outside the queue: others go on).
    const durable = wrote ? this.walSync?.durable() : this.walSync?.readable();
    if (durable) await durable;
    return result;
  }

  async all(q: SQL | Bound): Promise<Row[]> {
    return this.outside(() => this.allNow(q));
  }

  async run(q: SQL | Bound): Promise<number> {
    return this.outside(() => this.runNow(q));
  }

  async transaction<T>(fn: (tx: SqlTx) => Promise<T>): Promise<T> {
    let group: Group | undefined;
    const result = await this.exclusive(async () => {
      // Once WAL syncs have failed nothing more is committed (wal-sync.ts says why).
      const failed = this.walSync?.failure;
      if (failed) throw failed;
      const tx: SqlTx = {
        all: async (q) => this.allNow(q),
        run: async (q) => this.runNow(q),
        lock: async () => {},
      };
      // The first member needs no savepoint (statements inside one keep a statement journal, up to
      // half again their cost): nobody joins before it is done, so when it fails it rolls back alone.
      const first = this.group === undefined;
      const g = this.joinGroup();
      group = g;
      if (!first) this.sqlite.exec('savepoint member');
      try {
        const r = await fn(tx);
        if (!first) this.sqlite.exec('release member');
        this.leaveGroup(g);
        return r;
      } catch (err) {
        if (first || !this.sqlite.inTransaction) {
          if (this.sqlite.inTransaction) this.sqlite.exec('rollback');
          this.breakGroup(g, err);
        } else {
          this.sqlite.exec('rollback to member');
          this.sqlite.exec('release member');
          this.leaveGroup(g);
        }
        throw err;
      }
    });
    // Settled outside the queue, so that the next transaction can join before the COMMIT.
    await group?.committed;
    return result;
  }

  /** The open group (BEGIN IMMEDIATE when there is none). */
  private joinGroup(): Group {
    // A group is open until its queued COMMIT runs: whoever runs before that joins it.
    let g = this.group;
    if (!g) {
      this.sqlite.exec('begin immediate');
      let resolve!: () => void;
      let reject!: (err: unknown) => void;
      const committed = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      // Nobody may be left with an unhandled rejection: members await it through their own promise.
      committed.catch(() => {});
      g = { members: 0, committed, resolve, reject };
      this.group = g;
    }
    g.members++;
    return g;
  }

  /**
   * A member is done: the COMMIT is queued at the end of this turn, or now when the group is full.
   * While a WAL sync runs, the COMMIT waits for its end, so that the transactions arriving
   * meanwhile join this group: one COMMIT and one sync for all of them, as many as a COMMIT that
   * synced on the main thread gathered (committing each turn's group at once made groups of one
   * or two, each writing the same index pages again). A COMMIT queued for a group that is already
   * over (committed, broken) does nothing.
   */
  private leaveGroup(g: Group): void {
    const commit = () => void this.exclusive(() => this.commitGroup(g));
    if (g.members >= GROUP_MAX) commit();
    else if (g.members === 1) {
      setImmediate(() => {
        const syncing = this.walSync?.inFlight();
        if (syncing) syncing.then(commit, commit);
        else commit();
      });
    }
  }

  /** The whole transaction is rolled back (the first member failed, or SQLite ended it): every member fails with it. */
  private breakGroup(g: Group, err: unknown): void {
    if (this.group === g) this.group = undefined;
    g.reject(err);
  }

  private commitGroup(g: Group): void {
    if (this.group !== g) return;
    this.group = undefined;
    try {
      this.sqlite.exec('commit');
    } catch (err) {
      if (this.sqlite.inTransaction) this.sqlite.exec('rollback');
      g.reject(err);
      return;
    }
    this.walSync?.committed();
    const durable = this.walSync?.durable();
    if (durable) durable.then(g.resolve, g.reject);
    else g.resolve();
  }

  async close(): Promise<void> {
    await this.tail;
    if (this.group) this.commitGroup(this.group);
    await this.walSync?.close();
    if (this.sqlite.open) this.sqlite.close();
  }
}
