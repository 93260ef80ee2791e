/**
 * The sweeper: every `intervalMs` it pages through the catalog's compression candidates (hot,
 * unread for the hot time) and compresses them on a p-queue of bounded concurrency. Promotions
 * (a cold blob was read) run on the same queue ahead of compressions, so the number of zlib
 * streams at once stays bounded whatever mix of work arrives.
 */
import { cpus } from 'node:os';
import PQueue from 'p-queue';
import { DEFAULT_CODEC } from './codec.js';
import { NotFoundError } from '../../core/errors.js';
import { compressBlob, promoteBlob, type SwapContext } from './form-swap.js';
import { coldCutoff, makePolicy, shouldCompress, type HotColdPolicy } from './hot-cold-policy.js';

export interface SweeperOptions extends SwapContext {
  hotTimeMs: number;
  intervalMs: number;
  /** zlib streams at once; 0 = auto (see resolveConcurrency). */
  concurrency: number;
  codec?: string;
  policy?: Partial<Omit<HotColdPolicy, 'hotTimeMs'>>;
  /** Candidates fetched from the catalog per query. */
  pageSize?: number;
  /** A read not yet flushed to the catalog (AccessTracker.lastSeen). */
  lastSeen?: (sha256: string) => number | undefined;
  /** Told about every finished sweep, work or not (metrics). */
  onReport?: (report: SweepReport) => void;
  /** Retention, run at the start of every sweep (storage/history/pruner.ts). */
  pruner?: { pruneOnce(): Promise<unknown> };
}

export interface SweepReport {
  /** Candidates the catalog offered. */
  candidates: number;
  compressed: number;
  incompressible: number;
  /** Changed under the sweep (read, deleted) and left alone. */
  skipped: number;
  failed: number;
  /** Plain bytes of the blobs compressed in this sweep, and what they take now. */
  plainBytes: number;
  storedBytes: number;
  savedBytes: number;
  ms: number;
}

/**
 * Compression jobs at once. Auto is CPU count - 1 (one core is left to serve requests), at least
 * 1, and below libuv's threadpool size: zlib and file reads share that pool, and a sweep that
 * took every thread would make downloads queue behind compression chunks.
 */
export function resolveConcurrency(configured: number, cpuCount: number, threadpoolSize: number): number {
  if (configured > 0) return configured;
  return Math.max(1, Math.min(cpuCount - 1, threadpoolSize - 1));
}

export function threadpoolSize(env: NodeJS.ProcessEnv = process.env): number {
  const n = Number(env.UV_THREADPOOL_SIZE);
  return Number.isInteger(n) && n > 0 ? n : 4;
}

const PROMOTE = 1;
const COMPRESS = 0;
/** Failed blobs are not retried every sweep (until restart); the set is bounded. */
const MAX_REMEMBERED_FAILURES = 10_000;

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

export class Sweeper {
  readonly queue: PQueue;
  readonly policy: HotColdPolicy;
  readonly codec: string;
  readonly #o: SweeperOptions;
  readonly #abort = new AbortController();
  readonly #promotions = new Map<string, Promise<boolean>>();
  readonly #failed = new Set<string>();
  #timer: NodeJS.Timeout | undefined;
  #sweeping: Promise<SweepReport> | undefined;
  #started = false;

  constructor(options: SweeperOptions) {
    this.#o = options;
    this.policy = makePolicy(options.hotTimeMs, options.policy);
    this.codec = options.codec ?? DEFAULT_CODEC;
    this.queue = new PQueue({ concurrency: resolveConcurrency(options.concurrency, cpus().length, threadpoolSize()) });
  }

  get stopped(): boolean {
    return this.#abort.signal.aborted;
  }

  /** Sweeps every `intervalMs` (the next sweep is timed from the end of the previous one). */
  start(): void {
    if (this.#started || this.stopped) return;
    this.#started = true;
    this.#schedule();
  }

  #schedule(): void {
    if (this.stopped) return;
    this.#timer = setTimeout(() => {
      this.sweepOnce()
        .catch((err: unknown) => this.#o.log(`sweep failed: ${(err as Error).stack ?? String(err)}`))
        .finally(() => this.#schedule());
    }, this.#o.intervalMs);
    this.#timer.unref();
  }

  /** One sweep now (joins the running one, if any). Logs one line when there was work. */
  sweepOnce(): Promise<SweepReport> {
    this.#sweeping ??= this.#sweep().finally(() => {
      this.#sweeping = undefined;
    });
    return this.#sweeping;
  }

  async #sweep(): Promise<SweepReport> {
    if (this.#o.pruner) {
      // Old versions go first, so that compression does not work on blobs about to be freed.
      await this.#o.pruner.pruneOnce().catch((err: unknown) => this.#o.log(`prune failed: ${(err as Error).stack ?? String(err)}`));
    }
    const t0 = performance.now();
    const r: SweepReport = { candidates: 0, compressed: 0, incompressible: 0, skipped: 0, failed: 0, plainBytes: 0, storedBytes: 0, savedBytes: 0, ms: 0 };
    const now = this.#o.clock();
    const pageSize = this.#o.pageSize ?? 200;
    const jobs = new Set<Promise<void>>();
    let after: { lastAccess: number; sha256: string } | undefined;
    while (!this.stopped) {
      const page = await this.#o.catalog.listCompressionCandidates({ cutoff: coldCutoff(now, this.policy), minSize: this.policy.minSize, limit: pageSize, after });
      for (const row of page) {
        if (this.stopped) break;
        if (!shouldCompress(row, now, this.policy) || this.#failed.has(row.sha256)) continue;
        r.candidates++;
        // Backpressure: the queue never holds more than a few jobs, whatever the catalog holds.
        await this.queue.onSizeLessThan(this.queue.concurrency);
        const job = this.queue.add(() => this.#compress(row.sha256, r), { priority: COMPRESS }).finally(() => jobs.delete(job));
        jobs.add(job);
      }
      const last = page[page.length - 1];
      if (!last || page.length < pageSize) break;
      after = { lastAccess: last.lastAccess, sha256: last.sha256 };
    }
    await Promise.all(jobs);
    r.savedBytes = r.plainBytes - r.storedBytes;
    r.ms = Math.round(performance.now() - t0);
    this.#o.onReport?.(r);
    if (r.candidates > 0) {
      this.#o.log(
        `sweep: compressed ${r.compressed} file(s) (${mb(r.plainBytes)} -> ${mb(r.storedBytes)}, saved ${mb(r.savedBytes)}), ` +
          `${r.incompressible} incompressible, ${r.skipped} skipped, ${r.failed} failed, in ${r.ms} ms`,
      );
    }
    return r;
  }

  async #compress(sha256: string, r: SweepReport): Promise<void> {
    if (this.stopped) return;
    try {
      const out = await compressBlob(this.#o, sha256, {
        codec: this.codec,
        policy: this.policy,
        signal: this.#abort.signal,
        lastSeen: this.#o.lastSeen,
      });
      if (out.kind === 'skipped') r.skipped++;
      else if (out.kind === 'incompressible') r.incompressible++;
      else {
        r.compressed++;
        r.plainBytes += out.plainSize;
        r.storedBytes += out.storedSize;
      }
    } catch (err) {
      if (this.stopped) return;
      // Deleted while queued: nothing to compress, nothing wrong.
      if (err instanceof NotFoundError && !(await this.#o.catalog.getBlob(sha256))) {
        r.skipped++;
        return;
      }
      r.failed++;
      if (this.#failed.size < MAX_REMEMBERED_FAILURES) this.#failed.add(sha256);
      this.#o.log(`sweep: compressing blob ${sha256} failed (not retried until restart): ${(err as Error).message}`);
    }
  }

  /**
   * Makes a cold blob hot again, ahead of queued compressions. Concurrent callers for one blob
   * share one promotion. Resolves false when there was nothing to do; never rejects (logged).
   */
  promote(sha256: string): Promise<boolean> {
    const running = this.#promotions.get(sha256);
    if (running) return running;
    if (this.stopped) return Promise.resolve(false);
    const p = this.queue
      .add(async () => (this.stopped ? false : promoteBlob(this.#o, sha256, this.#abort.signal)), { priority: PROMOTE })
      .then(
        (done) => done === true,
        (err: unknown) => {
          if (!this.stopped) this.#o.log(`promoting blob ${sha256} failed (it stays cold and readable): ${(err as Error).message}`);
          return false;
        },
      )
      .finally(() => this.#promotions.delete(sha256));
    this.#promotions.set(sha256, p);
    return p;
  }

  /** Stops sweeping: running compressions and promotions are aborted (their temporary data removed). */
  async stop(): Promise<void> {
    clearTimeout(this.#timer);
    this.#abort.abort();
    await this.#sweeping?.catch(() => {});
    await this.queue.onIdle();
  }
}
