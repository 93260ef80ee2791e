import { writevSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';

/** Bytes gathered into one writev: large enough that a 1 GiB body takes ~1000 writes, not 16k. */
export const DEFAULT_BATCH_BYTES = 1 << 20;

export interface BatchedWriterOptions {
  /** Bytes per writev (default 1 MiB). */
  batchBytes?: number;
  /**
   * Start an fdatasync after every this many bytes, while writing goes on, so that the final
   * fsync of a durable write finds little left to flush instead of the whole file (the kernel
   * starts write-back on its own only seconds later). Off when undefined.
   */
  syncEveryBytes?: number;
}

/**
 * Appends chunks to a file in batches: one writev per `batchBytes`, with the next batch filling
 * while the previous one is written, so that receiving a body and writing it overlap instead of
 * taking turns chunk by chunk. At most one write is in flight and one batch waits (memory stays
 * near 2 × batchBytes). A failed write or sync surfaces at the next batch boundary or at `flush`.
 */
export class BatchedWriter {
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private inflight: Promise<void> = Promise.resolve();
  private syncing: Promise<void> | null = null;
  private unsynced = 0;
  private readonly batchBytes: number;
  private readonly syncEveryBytes: number | undefined;

  constructor(
    private readonly fh: FileHandle,
    options: BatchedWriterOptions = {},
  ) {
    this.batchBytes = options.batchBytes ?? DEFAULT_BATCH_BYTES;
    this.syncEveryBytes = options.syncEveryBytes;
  }

  /** Queues a chunk (not copied: it must not change afterwards); waits only for a full batch. */
  async write(chunk: Uint8Array): Promise<void> {
    if (chunk.byteLength === 0) return;
    this.pending.push(chunk);
    this.pendingBytes += chunk.byteLength;
    if (this.pendingBytes >= this.batchBytes) {
      await this.inflight;
      this.startWrite();
    }
  }

  /** Resolves once every queued byte is in the file (and any early sync is done; no final sync). */
  async flush(): Promise<void> {
    await this.inflight;
    if (this.pending.length > 0) {
      this.startWrite();
      await this.inflight;
    }
    await this.syncing;
  }

  private startWrite(): void {
    const bufs = this.pending;
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    this.inflight = writeAll(this.fh, bufs).then(() => this.afterWrite(bytes));
    // Observed at the next write() or flush(); meanwhile no unhandled rejection.
    this.inflight.catch(() => {});
  }

  private async afterWrite(bytes: number): Promise<void> {
    if (this.syncEveryBytes === undefined) return;
    this.unsynced += bytes;
    if (this.unsynced < this.syncEveryBytes) return;
    // One sync at a time; its failure surfaces with the write that follows.
    await this.syncing;
    this.unsynced = 0;
    this.syncing = this.fh.datasync();
    this.syncing.catch(() => {});
  }
}

/** The buffers left after the first `n` bytes of `bufs` were written (views, no copies). */
export function dropWritten(bufs: readonly Uint8Array[], n: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  let skip = n;
  for (const b of bufs) {
    if (skip >= b.byteLength) {
      skip -= b.byteLength;
      continue;
    }
    out.push(skip > 0 ? b.subarray(skip) : b);
    skip = 0;
  }
  return out;
}

async function writeAll(fh: FileHandle, bufs: Uint8Array[]): Promise<void> {
  let rest = bufs;
  while (rest.length > 0) {
    // writev may write less than asked (a signal, IOV_MAX buffers): go on from where it stopped.
    const { bytesWritten } = await fh.writev(rest);
    if (bytesWritten === 0) throw new Error('writev wrote nothing');
    rest = dropWritten(rest, bytesWritten);
  }
}

/** Writes every chunk at the descriptor's position (a regular file takes them whole; partial writes are resumed). */
export function writeAllSync(fd: number, chunks: readonly Uint8Array[]): void {
  let rest = chunks.filter((c) => c.byteLength > 0);
  while (rest.length > 0) rest = dropWritten(rest, writevSync(fd, rest));
}
