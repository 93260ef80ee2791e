import type { AppDeps } from '../../core/deps.js';
import { DEFAULT_CONFIG } from '../../core/deps.js';
import { SeenTracker } from '../../storage/clients/seen-tracker.js';
import { reclaimExpiredUploads } from '../../handlers/tus/expire.js';
import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { PgKeyedMutex } from '../../storage/locks/pg-keyed-mutex.js';
import { S3BlobStore } from '../../storage/blobs/s3/s3-blob-store.js';
import { createS3Client, type S3Settings } from '../../storage/blobs/s3/s3-client.js';
import { Sweeper, type SweepReport } from '../../storage/hot-cold/sweeper.js';
import { Pruner } from '../../storage/history/pruner.js';
import { releaseBlob } from '../../core/commit.js';
import { uploadLimits } from '../config-spec.js';
import { lambdaConfig, type LambdaConfig } from './config.js';
import { createLambdaHandler, type LambdaHandler } from './handler.js';

export interface LambdaRuntime {
  deps: Omit<AppDeps, 'reads'>;
  config: LambdaConfig;
  close(): Promise<void>;
}

/**
 * S3 blobs + the PostgreSQL catalog, built once per Lambda container (cold start) and reused by
 * every invocation it serves. Small pools: many containers share one database.
 */
export async function openLambdaRuntime(config: LambdaConfig, options: { credentials?: S3Settings['credentials']; log?: (line: string) => void; clock?: () => number } = {}): Promise<LambdaRuntime> {
  const log = options.log ?? ((line: string) => console.log(line));
  const clock = options.clock ?? Date.now;
  const client = createS3Client({ bucket: config.bucket, region: config.region, endpoint: config.endpoint, credentials: options.credentials });
  const catalog = await PgCatalog.open({ url: config.databaseUrl, max: 2, log });
  const locks = new PgKeyedMutex({ url: config.databaseUrl, max: 2, log });
  const deps: Omit<AppDeps, 'reads'> = {
    blobs: new S3BlobStore({ client, bucket: config.bucket }),
    catalog,
    clock,
    locks,
    config: { ...DEFAULT_CONFIG, ...uploadLimits(config), staleAfterMs: config.staleAfterMs, hotTimeMs: config.hotTimeMs },
    seen: new SeenTracker({ catalog, clock, log }),
    log,
  };
  return {
    deps,
    config,
    async close() {
      await locks.close();
      await catalog.close();
      client.destroy();
    },
  };
}

let runtime: Promise<LambdaRuntime> | undefined;
let http: Promise<LambdaHandler> | undefined;

function shared(): Promise<LambdaRuntime> {
  runtime ??= openLambdaRuntime(lambdaConfig(process.env)).catch((err: unknown) => {
    runtime = undefined; // the next invocation tries again
    throw err;
  });
  return runtime;
}

/** The HTTP entry point: `adapters/lambda/index.handler`. */
export const handler: LambdaHandler = async (event, context) => {
  http ??= shared().then((r) => createLambdaHandler(r.deps));
  return (await http)(event, context);
};

/** Runs one hot/cold sweep and reclaims expired resumable uploads, within one invocation. */
export async function sweepOnce(r: LambdaRuntime): Promise<SweepReport & { expiredUploads: number }> {
  const log = r.deps.log ?? console.log;
  const pruner = new Pruner({ catalog: r.deps.catalog, clock: r.deps.clock, log, policy: r.config.retention, release: (sha) => releaseBlob(r.deps, sha) });
  const sweeper = new Sweeper({ ...r.deps, log, hotTimeMs: r.config.hotTimeMs, intervalMs: 60_000, concurrency: 1, pruner });
  try {
    const report = await sweeper.sweepOnce();
    const expiredUploads = await reclaimExpiredUploads({ ...r.deps });
    return { ...report, expiredUploads };
  } finally {
    await sweeper.stop();
  }
}

/** The scheduled entry point (e.g. an EventBridge rule every 15 minutes): `adapters/lambda/index.sweep`. */
export async function sweep(): Promise<SweepReport & { expiredUploads: number }> {
  return sweepOnce(await shared());
}
