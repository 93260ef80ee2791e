import { statSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { pipeline as pipelineCb, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { BlobForms, BlobLocation, ByteRange, PendingForm, ReadOptions, StoredForm } from '../blob-store.js';
import { hashPlainForm, verified } from '../blob-verify.js';
import { createDecompressor, planRangeRead, takeRange } from '../../hot-cold/codec.js';
import { ALL_FORMS, conversionStages, formName, pendingSuffix, readOrder, SHA256_HEX } from '../form-layout.js';
import { sliceChecked } from '../../hot-cold/seekable-gzip.js';
import { InsufficientStorageError, NotFoundError } from '../../../core/errors.js';

export interface DiskBlobFormsOptions {
  /** Folder of a blob's stored forms (`blobs/ab/cd`). */
  dirOf: (sha256: string) => string;
  /** True when the blob's folder surely does not exist (so neither does any form); false when unsure. */
  dirMissing?: (sha256: string) => boolean;
  /** A fresh path on the blobs' filesystem for a temporary object (tmp/, wiped at start-up). */
  newTempPath: (suffix: string) => string;
  /** Folder of the swap journal: one empty file per swap in progress (kept across restarts). */
  journalDir: string;
  /** Where forms that failed their hash are moved (the folder fsck --repair uses too). */
  quarantineDir: string;
  durable: boolean;
  isDiskFull: (err: unknown) => boolean;
  syncDir: (dir: string) => Promise<void>;
}

const READ_CHUNK = 256 * 1024;

function isMissing(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}

/**
 * The stored forms of blobs on disk: `blobs/ab/cd/<sha256>` plain (hot) and
 * `blobs/ab/cd/<sha256>.<suffix>` compressed (cold, e.g. `.gz`): DiskBlobStore.forms. A form is written to tmp/ and renamed next to the other one, so at every
 * instant at least one complete form is in place; readers fall back to the other form when a
 * swap moved the blob between their catalog lookup and the open.
 */
export class DiskBlobForms implements BlobForms {
  constructor(readonly options: DiskBlobFormsOptions) {}

  pathOf(sha256: string, where: BlobLocation): string {
    return `${this.options.dirOf(sha256)}/${formName(sha256, where)}`;
  }

  /** Opens the first form that exists, `where` first. Tried twice: a swap can move it mid-search. */
  async open(sha256: string, where?: BlobLocation): Promise<{ fh: FileHandle; where: BlobLocation }> {
    const order = readOrder(where);
    for (let round = 0; round < 2; round++) {
      for (const loc of order) {
        try {
          return { fh: await open(this.pathOf(sha256, loc), 'r'), where: loc };
        } catch (err) {
          if (!isMissing(err)) throw err;
        }
      }
    }
    throw new NotFoundError(`blob ${sha256} is missing`);
  }

  /** The plain content (or a range of it) from whichever form is stored, decompressing on the fly. */
  async read(sha256: string, range?: ByteRange, where?: BlobLocation, options: ReadOptions = {}): Promise<Readable> {
    const { fh, where: found } = await this.open(sha256, where);
    let plain: Readable;
    try {
      plain = await this.plainStream(fh, found, range);
    } catch (err) {
      await fh.close().catch(() => {});
      throw err;
    }
    if (range || !options.verify) return plain;
    return Readable.from(verified(plain, sha256, found), { objectMode: false });
  }

  private async plainStream(fh: FileHandle, found: BlobLocation, range?: ByteRange): Promise<Readable> {
    if (found.state === 'hot') {
      return fh.createReadStream({ start: range?.start, end: range?.end, highWaterMark: READ_CHUNK, autoClose: true });
    }
    if (range) {
      // A seekable form: decompress only the members that hold the range.
      const plan = await planRangeRead(found.codec as string, { size: (await fh.stat()).size, bytes: (s, e) => readAt(fh, s, e) }, range.start, range.end);
      if (plan) {
        const span = fh.createReadStream({ ...plan.compressed, highWaterMark: READ_CHUNK, autoClose: true });
        const members = pipelineCb(span, createDecompressor(found.codec as string), () => {});
        return Readable.from(sliceChecked(members, plan.skip, range.end - range.start + 1), { objectMode: false });
      }
    }
    const file = fh.createReadStream({ highWaterMark: READ_CHUNK, autoClose: true });
    // The callback form: a consumer that stops early destroys the decompressor, which destroys
    // the file stream; the error (if any) reaches the consumer through the decompressor itself.
    const plain = pipelineCb(file, createDecompressor(found.codec as string), () => {});
    if (!range) return plain;
    return Readable.from(takeRange(plain, range.start, range.end), { objectMode: false });
  }

  /** SHA-256 and size of exactly one form's plain content (no fallback); NotFoundError when absent. */
  async hash(sha256: string, where: BlobLocation): Promise<{ sha256: string; size: number } | { unreadable: string }> {
    let fh: FileHandle;
    try {
      fh = await open(this.pathOf(sha256, where), 'r');
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`blob ${sha256} has no such form`);
      throw err;
    }
    return hashPlainForm(await this.plainStream(fh, where));
  }

  /** Moves one form into the quarantine folder (same file system: a rename). Missing is fine. */
  async quarantine(sha256: string, where: BlobLocation): Promise<void> {
    const from = this.pathOf(sha256, where);
    await mkdir(this.options.quarantineDir, { recursive: true });
    try {
      await rename(from, join(this.options.quarantineDir, `${Date.now()}-${basename(from)}`));
    } catch (err) {
      if (!isMissing(err)) throw err;
      return;
    }
    if (this.options.durable) await this.options.syncDir(this.options.dirOf(sha256)).catch(() => {});
  }

  async convert(sha256: string, from: BlobLocation, to: BlobLocation, options: { signal?: AbortSignal } = {}): Promise<PendingForm> {
    const { signal } = options;
    let source: FileHandle;
    try {
      source = await open(this.pathOf(sha256, from), 'r');
    } catch (err) {
      if (isMissing(err)) throw new NotFoundError(`blob ${sha256} has no ${from.state === 'hot' ? 'plain' : (from.codec ?? '')} form`);
      throw err;
    }
    const path = this.options.newTempPath(pendingSuffix(to));
    try {
      const { size: sourceSize } = await source.stat();
      const { stages, check } = conversionStages(sha256, from, to, from.state === 'hot' ? sourceSize : undefined);
      // Opened before the pipeline starts, so the rm below always finds it (a stream opens its
      // file later: an abort that came first left the file created after its rm).
      const out = (await open(path, 'wx', 0o600)).createWriteStream();
      await pipeline([source.createReadStream({ highWaterMark: READ_CHUNK, autoClose: true }), ...stages, out], { signal });
      check();
      if (this.options.durable) await syncFile(path);
      return { id: path, sha256, state: to.state, codec: to.state === 'hot' ? null : to.codec, storedSize: out.bytesWritten };
    } catch (err) {
      await source.close().catch(() => {});
      await rm(path, { force: true });
      if (this.options.isDiskFull(err)) throw new InsufficientStorageError();
      throw err;
    }
  }

  async install(pending: PendingForm): Promise<void> {
    const dir = this.options.dirOf(pending.sha256);
    await mkdir(dir, { recursive: true });
    await rename(pending.id, this.pathOf(pending.sha256, pending));
    if (this.options.durable) await this.options.syncDir(dir);
  }

  async discard(pending: PendingForm): Promise<void> {
    await rm(pending.id, { force: true }).catch(() => {});
  }

  async delete(sha256: string, where: BlobLocation): Promise<void> {
    await rm(this.pathOf(sha256, where), { force: true });
    if (this.options.durable) await this.options.syncDir(this.options.dirOf(sha256)).catch(() => {});
  }

  async deleteAll(sha256: string): Promise<void> {
    await Promise.all(ALL_FORMS.map((l) => rm(this.pathOf(sha256, l), { force: true })));
  }

  /**
   * Every commit asks (does this content have a stored form?), mostly of content that has none:
   * a stat is a quick call, made here without a thread-pool round trip or an error per missing form.
   */
  async list(sha256: string): Promise<StoredForm[]> {
    const found: StoredForm[] = [];
    if (this.options.dirMissing?.(sha256)) return found;
    for (const loc of ALL_FORMS) {
      const st = statSync(this.pathOf(sha256, loc), { throwIfNoEntry: false });
      if (st) found.push({ ...loc, storedSize: st.size });
    }
    return found;
  }

  async exists(sha256: string): Promise<boolean> {
    for (const loc of ALL_FORMS) {
      try {
        if (statSync(this.pathOf(sha256, loc), { throwIfNoEntry: false })) return true;
      } catch {
        // try the next form
      }
    }
    return false;
  }

  // --- swap journal ---

  async beginSwap(sha256: string): Promise<void> {
    await mkdir(this.options.journalDir, { recursive: true });
    await writeFile(join(this.options.journalDir, sha256), '');
    if (this.options.durable) await this.options.syncDir(this.options.journalDir);
  }

  async endSwap(sha256: string): Promise<void> {
    await rm(join(this.options.journalDir, sha256), { force: true });
  }

  async unfinishedSwaps(): Promise<string[]> {
    try {
      return (await readdir(this.options.journalDir)).filter((n) => SHA256_HEX.test(n));
    } catch (err) {
      if (isMissing(err)) return [];
      throw err;
    }
  }
}

/** Bytes `start`..`end` (inclusive) of an open file. */
async function readAt(fh: FileHandle, start: number, end: number): Promise<Uint8Array> {
  const buf = Buffer.alloc(end - start + 1);
  const { bytesRead } = await fh.read(buf, 0, buf.length, start);
  return buf.subarray(0, bytesRead);
}

async function syncFile(path: string): Promise<void> {
  const fh = await open(path, 'r+');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
