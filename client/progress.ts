/** What one pass did; printed as its summary line and returned by runOnce. */
export interface PassSummary {
  /** The pass's number among the reported ones (1, 2, 3 ... without gaps); 0 when it was not reported. */
  pass: number;
  uploaded: number;
  linked: number;
  unchanged: number;
  deferred: number;
  failed: number;
  skipped: number;
  /** Gone locally, deleted on the server (which keeps the history). */
  deleted: number;
  /** Unchanged here, but lost by the server or different there: sent again. */
  repaired: number;
  /** Left out by --exclude or .cbignore (an excluded folder counts once). */
  excluded: number;
  /** Symbolic links among the skipped (one line per pass names their number). */
  symlinks: number;
  /** Files in flight when the pass was stopped (their bytes so far are in bytesSent). */
  interrupted: number;
  /** The pass was cut short (Ctrl+C, stop()). */
  stopped: boolean;
  /** Upload body bytes sent in this pass (a resumed upload counts only what was sent now). */
  bytesSent: number;
  /** Sizes of the files that reached the server (uploaded or linked). */
  bytesBackedUp: number;
  durationMs: number;
  failures: { path: string; message: string }[];
}

/** Whether a pass changed anything or has something to say (a quiet watch-mode rescan does not). */
export function didSomething(s: PassSummary): boolean {
  return s.uploaded + s.linked + s.failed + s.deferred + s.deleted + s.repaired + s.interrupted > 0;
}

export function emptySummary(pass: number): PassSummary {
  return { pass, uploaded: 0, linked: 0, unchanged: 0, deferred: 0, failed: 0, skipped: 0, deleted: 0, repaired: 0, excluded: 0, symlinks: 0, interrupted: 0, stopped: false, bytesSent: 0, bytesBackedUp: 0, durationMs: 0, failures: [] };
}

/** Binary multiples, named as such (the same factors --limit-rate reads). */
const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 1536 -> '1.50 KiB'. */
export function formatBytes(n: number): string {
  let v = n;
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  return u === 0 ? `${v} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${UNITS[u]}`;
}

/** 75_000 -> '1m15s'. */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return '?';
  const s = Math.round(ms / 1000);
  if (s < 60) return ms < 10_000 ? `${(ms / 1000).toFixed(1)}s` : `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export function formatSummary(s: PassSummary, kind = 'full scan'): string {
  const rate = s.durationMs > 0 ? (s.bytesSent * 1000) / s.durationMs : 0;
  return (
    `pass ${s.pass} (${kind}) ${s.stopped ? 'stopped after' : 'done in'} ${formatDuration(s.durationMs)}: ${s.uploaded} uploaded, ${s.linked} linked, ` +
    `${s.unchanged} unchanged, ${s.deferred} deferred, ${s.failed} failed, ${s.skipped} skipped` +
    // Counts most passes never have are shown only when they happened.
    (s.deleted ? `, ${s.deleted} deleted` : '') +
    (s.repaired ? `, ${s.repaired} repaired` : '') +
    (s.excluded ? `, ${s.excluded} excluded` : '') +
    (s.interrupted ? `, ${s.interrupted} interrupted` : '') +
    '; ' +
    `${formatBytes(s.bytesSent)} sent (${formatBytes(Math.round(rate))}/s)`
  );
}

export interface LiveCounters {
  filesDone: number;
  filesQueued: number;
  bytesDone: number;
  bytesQueued: number;
  /** Bytes per second, recent. */
  rate: number;
}

/** The TTY status line: '↑ 3/10 files  45.2 MiB/120.0 MiB  5.10 MiB/s  ETA 15s'. */
export function formatStatus(c: LiveCounters): string {
  const left = Math.max(0, c.bytesQueued - c.bytesDone);
  const eta = c.rate > 0 ? formatDuration((left / c.rate) * 1000) : '?';
  return `↑ ${c.filesDone}/${c.filesQueued} files  ${formatBytes(c.bytesDone)}/${formatBytes(c.bytesQueued)}  ${formatBytes(Math.round(c.rate))}/s  ETA ${eta}`;
}

/** Sliding-window rate: bytes over the last `windowMs`. */
export class RateMeter {
  private samples: { t: number; n: number }[] = [];
  constructor(private readonly windowMs = 5000) {}
  add(t: number, n: number): void {
    this.samples.push({ t, n });
    this.trim(t);
  }
  rate(t: number): number {
    this.trim(t);
    const first = this.samples[0];
    if (!first) return 0;
    const total = this.samples.reduce((a, s) => a + s.n, 0);
    return (total * 1000) / Math.max(1000, t - first.t);
  }
  private trim(t: number): void {
    while (this.samples.length > 0 && (this.samples[0] as { t: number }).t < t - this.windowMs) this.samples.shift();
  }
}

export interface Output {
  write(text: string): unknown;
}

/**
 * The user's view. Without a TTY: plain log lines only (for logs and scheduled tasks). On a TTY:
 * the same lines, plus one status line kept at the bottom and redrawn at most 5 times a second.
 */
export class Reporter {
  private readonly live: LiveCounters = { filesDone: 0, filesQueued: 0, bytesDone: 0, bytesQueued: 0, rate: 0 };
  private readonly meter = new RateMeter();
  private statusShown = false;
  private lastDraw = 0;

  constructor(
    private readonly out: Output,
    private readonly tty: boolean,
    private readonly now: () => number = Date.now,
    /** '↓' for a restore. */
    private readonly arrow = '↑',
  ) {}

  line(text: string): void {
    this.clearStatus();
    this.out.write(`${text}\n`);
    this.drawStatus(true);
  }

  queued(size: number): void {
    this.live.filesQueued++;
    this.live.bytesQueued += size;
    this.drawStatus(false);
  }

  /** A queued file is finished; `unsentBytes` of it never travelled (linked, or failed). */
  fileDone(unsentBytes = 0): void {
    this.live.filesDone++;
    this.live.bytesDone += unsentBytes;
    this.drawStatus(false);
  }

  bytes(n: number): void {
    this.live.bytesDone += n;
    this.meter.add(this.now(), n);
    this.drawStatus(false);
  }

  /** The pass is over: the status line goes, the counters start again. */
  passDone(summary: PassSummary, kind?: string): void {
    this.clearStatus();
    Object.assign(this.live, { filesDone: 0, filesQueued: 0, bytesDone: 0, bytesQueued: 0 });
    this.out.write(`${formatSummary(summary, kind)}\n`);
  }

  /** The run is over: the status line goes and `text` is the last word. */
  end(text: string): void {
    this.clearStatus();
    this.live.filesQueued = 0;
    this.out.write(`${text}\n`);
  }

  private drawStatus(force: boolean): void {
    if (!this.tty || this.live.filesQueued === 0) return;
    const t = this.now();
    if (!force && t - this.lastDraw < 200) return;
    this.lastDraw = t;
    this.live.rate = this.meter.rate(t);
    this.out.write(`\r\x1b[2K${formatStatus(this.live).replace('↑', this.arrow)}`);
    this.statusShown = true;
  }

  private clearStatus(): void {
    if (this.statusShown) this.out.write('\r\x1b[2K');
    this.statusShown = false;
  }
}
