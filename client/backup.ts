import type { ClientConfig } from './args.js';
import { decideFromStat } from './change-detect.js';
import { systemClock, type Clock } from './clock.js';
import { displayName, displayText } from './display-name.js';
import { CancelledError, HttpStatusError, ProtocolError } from './errors.js';
import { expectStatus, HttpClient } from './http.js';
import { didSomething, emptySummary, formatBytes, formatDuration, Reporter, type Output, type PassSummary } from './progress.js';
import { pathApi, relativeKey, remotePath } from './remote-path.js';
import { UPLOAD_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { examine, scanTree, type ScanEntry } from './scanner.js';
import { StateDb } from './state-db.js';
import { TokenBucket } from './token-bucket.js';
import { detectTus } from './tus-upload.js';
import { LINK_MIN_BYTES, TUS_CHUNK, TUS_THRESHOLD, Uploader, type FileRef, type Outcome, type UploadContext } from './uploader.js';

export interface ClientOptions {
  /** Where progress goes (default stdout) and whether it is a terminal. */
  out?: Output;
  tty?: boolean;
  clock?: Clock;
  /** Reaching the server at the start of a pass (watch mode: patient; --once: a few tries). */
  connectRetry?: RetryPolicy;
  /** Each request of a file upload. */
  uploadRetry?: RetryPolicy;
  tusThreshold?: number;
  tusChunk?: number;
  /** Smallest file that tries POST /api/link first (default 0: all; for benchmarks). */
  linkMinBytes?: number;
  /** Cancels everything in flight (Ctrl+C, stop()). */
  signal?: AbortSignal;
}

/** --once: about 0.5 + 1 + 2 + 4 s for a server that is restarting, then give up. */
export const ONCE_CONNECT_RETRY: RetryPolicy = { attempts: 5, baseMs: 1000, maxMs: 8000 };
/** Watch mode: a server that is down is waited for, forever, checking at least every 30 s. */
export const WATCH_CONNECT_RETRY: RetryPolicy = { attempts: Infinity, baseMs: 1000, maxMs: 30_000 };

/** The parts of a pass that are not one file's outcome. */
type PassKind = 'full scan' | 'changes';

/**
 * One backup of one folder to one server: state DB, HTTP client, upload queue. Passes (a full
 * scan, or the paths the watcher reported) feed files to the queue and count what happened.
 */
export class BackupClient {
  readonly db: StateDb;
  readonly http: HttpClient;
  readonly reporter: Reporter;
  readonly bucket?: TokenBucket;
  readonly uploader: Uploader;
  namespace = '';
  tus = false;
  /** Passes reported so far: only a pass that did something gets a number (no gaps). */
  private passes = 0;
  private readonly clock: Clock;
  private readonly signal: AbortSignal;
  private readonly reportedSkips = new Set<string>();
  private readonly stateFiles: Set<string>;
  /** Deferred files and when to look at them again (watch mode schedules from this). */
  readonly deferred = new Map<string, { file: FileRef; atMs: number }>();

  constructor(
    readonly config: ClientConfig,
    readonly options: ClientOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.signal = options.signal ?? new AbortController().signal;
    this.reporter = new Reporter(options.out ?? process.stdout, options.tty ?? false, this.clock.now);
    this.db = new StateDb(config.statePath);
    this.db.setMeta('server', config.server);
    this.db.setMeta('folder', config.folder);
    this.http = new HttpClient(config.server, config.token);
    if (config.limitRate !== null) this.bucket = new TokenBucket({ rate: config.limitRate, clock: this.clock });
    this.uploader = new Uploader(() => this.uploadContext(), config.concurrency);
    // Windows paths compare case-insensitively.
    const db = pathApi(config.flavor).resolve(config.statePath);
    const folded = config.flavor === 'win32' ? db.toLowerCase() : db;
    this.stateFiles = new Set(['', '-wal', '-shm', '-journal'].map((suffix) => folded + suffix));
  }

  private uploadContext(): UploadContext {
    return {
      http: this.http,
      db: this.db,
      namespace: this.namespace,
      prefix: this.config.prefix,
      settleMs: this.config.settleMs,
      clock: this.clock,
      retry: this.options.uploadRetry ?? UPLOAD_RETRY,
      bucket: this.bucket,
      tus: this.tus,
      tusThreshold: this.options.tusThreshold ?? TUS_THRESHOLD,
      tusChunk: this.options.tusChunk ?? TUS_CHUNK,
      linkMinBytes: this.options.linkMinBytes ?? LINK_MIN_BYTES,
      signal: this.signal,
      onSending: (size) => this.reporter.queued(size),
      onBytes: (n) => this.reporter.bytes(n),
      note: (line) => this.reporter.line(line),
    };
  }

  /** Learns the namespace (GET /api/whoami) and whether tus is offered; retried per `policy`. */
  async connect(policy: RetryPolicy): Promise<void> {
    let warned = false;
    const who = await withRetry(
      async () => {
        const res = expectStatus(await this.http.request('GET', 'api/whoami', { signal: this.signal }), [200], 'GET', '/api/whoami');
        return JSON.parse(res.text) as { name: string; admin: boolean };
      },
      {
        policy,
        clock: this.clock,
        signal: this.signal,
        onRetry: (err, attempt, ms) => {
          if (!warned || attempt % 10 === 0) this.reporter.line(`waiting   server ${this.config.server} not reachable (${displayText((err as Error).message)}); next try in ${formatDuration(ms)}`);
          warned = true;
        },
      },
    );
    if (typeof who.name !== 'string' || who.name === '') throw new Error('the server did not say who we are (GET /api/whoami)');
    if (warned || this.namespace === '') this.reporter.line(`connected ${this.config.server} as ${displayName(who.name)}; backing up ${displayText(this.config.folder)} to ${displayName([who.name, ...this.config.prefix].join('/'))}/`);
    this.namespace = who.name;
    try {
      this.tus = await detectTus(this.http, this.signal);
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      this.tus = false;
    }
  }

  /** Paths the walk must not report: our own state DB and its journal files. */
  isStateFile = (abs: string): boolean => this.stateFiles.has(this.config.flavor === 'win32' ? abs.toLowerCase() : abs);

  /** A full pass: walk the whole folder. */
  fullPass(): Promise<PassSummary> {
    return this.runPass('full scan', scanTree(this.config.folder, { flavor: this.config.flavor, ignore: this.isStateFile }));
  }

  /** A pass over the paths the watcher reported (files, or folders that appeared). */
  changesPass(absPaths: Iterable<string>, segmentsOf: (abs: string) => string[] | undefined): Promise<PassSummary> {
    const self = this;
    // A new folder arrives as events for itself and for everything in it: report each file once.
    const seen = new Set<string>();
    const once = (e: ScanEntry): boolean => {
      const key = relativeKey(e.segments);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    };
    async function* entries(): AsyncGenerator<ScanEntry> {
      for (const abs of absPaths) {
        const segments = segmentsOf(abs);
        if (!segments || self.isStateFile(abs)) continue;
        const e = await examine(abs, segments);
        if (e === 'directory') {
          for await (const inner of scanTree(abs, { flavor: self.config.flavor, ignore: self.isStateFile })) {
            const entry = { ...inner, segments: [...segments, ...inner.segments] };
            if (once(entry)) yield entry;
          }
        } else if (e && once(e)) {
          yield e;
        }
      }
    }
    return this.runPass('changes', entries());
  }

  private async runPass(kind: PassKind, entries: AsyncIterable<ScanEntry>): Promise<PassSummary> {
    const summary = emptySummary(0);
    const started = this.clock.now();
    try {
      for await (const entry of entries) {
        if (this.signal.aborted) break;
        const key = relativeKey(entry.segments);
        if (entry.kind === 'skipped') {
          summary.skipped++;
          if (!this.reportedSkips.has(key)) {
            this.reportedSkips.add(key);
            this.reporter.line(`skipped   ${displayName(key)} (${entry.reason === 'symlink' ? 'symbolic link, not followed' : 'not a regular file'})`);
          }
          continue;
        }
        if (entry.kind === 'error') {
          this.fail(summary, key || '.', `cannot read (${entry.code}); tried again next pass`);
          continue;
        }
        this.deferred.delete(key);
        // The common case of a rescan, settled here without a trip through the queue.
        const remote = remotePath(this.namespace, this.config.prefix, entry.segments);
        if (decideFromStat(entry, this.db.getFile(key), remote, this.clock.now(), this.config.settleMs).action === 'unchanged') {
          summary.unchanged++;
          continue;
        }
        await this.uploader.submit(entry, (outcome, file) => this.record(summary, file, outcome));
      }
    } catch (err) {
      if (!(err instanceof CancelledError)) throw err;
    }
    // Every entry is queued by now (or merged into a running task): idle means all reported.
    await this.uploader.onIdle();
    summary.durationMs = this.clock.now() - started;
    // A quiet rescan in watch mode says nothing; the first pass and --once always report.
    const firstOrOnce = kind === 'full scan' && (this.passes === 0 || this.config.once);
    if (firstOrOnce || didSomething(summary)) {
      summary.pass = ++this.passes;
      this.reporter.passDone(summary, kind);
    }
    return summary;
  }

  private fail(summary: PassSummary, key: string, message: string): void {
    summary.failed++;
    summary.failures.push({ path: key, message });
    this.reporter.line(`failed    ${displayName(key)}: ${displayText(message)}`);
  }

  private record(summary: PassSummary, file: FileRef, o: Outcome): void {
    const key = relativeKey(file.segments);
    switch (o.kind) {
      case 'unchanged':
      case 'same':
        summary.unchanged++;
        return;
      case 'gone':
        return;
      case 'deferred':
        summary.deferred++;
        this.deferred.set(key, { file, atMs: o.retryAtMs });
        this.reporter.line(`deferred  ${displayName(key)} (modified ${formatDuration(Math.max(0, this.clock.now() - file.mtimeMs))} ago; waiting for it to settle)`);
        return;
      case 'failed':
        this.reporter.fileDone();
        this.fail(summary, key, o.message);
        return;
      case 'sent': {
        if (o.via === 'link') summary.linked++;
        else summary.uploaded++;
        summary.bytesSent += o.sent;
        summary.bytesBackedUp += o.size;
        const how = o.via === 'link' ? 'content already on the server' : o.via === 'tus' ? (o.resumedFrom ? `resumed at ${formatBytes(o.resumedFrom)}` : 'resumable') : '';
        this.reporter.fileDone(o.via === 'link' ? o.size : 0);
        this.reporter.line(`${o.via === 'link' ? 'linked  ' : 'uploaded'}  ${displayName(key)} (${formatBytes(o.size)}${how ? `, ${how}` : ''})`);
        if (o.recheckAtMs !== undefined) {
          summary.deferred++;
          this.deferred.set(key, { file, atMs: o.recheckAtMs });
          this.reporter.line(`changed   ${displayName(key)} while it was sent: it will be sent again once it settles`);
        }
        return;
      }
    }
  }

  close(): void {
    this.http.close();
    this.db.close();
  }
}

export interface OnceResult {
  /** 0 all backed up (deferred files wait for the next run), 1 something failed. */
  exitCode: 0 | 1;
  summary?: PassSummary;
  error?: string;
  /** The rate limiter's accounting, when --limit-rate was given. */
  limiter?: TokenBucket['stats'];
}

/** `--once`: connect, one full pass, close. Never throws for server or file trouble. */
export async function runOnce(config: ClientConfig, options: ClientOptions = {}): Promise<OnceResult> {
  const client = new BackupClient(config, options);
  try {
    try {
      await client.connect(options.connectRetry ?? ONCE_CONNECT_RETRY);
    } catch (err) {
      const message = describeConnectError(err);
      client.reporter.line(`error     ${message}`);
      return { exitCode: 1, error: message };
    }
    const summary = await client.fullPass();
    return { exitCode: summary.failed > 0 || options.signal?.aborted ? 1 : 0, summary, limiter: client.bucket?.stats };
  } finally {
    client.close();
  }
}

export function describeConnectError(err: unknown): string {
  if (err instanceof HttpStatusError && err.status === 401) return `the server refused the token (401 ${err.serverMessage}): check --token / CB_TOKEN`;
  if (err instanceof CancelledError) return 'cancelled';
  if (err instanceof ProtocolError) return err.message;
  return `cannot reach the server: ${displayText((err as Error).message)}`;
}
