import type { BlobStore } from './blob-store.js';
import type { Catalog } from '../catalog/catalog.js';
import type { KeyedMutex } from '../locks/keyed-mutex.js';
import { NotFoundError } from '../../core/errors.js';

export interface LogReplayContext {
  blobs: BlobStore;
  catalog: Catalog;
  locks: KeyedMutex;
}

export interface LogReplayReport {
  /** Segments of the blob log an earlier run left. */
  segments: number;
  /** Intact records read from them. */
  records: number;
  /** Blobs written back from their record (their stored form was gone, torn or corrupt). */
  restored: number;
}

/**
 * After a crash, puts back the small files of batches whose own files a power cut may have taken
 * (storage/blobs/disk/blob-log.ts): for every record, if the catalog names the blob and the form
 * it names does not hash to it, the record becomes the plain form again (and the row says so).
 * A record the catalog does not name is left out: its batch never committed, or the file was
 * deleted since. Call at start-up, before serving and before hot/cold swaps are repaired; fsck
 * --repair does the same. Only the log's records are looked at, so start-up stays fast.
 */
export async function replayBlobLog(ctx: LogReplayContext): Promise<LogReplayReport> {
  const report: LogReplayReport = { segments: 0, records: 0, restored: 0 };
  const replay = ctx.blobs.logReplay;
  if (!replay) return report;
  const segments = await replay.leftovers();
  report.segments = segments.length;
  for (const segment of segments) {
    for await (const record of replay.records(segment)) {
      report.records++;
      await ctx.locks.run(record.sha256, async () => {
        const row = await ctx.catalog.getBlob(record.sha256);
        if (!row) return;
        const where = { state: row.state, codec: row.codec };
        const found = await ctx.blobs.inventory.hash(record.sha256, where).catch((err: unknown) => {
          if (err instanceof NotFoundError) return undefined;
          throw err;
        });
        if (found && 'sha256' in found && found.sha256 === record.sha256 && found.size === record.bytes.byteLength) return;
        await replay.restore(record);
        report.restored++;
        if (row.state !== 'hot' || row.storedSize !== record.bytes.byteLength) {
          await ctx.catalog.updateBlob(record.sha256, { state: 'hot', codec: null, storedSize: record.bytes.byteLength });
          // The form the row named is torn or gone: what is left of it is of no use.
          if (row.state !== 'hot') await ctx.blobs.forms.delete(record.sha256, where);
        }
      });
    }
  }
  await replay.retire(segments);
  return report;
}
