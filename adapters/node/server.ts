import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createAdaptorServer, type HttpBindings } from '@hono/node-server';
import { createApp } from '../../handlers/app.js';
import { DEFAULT_CONFIG, type AppDeps } from '../../core/deps.js';
import { AccessTracker } from '../../storage/hot-cold/access-tracker.js';
import type { BlobStore } from '../../storage/blobs/blob-store.js';
import type { Catalog } from '../../storage/catalog/catalog.js';
import { repairSwaps } from '../../storage/hot-cold/form-swap.js';
import { replayBlobLog } from '../../storage/blobs/log-replay.js';
import { SlidingLoginLimiter } from '../../storage/clients/login-limiter.js';
import { Pruner } from '../../storage/history/pruner.js';
import { Sweeper } from '../../storage/hot-cold/sweeper.js';
import { SeenTracker } from '../../storage/clients/seen-tracker.js';
import { releaseBlob } from '../../core/commit.js';
import { DiskSpaceReserve } from '../../storage/space/disk-space-reserve.js';
import { openBackends } from './backends.js';
import { uploadLimits } from '../config-spec.js';
import type { ServerConfig } from './config.js';
import { closeAfterUnreadBody } from './connection-close.js';
import { limitConnectionsPerAddress } from './connection-limit.js';
import { LineWriter } from '../../shared/line-writer.js';
import { accessLine, messageLine } from './log-lines.js';
import { PrometheusMetrics } from './metrics.js';
import { claimPidFile } from './pid-file.js';
import { withFastBody } from './request-body.js';
import { RequestMeasure } from './request-measure.js';
import { resolveListenHost } from './startup-checks.js';
import { scheduleUploadReclaim } from './upload-expiry.js';

/** Longest wait for a request's headers. */
export const HEADERS_TIMEOUT_MS = 15_000;
/** Connections the kernel may queue before the server accepts them (capped by net.core.somaxconn). */
export const LISTEN_BACKLOG = 4096;

export interface RunningServer {
  /** http://host:port, with 127.0.0.1 when listening on every address. */
  url: string;
  port: number;
  deps: AppDeps;
  catalog: Catalog;
  blobs: BlobStore;
  /** Compresses cold blobs and promotes read ones (hot/cold). */
  sweeper: Sweeper;
  /** Batched last-access times of downloads. */
  reads: AccessTracker;
  metrics: PrometheusMetrics;
  /** Stops accepting, lets in-flight requests finish (up to `graceMs`), closes the database. */
  close(graceMs?: number): Promise<void>;
}

export { catalogFile } from './backends.js';

/** Wires the storage (disk or S3, SQLite or PostgreSQL) + the Hono app into a listening Node HTTP server. */
export async function startServer(config: ServerConfig, writeLine?: (line: string) => void): Promise<RunningServer> {
  // Without a writer of its own, stdout: access lines gathered per event-loop turn (LineWriter).
  const stdout = writeLine ? undefined : new LineWriter(process.stdout);
  const write = writeLine ?? ((line: string) => stdout?.line(line));
  const writeAccess = writeLine ?? ((line: string) => stdout?.later(line));
  const log = (line: string) => write(messageLine(line, config.logFormat, Date.now()));
  await resolveListenHost(config.host);
  const backends = await openBackends(config, log);
  const { blobs, catalog, locks } = backends;
  log(`storage: ${backends.describe}`);
  const cleaned = await blobs.cleanupTemp();
  if (cleaned > 0) log(`start-up: removed ${cleaned} temporary leftover(s) of an earlier run`);
  const replayed = await replayBlobLog({ blobs, catalog, locks });
  if (replayed.segments > 0) {
    log(
      `start-up: replayed ${replayed.segments} blob log segment(s) of an earlier run (${replayed.records} record(s)): ` +
        `put back ${replayed.restored} small file(s) from the blob log (a crash had taken their stored copies)`,
    );
  }
  const swaps = { blobs, catalog, locks, clock: Date.now, log };
  const repaired = await repairSwaps(swaps);
  if (repaired.swaps > 0) {
    log(`start-up: finished ${repaired.swaps} interrupted hot/cold swap(s): ${repaired.dropped} leftover form(s) removed, ${repaired.corrected} catalog row(s) corrected`);
  }
  const reserve = config.diskReserveBytes > 0 ? new DiskSpaceReserve(config.dataDir, config.diskReserveBytes) : undefined;
  if (reserve && !(await reserve.restore())) {
    log(`start-up: the disk has no room for the ${config.diskReserveBytes}-byte space reserve: uploads get 507 until files are deleted`);
  }
  const metrics = new PrometheusMetrics({ catalog, blobLog: blobs.logStatus?.bind(blobs) });
  const sweeper = new Sweeper({
    ...swaps,
    hotTimeMs: config.hotTimeMs,
    intervalMs: config.sweepIntervalMs,
    concurrency: config.sweepConcurrency,
    lastSeen: (sha) => reads.lastSeen(sha),
    onReport: (r) => metrics.observeSweep(r),
    pruner: new Pruner({
      catalog,
      clock: Date.now,
      log,
      policy: { keepAllMs: config.keepAllMs, keepDailyMs: config.keepDailyMs, keepWeeklyMs: config.keepWeeklyMs },
      release: (sha) => releaseBlob(deps, sha),
    }),
  });
  const onColdRead = (sha: string) => void sweeper.promote(sha).then((done) => done && metrics.observePromotion());
  const reads = new AccessTracker({ catalog, clock: Date.now, log, onColdRead });
  const measure = new RequestMeasure((r) => {
    metrics.observeRequest(r);
    if (config.accessLog) writeAccess(accessLine(r, config.logFormat));
  });

  const deps: AppDeps = {
    blobs,
    catalog,
    clock: Date.now,
    locks,
    reads,
    loginLimiter: new SlidingLoginLimiter({ clock: Date.now }),
    reserve,
    rawTarget: (env) => (env as Partial<HttpBindings> | undefined)?.incoming?.url,
    config: {
      ...DEFAULT_CONFIG,
      ...uploadLimits(config),
      metricsToken: config.metricsToken,
      staleAfterMs: config.staleAfterMs,
      hotTimeMs: config.hotTimeMs,
    },
    seen: new SeenTracker({ catalog, clock: Date.now, log }),
    log,
    requests: measure,
    metrics,
  };
  const app = createApp(deps);

  const server = createAdaptorServer({
    fetch: closeAfterUnreadBody(withFastBody(measure.wrap(app.fetch))),
    hostname: config.host,
    // How often Node looks for connections past the headers timeout (default 30 s).
    serverOptions: { connectionsCheckingInterval: 1_000 },
  }) as Server;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    // Node's default backlog (511) overflows when many clients connect while the event loop is
    // busy; the kernel then drops their SYNs and they retry after 1 s, 3 s, ... (the 1,000-client
    // p99 of seconds). The kernel caps it at net.core.somaxconn.
    server.listen({ port: config.port, host: config.host, backlog: LISTEN_BACKLOG }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  // Backups of large files over slow links take hours: no whole-request deadline, but a socket
  // that stays silent for two minutes is dropped. Headers are small: 15 s is plenty, and
  // connections that never finish theirs are not kept long.
  server.requestTimeout = 0;
  server.headersTimeout = HEADERS_TIMEOUT_MS;
  server.setTimeout(120_000);
  const connections = limitConnectionsPerAddress(server, config.maxConnectionsPerAddress);
  metrics.watchConnections(() => connections.totals);
  const reclaim = scheduleUploadReclaim(deps, log);
  sweeper.start();

  const port = (server.address() as AddressInfo).port;
  const releasePidFile = await claimPidFile(config.dataDir);
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  const close = (graceMs = 10_000): Promise<void> => {
    closing ??= (async () => {
      // Compressions stop at once (their temporary data is dropped); downloads may finish.
      const sweeperStopped = sweeper.stop();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.closeAllConnections(), graceMs);
        force.unref();
        server.close(() => {
          clearTimeout(force);
          resolve();
        });
        server.closeIdleConnections();
      });
      await reclaim.stop();
      await sweeperStopped;
      await reads.stop();
      await backends.close();
      await releasePidFile();
      stdout?.close();
    })();
    return closing;
  };

  return { url, port, deps, catalog, blobs, sweeper, reads, metrics, close };
}
