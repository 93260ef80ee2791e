import { hostname } from 'node:os';
import type { ClientConfig } from './args.js';
import { BATCH_FILE_MAX_BYTES } from './batch-upload.js';
import { decideFromStat, isUnder, repairReason, type RepairReason } from './change-detect.js';
import { deleteOnServer, planDeletions, type GoneFile } from './deletions.js';
import { systemClock, type Clock } from './clock.js';
import { displayName, displayText } from './display-name.js';
import { CancelledError, HttpStatusError, ProtocolError, RootClaimedError } from './errors.js';
import { expectStatus, HttpClient } from './http.js';
import { didSomething, emptySummary, formatBytes, formatDuration, Reporter, type Output, type PassSummary } from './progress.js';
import { pathApi, relativeKey, remotePath } from './remote-path.js';
import { claimRoot } from './root-claim.js';
import { passReport, sendPassReport } from './pass-report.js';
import { UPLOAD_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { compileRules, extendChain, isExcluded, type RuleChain } from './ignore-rules.js';
import { examine, rulesAt, scanTree, type ScanEntry, type ScanOptions } from './scanner.js';
import { listServerFolder } from './server-listing.js';
import type { ListingDigestJson } from '../shared/listing-digest.js';
import { StateDb, type FileRecord } from './state-db.js';
import { TokenBucket } from './token-bucket.js';
import { detectTus } from './tus-upload.js';
import { LINK_MIN_BYTES, TUS_CHUNK, TUS_THRESHOLD, Uploader, type FileRef, type Outcome, type UploadContext } from './uploader.js';
import { gatheredStdout } from './gathered-output.js';

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
  /** Largest file sent in a batch (POST /api/batch; default 1 MiB); -1: one request per file. */
  batchFileMaxBytes?: number;
  /** Cancels everything in flight (Ctrl+C, stop()). */
  signal?: AbortSignal;
  /** This computer's name in the backup root's source (default os.hostname()). */
  hostname?: string;
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
  /** The server took our root claim once: --adopt is not repeated (a later take-over stops us). */
  private claimed = false;
  /** 'unsupported': the server is older than pass reports (404), so none are sent again. */
  private passReports: 'sent' | 'unsupported' | undefined;
  private readonly clock: Clock;
  private readonly signal: AbortSignal;
  private readonly reportedSkips = new Set<string>();
  /** Symbolic links counted by the last pass that reported them (said again only when it changes). */
  private reportedLinks = 0;
  /** --exclude, relative to the backed-up folder. */
  private readonly rootRules: RuleChain;
  private readonly stateFiles: Set<string>;
  /** Files of this full pass the server lost or holds differently: reported as repaired. */
  private readonly repairs = new Map<string, RepairReason>();
  /** Deferred files and when to look at them again (watch mode schedules from this). */
  readonly deferred = new Map<string, { file: FileRef; atMs: number }>();

  constructor(
    readonly config: ClientConfig,
    readonly options: ClientOptions = {},
  ) {
    this.clock = options.clock ?? systemClock;
    this.signal = options.signal ?? new AbortController().signal;
    this.reporter = new Reporter(options.out ?? gatheredStdout(), options.tty ?? false, this.clock.now);
    this.db = new StateDb(config.statePath);
    this.db.setMeta('server', config.server);
    this.db.setMeta('folder', config.folder);
    this.http = new HttpClient(config.server, config.token);
    if (config.limitRate !== null) this.bucket = new TokenBucket({ rate: config.limitRate, clock: this.clock });
    this.uploader = new Uploader(() => this.uploadContext(), config.concurrency);
    this.rootRules = extendChain([], 0, compileRules(config.exclude));
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
      batchFileMaxBytes: this.options.batchFileMaxBytes ?? BATCH_FILE_MAX_BYTES,
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
    await this.claimRoot(policy);
    try {
      this.tus = await detectTus(this.http, this.signal);
    } catch (err) {
      if (err instanceof CancelledError) throw err;
      this.tus = false;
    }
  }

  /**
   * Claims the remote folder for this folder on this computer before any pass writes into it;
   * RootClaimedError when it is another source's (or nests with another backup's folder).
   */
  private async claimRoot(policy: RetryPolicy): Promise<void> {
    const root = [this.namespace, ...this.config.prefix].join('/');
    const claim = { root, host: this.options.hostname ?? hostname(), folder: this.config.folder, adopt: this.config.adopt && !this.claimed };
    const api = pathApi(this.config.flavor);
    const name = api.basename(this.config.folder);
    const parent = api.basename(api.dirname(this.config.folder));
    const suggestion = parent && parent !== name ? `${parent}-${name}` : `${name || 'folder'}-2`;
    const answer = await withRetry(() => claimRoot(this.http, claim, suggestion, this.signal), { policy, clock: this.clock, signal: this.signal });
    if (answer.status === 'adopted') {
      const p = answer.previous;
      this.reporter.line(`adopted   ${displayName(root)}/ (backed up from ${displayText(p.folder)} on ${displayText(p.host)} until now; that folder is refused from now on)`);
    } else if (answer.status === 'unchecked' && !this.claimed) {
      this.reporter.line(`warning   the server does not record which folder backs up into ${displayName(root)}/ (an older version): another folder of the same name would overwrite this one's files`);
    }
    this.claimed = true;
  }

  /** How every walk of this folder looks: our own files skipped, --exclude and .cbignore applied. */
  private scanOptions(rules: RuleChain = this.rootRules): ScanOptions {
    return { flavor: this.config.flavor, ignore: this.isStateFile, rules };
  }

  /** Paths the walk must not report: our own state DB and its journal files. */
  isStateFile = (abs: string): boolean => this.stateFiles.has(this.config.flavor === 'win32' ? abs.toLowerCase() : abs);

  /**
   * A full pass: compare with the server's listing, walk the whole folder, then delete on the
   * server what the state DB knows and the walk no longer found.
   */
  async fullPass(): Promise<PassSummary> {
    const held = await this.serverListing();
    const seen = new Set<string>();
    // Where the walk could not look: nothing below counts as deleted.
    const unseen: string[] = [];
    const entries = async function* (this: BackupClient): AsyncGenerator<ScanEntry> {
      for await (const e of scanTree(this.config.folder, this.scanOptions())) {
        const key = relativeKey(e.segments);
        // A name that is not UTF-8 has no key; an excluded folder is not looked into.
        if (e.kind !== 'badname') seen.add(key);
        if (e.kind === 'error' || (e.kind === 'excluded' && e.dir)) unseen.push(key);
        yield e;
      }
    }.call(this);
    const gone = (): FileRecord[] => {
      for (const path of this.db.missingPaths()) if (seen.has(path)) this.db.clearMissing(path);
      const paths = this.db.allPaths().filter((p) => !seen.has(p) && !isUnder(p, unseen));
      return paths.map((p) => this.db.getFile(p)).filter((r): r is FileRecord => r !== undefined);
    };
    // The walk yields a folder's files together: their records come in one query per folder.
    let folder: { key: string; records: Map<string, FileRecord> } | undefined;
    const lookup = (key: string, segments: readonly string[]): FileRecord | undefined => {
      const dir = segments.slice(0, -1).join('/');
      if (folder?.key !== dir) folder = { key: dir, records: this.db.filesIn(dir) };
      return folder.records.get(key);
    };
    return this.runPass('full scan', entries, { held, gone, lookup });
  }

  /** The server's listing of our remote folder, or undefined (and a note) when it cannot be had. */
  private async serverListing(): Promise<Map<string, string> | undefined> {
    const folder = `${[this.namespace, ...this.config.prefix].join('/')}/`;
    // Nothing to compare (no confirmed file below the folder), or the server holds exactly what
    // the state DB says: the listing would find no repair, so it is not fetched.
    if (await this.serverMatchesState(folder)) return undefined;
    try {
      return await withRetry(() => listServerFolder(this.http, folder, this.signal), { policy: this.options.uploadRetry ?? UPLOAD_RETRY, clock: this.clock, signal: this.signal });
    } catch (err) {
      // Cancelled: the pass that follows stops at once by itself.
      if (err instanceof CancelledError || this.signal.aborted) return undefined;
      this.reporter.line(`warning   cannot list ${displayName(folder)} on the server (${displayText((err as Error).message)}): not compared this pass`);
      return undefined;
    }
  }

  /**
   * Whether the server's listing digest of `folder` (GET /api/files/digest) equals the state
   * DB's: one request instead of a page per 1000 files. Anything else (an older server without
   * the route, an error) answers false, and the pass fetches the listing as before.
   */
  private async serverMatchesState(folder: string): Promise<boolean> {
    if (!this.db.hasRemoteUnder(folder)) return true;
    // Asked first: the server computes its digest while this one is computed here.
    const asked = this.http
      .request('GET', `api/files/digest?${new URLSearchParams({ prefix: folder })}`, { signal: this.signal })
      .catch(() => undefined);
    const local = await this.db.remoteDigest(folder);
    const res = await asked;
    if (res?.status !== 200) return false;
    try {
      const v = JSON.parse(res.text) as Partial<ListingDigestJson>;
      return v.prefix === folder && v.files === local.files && v.digest === local.digest;
    } catch {
      return false;
    }
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
    // Paths that are gone: the files (or whole folders) the state DB knows there were deleted.
    const gone: FileRecord[] = [];
    async function* entries(): AsyncGenerator<ScanEntry> {
      for (const abs of absPaths) {
        const segments = segmentsOf(abs);
        if (!segments || self.isStateFile(abs)) continue;
        const rules = await rulesAt(self.config.folder, segments, self.scanOptions());
        if (rules === 'excluded') continue;
        const e = await examine(abs, segments);
        if (e !== undefined && e !== 'directory' && e.kind !== 'error' && isExcluded(rules, segments, false)) continue;
        if (e === undefined) {
          const key = relativeKey(segments);
          const record = self.db.getFile(key);
          gone.push(...(record ? [record] : []), ...self.db.filesUnder(key));
        } else if (e === 'directory') {
          if (isExcluded(rules, segments, true)) continue;
          for await (const entry of scanTree(abs, self.scanOptions(rules), segments)) {
            if (once(entry)) yield entry;
          }
        } else if (e && once(e)) {
          yield e;
        }
      }
    }
    return this.runPass('changes', entries(), { gone: () => gone });
  }

  private async runPass(
    kind: PassKind,
    entries: AsyncIterable<ScanEntry>,
    check: { held?: Map<string, string>; gone: () => FileRecord[]; lookup?: (key: string, segments: readonly string[]) => FileRecord | undefined },
  ): Promise<PassSummary> {
    const summary = emptySummary(0);
    const started = this.clock.now();
    this.repairs.clear();
    try {
      for await (const entry of entries) {
        if (this.signal.aborted) break;
        const key = relativeKey(entry.segments);
        if (entry.kind === 'excluded') {
          summary.excluded++;
          continue;
        }
        if (entry.kind === 'badname') {
          this.failShown(summary, entry.shown, 'the name is not valid UTF-8, so the server cannot store it; rename it to back it up');
          continue;
        }
        if (entry.kind === 'skipped') {
          summary.skipped++;
          // Links are counted into one line per pass; other odd files are named, once.
          if (entry.reason === 'symlink') {
            summary.symlinks++;
          } else if (!this.reportedSkips.has(key)) {
            this.reportedSkips.add(key);
            this.reporter.line(`skipped   ${displayName(key)} (not a regular file)`);
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
        const record = check.lookup ? check.lookup(key, entry.segments) : this.db.getFile(key);
        let force = false;
        if (decideFromStat(entry, record, remote, this.clock.now(), this.config.settleMs).action === 'unchanged') {
          const reason = check.held && record ? repairReason(record, check.held.get(remote)) : undefined;
          if (!reason) {
            summary.unchanged++;
            continue;
          }
          this.repairs.set(key, reason);
          force = true;
        }
        await this.uploader.submit({ ...entry, force }, (outcome, file) => this.record(summary, file, outcome));
      }
      // Every entry is queued by now (or merged into a running task): idle means all reported.
      await this.uploader.onIdle();
      if (!this.signal.aborted) await this.deleteGone(summary, check.gone());
    } catch (err) {
      if (!(err instanceof CancelledError)) throw err;
    }
    await this.uploader.onIdle();
    summary.durationMs = this.clock.now() - started;
    summary.stopped = this.signal.aborted;
    if (summary.symlinks > 0 && summary.symlinks !== this.reportedLinks) {
      this.reportedLinks = summary.symlinks;
      this.reporter.line(`skipped   ${summary.symlinks} symbolic link${summary.symlinks === 1 ? '' : 's'} (not followed: a link's target is backed up where it lives, if inside the folder)`);
    }
    // A quiet rescan in watch mode says nothing; the first pass and --once always report.
    const firstOrOnce = kind === 'full scan' && (this.passes === 0 || this.config.once);
    if (firstOrOnce || didSomething(summary)) {
      summary.pass = ++this.passes;
      this.reporter.passDone(summary, kind);
    }
    // Every full scan is reported, quiet ones too: that is what keeps "last backup" fresh.
    if (!this.signal.aborted && (kind === 'full scan' || didSomething(summary))) await this.reportPass(summary);
    return summary;
  }

  /** Tells the server about the pass (backup health); trouble is a warning line, never a failed backup. */
  private async reportPass(summary: PassSummary): Promise<void> {
    if (this.passReports === 'unsupported') return;
    const root = [this.namespace, ...this.config.prefix].join('/');
    const report = passReport(summary, { root, host: this.options.hostname ?? hostname(), folder: this.config.folder }, this.clock.now());
    try {
      this.passReports = await sendPassReport(this.http, report, this.signal);
    } catch (err) {
      if (err instanceof CancelledError || this.signal.aborted) return;
      const why = err instanceof HttpStatusError ? `${err.status} ${err.serverMessage}` : (err as Error).message;
      this.reporter.line(`warning   could not report this pass to the server (${displayText(why)}); the files are backed up, the admin's backup health misses this pass`);
    }
  }

  /**
   * Files the state DB knows that are gone locally: once gone for --settle, DELETE on the server
   * (which keeps their history); with --keep-deleted only forgotten here.
   */
  private async deleteGone(summary: PassSummary, records: FileRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (this.config.keepDeleted) {
      for (const r of records) this.db.deleteFile(r.path);
      return;
    }
    const now = this.clock.now();
    const gone = records.map((r): GoneFile & { record: FileRecord } => ({ path: r.path, remotePath: r.remotePath, sinceMs: this.db.markMissing(r.path, now), record: r }));
    const plan = planDeletions(gone, now, this.config.settleMs);
    for (const { file, atMs } of plan.later) {
      summary.deferred++;
      this.deferred.set(file.path, { file: this.fileRefOf(file.path), atMs });
      this.reporter.line(`deferred  ${displayName(file.path)} (gone locally; deleted on the server once gone for ${formatDuration(this.config.settleMs)})`);
    }
    if (plan.waitMs > 0) await this.clock.sleep(plan.waitMs, this.signal);
    const retry = { policy: this.options.uploadRetry ?? UPLOAD_RETRY, clock: this.clock, signal: this.signal };
    for (const f of plan.due) {
      const ref = this.fileRefOf(f.path);
      // Back meanwhile (a save that replaced the file): it is not deleted.
      if (await examine(ref.abs, ref.segments)) {
        this.db.clearMissing(f.path);
        continue;
      }
      try {
        await deleteOnServer(this.http, f.remotePath, retry);
      } catch (err) {
        if (err instanceof CancelledError || this.signal.aborted) throw new CancelledError();
        this.fail(summary, f.path, `cannot delete it on the server: ${err instanceof HttpStatusError ? `${err.status} ${err.serverMessage}` : (err as Error).message}`);
        continue;
      }
      this.db.deleteFile(f.path);
      summary.deleted++;
      this.reporter.line(`deleted   ${displayName(f.path)} (gone locally; the server keeps its history)`);
    }
  }

  /** A state DB key as a local file reference (for files that are gone: size and mtime unknown). */
  private fileRefOf(key: string): FileRef {
    const segments = key.split('/');
    return { segments, abs: pathApi(this.config.flavor).join(this.config.folder, ...segments), size: 0, mtimeMs: 0 };
  }

  private fail(summary: PassSummary, key: string, message: string): void {
    this.failShown(summary, displayName(key), message, key);
  }

  /** A failure of a path already escaped for output (`shown`). */
  private failShown(summary: PassSummary, shown: string, message: string, key = shown): void {
    summary.failed++;
    summary.failures.push({ path: key, message });
    this.reporter.line(`failed    ${shown}: ${displayText(message)}`);
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
      case 'interrupted':
        // Cut by Ctrl+C or stop(): counted, with what it had sent (a tus upload resumes there).
        summary.interrupted++;
        summary.bytesSent += o.sent;
        this.reporter.fileDone();
        this.reporter.line(`stopped   ${displayName(key)} (${formatBytes(o.sent)} of ${formatBytes(file.size)} sent)`);
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
        const repair = this.repairs.get(key);
        this.repairs.delete(key);
        if (repair) summary.repaired++;
        else if (o.via === 'link') summary.linked++;
        else summary.uploaded++;
        summary.bytesSent += o.sent;
        summary.bytesBackedUp += o.size;
        const how = o.via === 'link' ? 'content already on the server' : o.via === 'tus' ? (o.resumedFrom ? `resumed at ${formatBytes(o.resumedFrom)}` : 'resumable') : '';
        this.reporter.fileDone(o.via === 'link' ? o.size : 0);
        if (repair) {
          const why = repair === 'missing' ? 'the server had lost it' : 'the server held other content';
          this.reporter.line(`repaired  ${displayName(key)} (${why}; ${o.via === 'link' ? 'linked' : 'sent again'}, ${formatBytes(o.size)})`);
        } else {
          this.reporter.line(`${o.via === 'link' ? 'linked  ' : 'uploaded'}  ${displayName(key)} (${formatBytes(o.size)}${how ? `, ${how}` : ''})`);
        }
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
  /** 0 all backed up (deferred files wait for the next run), 1 something failed, 2 the remote folder is another source's. */
  exitCode: 0 | 1 | 2;
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
      return { exitCode: err instanceof RootClaimedError ? 2 : 1, error: message };
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
  if (err instanceof ProtocolError || err instanceof RootClaimedError) return err.message;
  return `cannot reach the server: ${displayText((err as Error).message)}`;
}
