import { randomBytes } from 'node:crypto';
import { appendFile, readFile, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DiskBlobStore } from '../../storage/disk-blob-store.js';
import { ChecksumMismatchError, ConflictError, NotFoundError, TooLargeError } from '../../storage/errors.js';
import { sha256 } from '../helpers/bytes.js';
import { makeDataDir } from '../helpers/server.js';

/** A body made of `chunks`; with `failAfter` it errors (as a dropped connection does) after that many. */
function body(chunks: Uint8Array[], failAfter?: number): ReadableStream<Uint8Array> {
  let i = 0;
  return new ReadableStream({
    pull(controller) {
      if (failAfter !== undefined && i === failAfter) {
        controller.error(Object.assign(new Error('aborted'), { code: 'ECONNRESET' }));
        return;
      }
      const next = chunks[i++];
      if (next) controller.enqueue(next);
      else controller.close();
    },
  });
}

/** A body that sends `first` and then never ends (a stalled client). */
function stalled(first: Uint8Array): ReadableStream<Uint8Array> {
  let sent = false;
  return new ReadableStream({
    pull(controller) {
      if (!sent) {
        sent = true;
        controller.enqueue(first);
      }
      return new Promise(() => {});
    },
  });
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) parts.push(Buffer.from(c));
  return Buffer.concat(parts);
}

describe('DiskBlobStore upload parts', () => {
  let dir: string;
  let store: DiskBlobStore;
  const a = randomBytes(70_000);
  const b = randomBytes(50_000);

  beforeEach(async () => {
    dir = await makeDataDir();
    store = new DiskBlobStore({ root: dir, durable: false });
    await store.init();
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('appends at exact offsets, hashes the whole part and commits it as a blob', async () => {
    await store.createPartial('up1');
    expect(await store.appendPartial('up1', 0, body([a.subarray(0, 1000), a.subarray(1000)]))).toBe(a.length);
    expect(await store.appendPartial('up1', a.length, body([b]))).toBe(a.length + b.length);
    expect(await store.partialSize('up1')).toBe(a.length + b.length);
    const temp = await store.finishPartial('up1');
    const whole = Buffer.concat([a, b]);
    expect(temp).toMatchObject({ sha256: sha256(whole), size: whole.length });
    expect(await store.commit(temp)).toEqual({ stored: true });
    expect(sha256(await readAll(await store.read(temp.sha256)))).toBe(sha256(whole));
    await expect(store.partialSize('up1')).rejects.toBeInstanceOf(NotFoundError);
  });

  it('keeps parts in uploads/, which the start-up cleanup of tmp/ leaves alone', async () => {
    await store.createPartial('keep');
    await store.appendPartial('keep', 0, body([a]));
    await store.cleanupTemp();
    expect(await readdir(join(dir, 'uploads'))).toEqual(['keep']);
    expect(await store.partialSize('keep')).toBe(a.length);
  });

  it('drops bytes past the recorded offset (left by a crash) before appending', async () => {
    await store.createPartial('crash');
    await store.appendPartial('crash', 0, body([a]));
    await appendFile(join(dir, 'uploads', 'crash'), randomBytes(5000));
    expect(await store.appendPartial('crash', a.length, body([b]))).toBe(a.length + b.length);
    expect(sha256(await readFile(join(dir, 'uploads', 'crash')))).toBe(sha256(Buffer.concat([a, b])));
  });

  it('refuses an offset beyond the bytes held and leaves the part unchanged', async () => {
    await store.createPartial('short');
    await store.appendPartial('short', 0, body([a]));
    await expect(store.appendPartial('short', a.length + 1, body([b]))).rejects.toBeInstanceOf(ConflictError);
    expect(await store.partialSize('short')).toBe(a.length);
  });

  it('keeps what arrived when the body breaks off or the caller aborts', async () => {
    await store.createPartial('broken');
    expect(await store.appendPartial('broken', 0, body([a, b], 1))).toBe(a.length);
    expect(await store.partialSize('broken')).toBe(a.length);

    await store.createPartial('taken');
    const ctl = new AbortController();
    const pending = store.appendPartial('taken', 0, stalled(b), { signal: ctl.signal });
    while ((await stat(join(dir, 'uploads', 'taken'))).size < b.length) await new Promise((r) => setImmediate(r));
    ctl.abort();
    expect(await pending).toBe(b.length);
  });

  const cutBack: Array<[string, () => ReadableStream<Uint8Array>, Record<string, unknown>, unknown]> = [
    ['past maxBytes', () => body([b, b]), { maxBytes: b.length + 10 }, TooLargeError],
    ['checksum mismatch', () => body([b]), { sha256: sha256(a) }, ChecksumMismatchError],
  ];
  it.each(cutBack)('cuts the part back to the offset on %s', async (_name, make, options, error) => {
    await store.createPartial('cut');
    await store.appendPartial('cut', 0, body([a]));
    await expect(store.appendPartial('cut', a.length, make(), options)).rejects.toBeInstanceOf(error);
    expect(await store.partialSize('cut')).toBe(a.length);
  });

  it('accepts a chunk whose checksum matches, and drops a broken-off chunk that had one', async () => {
    await store.createPartial('sum');
    expect(await store.appendPartial('sum', 0, body([a]), { sha256: sha256(a) })).toBe(a.length);
    expect(await store.appendPartial('sum', a.length, body([b, b], 1), { sha256: sha256(Buffer.concat([b, b])) })).toBe(a.length);
    expect(await store.partialSize('sum')).toBe(a.length);
  });

  it('treats missing parts and malformed ids as not found, and deletes idempotently', async () => {
    await expect(store.appendPartial('nope', 0, body([a]))).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.finishPartial('nope')).rejects.toBeInstanceOf(NotFoundError);
    await expect(store.createPartial('../escape')).rejects.toBeInstanceOf(NotFoundError);
    await store.createPartial('dup');
    await expect(store.createPartial('dup')).rejects.toBeInstanceOf(ConflictError);
    await store.deletePartial('dup');
    await store.deletePartial('dup');
    await store.deletePartial('../../catalog.sqlite');
    await expect(store.partialSize('dup')).rejects.toBeInstanceOf(NotFoundError);
  });
});
