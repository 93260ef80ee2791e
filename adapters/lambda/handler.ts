import { handle } from 'hono/aws-lambda';
import { createApp } from '../../handlers/app.js';
import type { AppDeps } from '../../core/deps.js';
import { AccessTracker } from '../../storage/hot-cold/access-tracker.js';
import { promoteBlob } from '../../storage/hot-cold/form-swap.js';

export type LambdaHandler = ReturnType<typeof handle>;

/**
 * The Hono app as an AWS Lambda handler (API Gateway v1/v2, ALB, function URLs). Lambda freezes
 * the process as soon as a handler returns, so nothing is left to timers: each invocation
 * writes its downloads' access times to the catalog and turns the cold blobs it read back into
 * plain ones before it returns.
 */
export function createLambdaHandler(deps: Omit<AppDeps, 'reads'>): LambdaHandler {
  const log = deps.log ?? ((line: string) => console.log(line));
  const coldReads = new Set<string>();
  const reads = new AccessTracker({ catalog: deps.catalog, clock: deps.clock, log, flushMs: 60_000, onColdRead: (sha) => coldReads.add(sha) });
  // The path as API Gateway received it, so `.`/`..` are refused rather than resolved.
  const rawTarget = (env: unknown): string | undefined => {
    const event = (env as { event?: { rawPath?: string; path?: string } } | undefined)?.event;
    return event?.rawPath ?? event?.path;
  };
  const inner = handle(createApp({ ...deps, reads, rawTarget }));
  const swaps = { blobs: deps.blobs, catalog: deps.catalog, locks: deps.locks, clock: deps.clock, log };
  return async (event, context) => {
    try {
      return await inner(event, context);
    } finally {
      await reads.flush().catch((err: Error) => log(`lambda: recording reads failed: ${err.message}`));
      for (const sha of [...coldReads]) {
        coldReads.delete(sha);
        await promoteBlob(swaps, sha).catch((err: Error) => log(`lambda: promoting ${sha} failed: ${err.message}`));
      }
    }
  };
}
