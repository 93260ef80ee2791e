import { watch, type FSWatcher } from 'chokidar';
import type { ClientConfig } from './args.js';
import { BackupClient, WATCH_CONNECT_RETRY, describeConnectError, type ClientOptions } from './backup.js';
import { CancelledError } from './errors.js';
import type { PassSummary } from './progress.js';
import { relativeSegments } from './remote-path.js';

export interface WatchOptions extends ClientOptions {
  /** Quiet time after the last file-system event before the batch is handled. */
  debounceMs?: number;
}

export interface WatchHandle {
  client: BackupClient;
  /** Resolves once the first full pass is done and file-system events are being watched. */
  ready: Promise<void>;
  /** Every pass so far, newest last. */
  passes: PassSummary[];
  /** Stops watching, cancels uploads in flight (tus ones resume next time), closes the DB. */
  stop(): Promise<void>;
  /** Resolves when watching ended (stop(), or a fatal error such as a refused token). */
  done: Promise<void>;
  /** The error that ended watching by itself, if one did. */
  fatal(): Error | undefined;
}

/** Debounce of file-system events: editors save in bursts (temp file, rename, touch). */
export const DEFAULT_DEBOUNCE_MS = 500;

/**
 * Watch mode (the default): a full pass, then file-system events (chokidar: fs.watch per
 * folder, no native add-ons) debounced into small passes, plus a full rescan every --interval
 * as a safety net for events lost (network drives, overflowing queues, sleep). A server that is
 * down is waited for before each pass, never a reason to stop.
 */
export function startWatching(config: ClientConfig, options: WatchOptions = {}): WatchHandle {
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  const signal = controller.signal;
  const client = new BackupClient(config, { ...options, signal });
  const debounceMs = options.debounceMs ?? DEFAULT_DEBOUNCE_MS;
  const passes: PassSummary[] = [];
  const changed = new Set<string>();
  let watcher: FSWatcher | undefined;
  let debounceTimer: NodeJS.Timeout | undefined;
  let rescanTimer: NodeJS.Timeout | undefined;
  let deferTimer: NodeJS.Timeout | undefined;
  // One pass at a time: a rescan that comes while changes are handled waits its turn.
  let chain: Promise<unknown> = Promise.resolve();
  let readyResolve!: () => void;
  const ready = new Promise<void>((r) => (readyResolve = r));
  let doneResolve!: () => void;
  const done = new Promise<void>((r) => (doneResolve = r));
  let fatal: Error | undefined;

  const segmentsOf = (abs: string) => relativeSegments(config.folder, abs, config.flavor);

  const enqueue = (work: () => Promise<PassSummary | undefined>): Promise<void> => {
    const next = chain.then(async () => {
      if (signal.aborted) return;
      try {
        await client.connect(options.connectRetry ?? WATCH_CONNECT_RETRY);
        const summary = await work();
        if (summary) passes.push(summary);
        scheduleDeferred();
      } catch (err) {
        if (err instanceof CancelledError || signal.aborted) return;
        // Only a refused token, a server that does not answer whoami, or a remote folder that is
        // another source's (taken over by a new computer meanwhile) gets here.
        fatal = err as Error;
        client.reporter.line(`error     ${describeConnectError(err)}`);
        void stop();
      }
    });
    chain = next;
    return next;
  };

  const scheduleDeferred = () => {
    if (deferTimer) clearTimeout(deferTimer);
    deferTimer = undefined;
    if (client.deferred.size === 0 || signal.aborted) return;
    const soonest = Math.min(...[...client.deferred.values()].map((d) => d.atMs));
    deferTimer = setTimeout(
      () => {
        const due: string[] = [];
        for (const [key, d] of client.deferred) {
          if (d.atMs > Date.now() + 50) continue;
          client.deferred.delete(key);
          due.push(d.file.abs);
        }
        void enqueue(() => client.changesPass(due, segmentsOf));
      },
      Math.max(50, soonest - Date.now() + 50),
    );
  };

  const onEvent = (abs: string) => {
    changed.add(abs);
    if (debounceTimer) clearTimeout(debounceTimer);
    debounceTimer = setTimeout(() => {
      const batch = [...changed];
      changed.clear();
      void enqueue(() => client.changesPass(batch, segmentsOf));
    }, debounceMs);
  };

  const scheduleRescan = () => {
    rescanTimer = setTimeout(() => {
      void enqueue(() => client.fullPass()).then(() => {
        if (!signal.aborted) scheduleRescan();
      });
    }, config.intervalMs);
  };

  void enqueue(async () => {
    // Watch first, then scan: a file written during the first pass is not missed.
    watcher = watch(config.folder, {
      ignoreInitial: true,
      followSymlinks: false,
      persistent: true,
      ignored: (p: string) => client.isStateFile(p),
    });
    // A removal is looked at like any change: gone for --settle, it is deleted on the server.
    watcher.on('add', onEvent).on('change', onEvent).on('addDir', onEvent).on('unlink', onEvent).on('unlinkDir', onEvent);
    watcher.on('error', (err) => client.reporter.line(`watch     error: ${(err as Error).message}; the periodic rescan still covers everything`));
    await new Promise<void>((r) => watcher?.once('ready', () => r()));
    return client.fullPass();
  }).then(() => {
    readyResolve();
    if (!signal.aborted) scheduleRescan();
  });

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      controller.abort();
      for (const t of [debounceTimer, rescanTimer, deferTimer]) if (t) clearTimeout(t);
      await watcher?.close();
      await chain.catch(() => undefined);
      client.uploader.queue.clear();
      await client.uploader.onIdle();
      client.close();
      readyResolve();
      doneResolve();
    })();
    return stopping;
  };

  return { client, ready, passes, stop, done, fatal: () => fatal };
}
