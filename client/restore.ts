import { lstat, mkdir, readdir, rename, rmdir, unlink, utimes } from 'node:fs/promises';
import path from 'node:path';
import PQueue from 'p-queue';
import { ONCE_CONNECT_RETRY, describeConnectError } from './backup.js';
import { systemClock, type Clock } from './clock.js';
import { CancelledError, HttpStatusError, IntegrityError, NetworkError } from './errors.js';
import { displayName, displayText } from './display-name.js';
import { downloadToPart, type DownloadContext } from './download.js';
import { hashFile } from './hashing.js';
import { expectStatus, HttpClient } from './http.js';
import { formatBytes, formatDuration, Reporter, type Output } from './progress.js';
import { encodeRemotePath, relativeSegments } from './remote-path.js';
import type { RestoreConfig } from './restore-args.js';
import { collisionKey, decide, PARTS_DIR, partName, placeRemotePath, targetMtime, type LocalState, type RemoteFile } from './restore-plan.js';
import { emptyRestoreSummary, formatRestoreSummary, restoreSucceeded, type RestoreSummary } from './restore-report.js';
import { UPLOAD_RETRY, withRetry, type RetryPolicy } from './retry.js';
import { TokenBucket } from './token-bucket.js';
import { gatheredStdout } from './gathered-output.js';

export interface RestoreOptions {
  out?: Output;
  tty?: boolean;
  clock?: Clock;
  signal?: AbortSignal;
  /** Reaching the server for the listing (default: a few tries, as `--once`). */
  connectRetry?: RetryPolicy;
  /** Each file's download (default: the patience of an upload; a download that advances keeps going). */
  downloadRetry?: RetryPolicy;
  /** Whether two names differing only in case are one file here (default: on Windows and macOS). */
  caseInsensitive?: boolean;
}

export interface RestoreResult {
  exitCode: 0 | 1;
  summary: RestoreSummary;
  /** Why the whole restore stopped early (server unreachable, token refused, no history). */
  error?: string;
}

const PAGE = 1000;

/** The restore stops as a whole (not one file's failure). */
class RestoreAbort extends Error {
  override name = 'RestoreAbort';
}

/** Sets the modification time to exactly `ms`: half a microsecond more survives the float seconds of utimes (floor gives `ms` back). */
async function setMtime(abs: string, ms: number | null): Promise<void> {
  if (ms !== null) await utimes(abs, new Date(), ms / 1000 + 5e-7);
}

async function localState(abs: string): Promise<LocalState> {
  let st;
  try {
    st = await lstat(abs);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { kind: 'missing' };
    throw err;
  }
  if (st.isFile()) return { kind: 'file', size: st.size, mtimeMs: st.mtimeMs };
  if (st.isDirectory()) return { kind: 'directory' };
  return { kind: 'other', what: st.isSymbolicLink() ? 'symbolic link' : 'special file' };
}

function parseItem(v: unknown): RemoteFile | undefined {
  const o = v as Record<string, unknown>;
  if (typeof o?.path !== 'string' || !Number.isSafeInteger(o.size) || typeof o.sha256 !== 'string' || !/^[0-9a-f]{64}$/u.test(o.sha256)) return undefined;
  const mtime = typeof o.mtime === 'number' && Number.isSafeInteger(o.mtime) ? o.mtime : null;
  const uploadedAt = typeof o.uploadedAt === 'number' ? o.uploadedAt : undefined;
  const version = typeof o.version === 'string' && o.version !== '' ? o.version : undefined;
  return { path: o.path, size: o.size as number, sha256: o.sha256, mtime, uploadedAt, version };
}

/**
 * One restore of a remote folder into a local one: pages of the listing feed a queue of
 * `--concurrency` file tasks; each file is checked against what is on disk, downloaded into a
 * partial file (resumable), verified, given its mtime and renamed into place.
 */
class Restore {
  readonly summary = emptyRestoreSummary();
  private readonly http: HttpClient;
  private readonly reporter: Reporter;
  private readonly bucket?: TokenBucket;
  private readonly queue: PQueue;
  private readonly clock: Clock;
  private readonly signal: AbortSignal;
  private readonly prefix: string;
  private readonly partsDir: string;
  private readonly caseInsensitive: boolean;
  /** Local names taken so far (case-folded; only where case folds), and folders checked to be real folders. */
  private readonly taken = new Map<string, string>();
  private readonly checkedDirs = new Set<string>();
  /** Partial files of files that failed: kept for the next run to resume. */
  private readonly keepParts = new Set<string>();

  constructor(
    private readonly config: RestoreConfig,
    private readonly options: RestoreOptions,
  ) {
    this.clock = options.clock ?? systemClock;
    this.signal = options.signal ?? new AbortController().signal;
    this.reporter = new Reporter(options.out ?? gatheredStdout(), options.tty ?? false, this.clock.now, '↓');
    this.http = new HttpClient(config.server, config.token);
    if (config.limitRate !== null) this.bucket = new TokenBucket({ rate: config.limitRate, clock: this.clock });
    this.queue = new PQueue({ concurrency: config.concurrency });
    this.prefix = `${config.remote.join('/')}/`;
    this.partsDir = path.join(config.folder, PARTS_DIR);
    this.caseInsensitive = options.caseInsensitive ?? (config.windowsNames || process.platform === 'darwin');
  }

  async run(): Promise<RestoreResult> {
    const started = this.clock.now();
    const when = this.config.at === null ? 'as it is now' : `as at ${new Date(this.config.at).toISOString()}`;
    this.reporter.line(`restoring ${displayText(this.prefix)} ${when} from ${this.config.server} into ${displayText(this.config.folder)}`);
    let error: string | undefined;
    let listed = 0;
    try {
      for await (const item of this.listing()) {
        if (this.signal.aborted) break;
        // Created only once the server answered: a refused token leaves no empty folder behind.
        if (listed++ === 0) await mkdir(this.config.folder, { recursive: true });
        this.plan(item);
        await this.queue.onSizeLessThan(this.config.concurrency * 2);
      }
      if (listed === 0 && !this.signal.aborted) error = `nothing under ${this.prefix} on the server${this.config.at === null ? '' : ' at that time'}`;
    } catch (err) {
      if (!(err instanceof CancelledError)) error = this.describe(err);
    }
    await this.queue.onIdle();
    if (!this.signal.aborted) await this.cleanParts();
    this.summary.durationMs = this.clock.now() - started;
    if (error) this.reporter.line(`error     ${displayText(error)}`);
    if (this.signal.aborted) this.reporter.line('cancelled: run the same command again to finish (partial downloads resume)');
    this.reporter.end(formatRestoreSummary(this.summary));
    const ok = error === undefined && !this.signal.aborted && restoreSucceeded(this.summary);
    return { exitCode: ok ? 0 : 1, summary: this.summary, error };
  }

  close(): void {
    this.http.close();
  }

  /** Every file of the tree, page by page (each page retried; the first with the connect patience). */
  private async *listing(): AsyncGenerator<RemoteFile> {
    let cursor: string | null = null;
    do {
      const q = new URLSearchParams({ prefix: this.prefix, limit: String(PAGE) });
      if (cursor) q.set('cursor', cursor);
      if (this.config.at !== null) q.set('at', String(this.config.at));
      const url = `api/files?${q}`;
      const page = await withRetry(
        async () => JSON.parse(expectStatus(await this.http.request('GET', url, { signal: this.signal }), [200], 'GET', '/api/files').text) as { items?: unknown[]; nextCursor?: unknown },
        { policy: this.options.connectRetry ?? ONCE_CONNECT_RETRY, clock: this.clock, signal: this.signal },
      );
      if (!Array.isArray(page.items)) throw new RestoreAbort('the server sent a listing without items');
      for (const raw of page.items) {
        const item = parseItem(raw);
        if (!item) throw new RestoreAbort(`the server listed an entry this client cannot read: ${JSON.stringify(raw).slice(0, 200)}`);
        if (this.config.at !== null && item.version === undefined) {
          throw new RestoreAbort('this server keeps no history (its listing names no versions): --at needs a server with versions');
        }
        yield item;
      }
      cursor = typeof page.nextCursor === 'string' && page.nextCursor !== '' ? page.nextCursor : null;
    } while (cursor);
  }

  private plan(item: RemoteFile): void {
    // Names as printed: a newline or a bidi override in a name must not forge or reorder a line.
    const shown = displayName(item.path.startsWith(this.prefix) ? item.path.slice(this.prefix.length) : item.path);
    const place = placeRemotePath(item.path, this.prefix, this.config.windowsNames);
    if (!place.ok) return this.fail(shown, `not restored: ${place.reason}`);
    const local = place.localSegments.join('/');
    // Only a file system that folds case can make two remote names one local file (the escape is injective).
    if (this.caseInsensitive) {
      const key = collisionKey(place.localSegments, true);
      const other = this.taken.get(key);
      if (other !== undefined) return this.fail(shown, `same local name as ${other} on a case-insensitive file system; not restored`);
      this.taken.set(key, shown);
    }
    const abs = path.join(this.config.folder, ...place.localSegments);
    // Belt and braces: whatever the names, the file lands inside the target.
    const rel = relativeSegments(this.config.folder, abs, path.sep === '\\' ? 'win32' : 'posix');
    if (!rel || rel.join('/') !== local) return this.fail(shown, 'its name would leave the target folder; not restored');
    if (place.escaped) {
      this.summary.renamed.push({ remote: shown, local: displayName(local) });
      this.reporter.line(`escaped   ${shown} -> ${displayName(local)} (not a valid Windows name)`);
    }
    void this.queue.add(() => this.restoreFile(item, shown, abs, place.localSegments));
  }

  private async restoreFile(item: RemoteFile, shown: string, abs: string, segments: string[]): Promise<void> {
    let part: string | undefined;
    let queued = false;
    try {
      await this.ensureFolders(segments.slice(0, -1));
      let local = await localState(abs);
      let action = decide(item, local, this.config.overwrite);
      if (action.kind === 'hash' && local.kind === 'file') {
        local = { ...local, sha256: await hashFile(abs, local.size, this.signal) };
        action = decide(item, local, this.config.overwrite);
      }
      switch (action.kind) {
        case 'unchanged':
          this.summary.unchanged++;
          return;
        case 'set-mtime':
          await setMtime(abs, targetMtime(item));
          this.summary.mtimeSet++;
          this.reporter.line(`mtime     ${shown} (content already right; modification time set)`);
          return;
        case 'refuse':
          this.summary.refused++;
          this.summary.problems.push({ path: shown, message: action.reason });
          this.reporter.line(`refused   ${shown}: ${action.reason}`);
          return;
        case 'hash':
          throw new Error('unreachable: hashed already');
        case 'download':
          break;
      }
      await this.ensureFolders([PARTS_DIR]);
      part = path.join(this.partsDir, partName(item.path, item.sha256));
      this.reporter.queued(item.size);
      queued = true;
      const before = (await lstat(part).catch(() => undefined))?.size ?? 0;
      await this.download(item, part, shown);
      await setMtime(part, targetMtime(item));
      await rename(part, abs);
      this.summary.restored++;
      this.reporter.fileDone();
      // A partial from an earlier run (cut off): this run resumed it.
      const resumed = before > 0 && before <= item.size ? `resumed at ${formatBytes(before)}` : '';
      const how = [action.replace ? 'replaced' : '', resumed].filter(Boolean).join(', ');
      this.reporter.line(`restored  ${shown} (${formatBytes(item.size)}${how ? `, ${how}` : ''})`);
    } catch (err) {
      if (err instanceof CancelledError || this.signal.aborted) return;
      if (part) this.keepParts.add(path.basename(part));
      if (queued) this.reporter.fileDone();
      this.fail(shown, (err as Error).message);
    }
  }

  /** The download with retries; content that fails verification is fetched once more from scratch. */
  private async download(item: RemoteFile, part: string, shown: string): Promise<void> {
    const url = `files/${encodeRemotePath(item.path)}${item.version !== undefined ? `?version=${encodeURIComponent(item.version)}` : ''}`;
    let total = 0;
    let atLastTry = 0;
    const ctx: DownloadContext = {
      http: this.http,
      bucket: this.bucket,
      signal: this.signal,
      onBytes: (n) => {
        total += n;
        this.summary.bytesReceived += n;
        this.reporter.bytes(n);
      },
    };
    for (let fresh = 0; ; fresh++) {
      try {
        await withRetry(() => downloadToPart(ctx, { url, size: item.size, sha256: item.sha256, partPath: part }), {
          policy: this.options.downloadRetry ?? UPLOAD_RETRY,
          clock: this.clock,
          signal: this.signal,
          // A download that keeps advancing between drops keeps going.
          progressed: () => {
            const moved = total > atLastTry;
            atLastTry = total;
            return moved;
          },
          onRetry: (err, _attempt, ms) => this.reporter.line(`retrying  ${shown} in ${formatDuration(ms)} (${displayText((err as Error).message)})`),
        });
        return;
      } catch (err) {
        if (!(err instanceof IntegrityError) || fresh > 0) throw err;
        this.reporter.line(`corrupt   ${shown}: ${displayText(err.message)}; downloading it again`);
      }
    }
  }

  /**
   * Creates the folders below the target, refusing to go through anything that is not a real
   * folder (a symbolic link there could point anywhere).
   */
  private async ensureFolders(segments: string[]): Promise<void> {
    let dir = this.config.folder;
    for (const s of segments) {
      dir = path.join(dir, s);
      if (this.checkedDirs.has(dir)) continue;
      await mkdir(dir).catch((err: NodeJS.ErrnoException) => {
        if (err.code !== 'EEXIST') throw err;
      });
      const st = await lstat(dir);
      if (!st.isDirectory()) {
        const rel = path.relative(this.config.folder, dir).split(path.sep).join('/');
        throw new Error(`${rel} is ${st.isSymbolicLink() ? 'a symbolic link' : 'a file'} here, not a folder; not followed`);
      }
      this.checkedDirs.add(dir);
    }
  }

  /** After a run that was not cancelled: partial files nobody will resume go, then their folder. */
  private async cleanParts(): Promise<void> {
    const names = await readdir(this.partsDir).catch(() => [] as string[]);
    for (const n of names) if (!this.keepParts.has(n)) await unlink(path.join(this.partsDir, n)).catch(() => undefined);
    if (this.keepParts.size === 0) await rmdir(this.partsDir).catch(() => undefined);
  }

  private describe(err: unknown): string {
    if (err instanceof RestoreAbort) return err.message;
    if (err instanceof HttpStatusError && err.status !== 401) return `listing ${this.prefix}: ${err.status} ${err.serverMessage}`;
    if (err instanceof HttpStatusError || err instanceof NetworkError) return describeConnectError(err);
    return (err as Error).message;
  }

  private fail(shown: string, message: string): void {
    this.summary.failed++;
    this.summary.problems.push({ path: shown, message: displayText(message) });
    this.reporter.line(`failed    ${shown}: ${displayText(message)}`);
  }
}

/** `npm run restore`: list, restore every file, summarize. Never throws for server or file trouble. */
export async function runRestore(config: RestoreConfig, options: RestoreOptions = {}): Promise<RestoreResult> {
  const r = new Restore(config, options);
  try {
    return await r.run();
  } finally {
    r.close();
  }
}
