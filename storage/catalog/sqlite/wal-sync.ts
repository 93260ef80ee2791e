import { closeSync, fdatasync, fdatasyncSync, openSync } from 'node:fs';
import { StorageUnavailableError } from '../../../core/errors.js';

/** fdatasync as node:fs has it (a test passes its own to see when syncs start and to end them). */
export type DataSync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

const noop = () => {};

/**
 * The catalog's WAL made durable off the main thread. SQLite runs with `synchronous = NORMAL`, so
 * a COMMIT writes its frames into the `-wal` file without waiting for the disk; this class then
 * fdatasyncs that file in the thread pool, and whoever needs the commit durable waits for it
 * (`durable()`). With `synchronous = FULL` the same fsync ran inside the COMMIT, on the main
 * thread: 2-20 ms on a small VM during which no request was served.
 *
 * Why that is as safe as FULL: NORMAL keeps the database consistent through a power cut (WAL
 * frames carry checksums, a commit is whole or absent; the WAL is synced before every checkpoint
 * and the database after it); what it gives up is only that the last commits may be lost. A
 * commit is reported done only after an fdatasync that began after it has finished, and an
 * fdatasync through any descriptor of the file flushes all of its written pages, the frames of
 * every commit before it included. SQLite removes the WAL file only when its last connection
 * closes, so the descriptor kept here stays the file's while the catalog is open.
 *
 * Commits are counted; syncs never overlap, and the commits made while one runs share the next.
 * A failed sync fails whoever waits for it, and from then on `failure` is set: the driver refuses
 * writes until the server restarts (fail-stop, as PostgreSQL does on a failed fsync). After a
 * failed fsync Linux may have dropped the unwritten pages and a later fsync may succeed without
 * them, and WAL frames are chained by checksum, so a commit acknowledged after that could vanish
 * with the ones before it. Reads go on (`readable`): what is on disk can still be restored from.
 */
export class WalSync {
  #fd: number | undefined;
  /** Commits counted so far, and how many of them are known to be on disk. */
  #committed = 0;
  #durable = 0;
  #running: { upTo: number; done: Promise<void> } | undefined;
  #queued: Promise<void> | undefined;
  #failed: StorageUnavailableError | undefined;

  constructor(
    /** The `-wal` file: the database file's path with `-wal` appended. */
    readonly path: string,
    private readonly sync: DataSync = fdatasync,
  ) {}

  /** A COMMIT has just written its frames (call right after it). */
  committed(): void {
    this.#committed++;
  }

  /** Set once a sync has failed: writes are refused from then on (see the class comment). */
  get failure(): StorageUnavailableError | undefined {
    return this.#failed;
  }

  /** What a read waits for: durable(), or nothing once syncs have failed (reads are served as they are). */
  readable(): Promise<void> | undefined {
    return this.#failed ? undefined : this.durable();
  }

  /**
   * Resolves once every commit counted so far is on disk; undefined when they already are, so
   * that a caller with nothing to wait for goes on without a turn of the event loop.
   */
  durable(): Promise<void> | undefined {
    const target = this.#committed;
    if (this.#durable >= target) return undefined;
    if (this.#failed) return Promise.reject(this.#failed);
    const running = this.#running;
    if (running && running.upTo >= target) return running.done;
    if (this.#queued) return this.#queued;
    if (!running) return this.#start();
    // The running sync may have begun before this commit's frames were written: the next one.
    const queued = running.done.then(noop, noop).then(() => {
      this.#queued = undefined;
      return this.#start();
    });
    this.#queued = queued;
    return queued;
  }

  /** The sync running or queued, if any (settles either way; its outcome is its waiters'). */
  inFlight(): Promise<void> | undefined {
    return this.#queued ?? this.#running?.done;
  }

  /** Syncs now, on this thread: at start-up (after migrations), before anything is served. */
  syncNow(): void {
    const fd = this.#open();
    if (fd !== undefined) fdatasyncSync(fd);
    this.#durable = this.#committed;
  }

  /** Waits for the syncs still owed (their waiters see a failure; closing goes on), then closes the descriptor. */
  async close(): Promise<void> {
    await this.durable()?.catch(noop);
    if (this.#fd !== undefined) closeSync(this.#fd);
    this.#fd = undefined;
  }

  #start(): Promise<void> {
    const upTo = this.#committed;
    const done: Promise<void> = new Promise<void>((resolve, reject) => {
      let fd: number | undefined;
      try {
        fd = this.#open();
      } catch (err) {
        reject(err);
        return;
      }
      // No WAL file: nothing was ever written to one (a checkpointed, removed WAL is in the database file).
      if (fd === undefined) resolve();
      else this.sync(fd, (err) => (err ? reject(err) : resolve()));
    })
      .then(
        () => {
          if (upTo > this.#durable) this.#durable = upTo;
        },
        (err: NodeJS.ErrnoException) => {
          this.#failed ??= new StorageUnavailableError(
            `the catalog's write-ahead log ${this.path} could not be synced to disk (${err.code ?? err.message}): writes are refused until the server is restarted`,
            'the catalog could not write to its disk: writes are refused until the server is restarted',
          );
          throw err;
        },
      )
      .finally(() => {
        if (this.#running?.done === done) this.#running = undefined;
      });
    // Every caller handles the outcome through its own promise; this one must not be unhandled.
    done.catch(noop);
    this.#running = { upTo, done };
    return done;
  }

  /** The WAL's descriptor (opened once, read-write so that the sync is allowed everywhere); undefined when there is no WAL file. */
  #open(): number | undefined {
    if (this.#fd === undefined) {
      try {
        this.#fd = openSync(this.path, 'r+');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
        throw err;
      }
    }
    return this.#fd;
  }
}
