import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdtemp, rm, stat, truncate, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backupBatch } from '../../client/batch-upload.js';
import { systemClock } from '../../client/clock.js';
import type { HttpClient, HttpResponse, RequestOptions } from '../../client/http.js';
import { StateDb } from '../../client/state-db.js';
import { TokenBucket } from '../../client/token-bucket.js';
import type { FileRef, Outcome, UploadContext } from '../../client/uploader.js';
import { sha256 } from '../helpers/bytes.js';
import { fakeClock } from './fake-clock.js';

let work: string;

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'cb-batch-unit-'));
});

afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

interface Frame {
  path: string;
  size: number;
  sha256: string;
  bytes: Buffer;
}

/** Splits a batch body into its frames: a JSON header line, then `size` bytes. */
function parseFrames(body: Buffer): Frame[] {
  const frames: Frame[] = [];
  let at = 0;
  while (at < body.length) {
    const nl = body.indexOf(0x0a, at);
    const header = JSON.parse(body.subarray(at, nl).toString('utf8')) as Omit<Frame, 'bytes'>;
    frames.push({ ...header, bytes: body.subarray(nl + 1, nl + 1 + header.size) });
    at = nl + 1 + header.size;
  }
  return frames;
}

/**
 * A stand-in for the server's POST /api/batch: reads the whole body (after `before`, which may
 * change files on disk), checks Content-Length, and accepts a frame when its bytes hash as announced.
 */
function fakeServer(before: () => Promise<void> = async () => undefined) {
  const seen: { frames: Frame[]; length: number }[] = [];
  const http = {
    async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
      expect([method, path]).toEqual(['POST', 'api/batch']);
      await before();
      const chunks: Buffer[] = [];
      for await (const c of options.body as Readable) chunks.push(c as Buffer);
      const body = Buffer.concat(chunks);
      expect(body.length).toBe(Number(options.headers?.['Content-Length']));
      const frames = parseFrames(body);
      seen.push({ frames, length: body.length });
      const results = frames.map((f) => (sha256(f.bytes) === f.sha256 ? { status: 201 } : { status: 400, error: 'sha256 mismatch' }));
      return { status: 200, headers: {}, text: JSON.stringify({ results }) };
    },
  };
  return { http: http as unknown as HttpClient, seen };
}

function context(db: StateDb, http: HttpClient, extra: Partial<UploadContext> = {}): UploadContext {
  return {
    http,
    db,
    namespace: 'alice',
    prefix: [],
    settleMs: 0,
    clock: systemClock,
    retry: { attempts: 1, baseMs: 1, maxMs: 1 },
    tus: false,
    tusThreshold: Infinity,
    tusChunk: 1 << 20,
    linkMinBytes: 0,
    batchFileMaxBytes: 1024 * 1024,
    signal: new AbortController().signal,
    ...extra,
  };
}

/** A new folder with random files of these sizes, and each as the scan reports it (size and mtime now). */
async function folder(label: string, sizes: Record<string, number>) {
  const dir = await mkdtemp(join(work, `${label}-`));
  const files: FileRef[] = [];
  const hashes = new Map<string, string>();
  for (const [name, size] of Object.entries(sizes)) {
    const abs = join(dir, name);
    const data = randomBytes(size);
    await writeFile(abs, data);
    hashes.set(name, sha256(data));
    const st = await stat(abs);
    files.push({ segments: [name], abs, size: st.size, mtimeMs: st.mtimeMs });
  }
  return { dir, files, hashes };
}

/** A state DB in `dir` for the length of `fn`. */
async function withDb<T>(dir: string, fn: (db: StateDb) => Promise<T>): Promise<T> {
  const db = new StateDb(join(dir, 'state.sqlite'));
  try {
    return await fn(db);
  } finally {
    db.close();
  }
}

/** Runs one batch; files sent through `single` are recorded (and reported as such). */
async function batch(ctx: UploadContext, files: FileRef[]) {
  const single: FileRef[] = [];
  const outcomes = await backupBatch(
    ctx,
    files,
    async (f) => {
      single.push(f);
      return { kind: 'failed', message: 'sent on its own' } satisfies Outcome;
    },
    () => {
      throw new Error('unexpected: no batch route');
    },
  );
  return { outcomes, single };
}

describe('backupBatch', () => {
  it('sends each file exactly (empty, 4 KiB, the 256 KiB limit of one read, above it), records what the server took', async () => {
    const { dir, files, hashes } = await folder('exact', { empty: 0, small: 4096, limit: 256 * 1024, above: 256 * 1024 + 1, big: 700 * 1024 });
    await withDb(dir, async (db) => {
      const server = fakeServer();
      const { outcomes, single } = await batch(context(db, server.http), files);
      expect(single).toEqual([]);
      expect(outcomes.map((o) => o?.kind)).toEqual(files.map(() => 'sent'));
      expect(server.seen).toHaveLength(1);
      const frames = server.seen[0]?.frames ?? [];
      const name = (f: FileRef) => f.segments[0] as string;
      expect(frames.map((f) => [f.path, f.size, f.sha256, sha256(f.bytes)])).toEqual(files.map((f) => [`alice/${name(f)}`, f.size, hashes.get(name(f)), hashes.get(name(f))]));
      for (const f of files) expect(db.getFile(name(f))).toMatchObject({ size: f.size, mtimeMs: f.mtimeMs, sha256: hashes.get(name(f)), via: 'put' });
    });
  });

  it('a file gone before it is read is gone; one that changed since the scan goes on its own, as it is now', async () => {
    const { dir, files } = await folder('moved', { gone: 100, changed: 100, stays: 100 });
    await unlink(join(dir, 'gone'));
    await writeFile(join(dir, 'changed'), randomBytes(150));
    await withDb(dir, async (db) => {
      const server = fakeServer();
      const { outcomes, single } = await batch(context(db, server.http), files);
      expect(outcomes.map((o) => o?.kind)).toEqual(['gone', 'failed', 'sent']);
      expect(single).toEqual([{ ...files[1], size: 150, mtimeMs: (await stat(join(dir, 'changed'))).mtimeMs }]);
      expect(server.seen[0]?.frames.map((f) => f.path)).toEqual(['alice/stays']);
      expect(db.getFile('changed')).toBeUndefined();
    });
  });

  it('a file that shrank after it was hashed is padded so the other frames hold; the server refuses it and it goes on its own', async () => {
    const { dir, files } = await folder('shrank', { a: 5000, shrinks: 5000, c: 5000 });
    await withDb(dir, async (db) => {
      const server = fakeServer(() => truncate(join(dir, 'shrinks'), 1000));
      const { outcomes, single } = await batch(context(db, server.http), files);
      // The fake server checked the body against Content-Length; every frame parsed in place.
      expect(server.seen[0]?.frames.map((f) => [f.path, f.bytes.length])).toEqual([['alice/a', 5000], ['alice/shrinks', 5000], ['alice/c', 5000]]);
      expect(server.seen[0]?.frames[1]?.bytes.subarray(1000)).toEqual(Buffer.alloc(4000));
      expect(outcomes.map((o) => o?.kind)).toEqual(['sent', 'failed', 'sent']);
      expect(single.map((f) => [f.segments[0], f.size])).toEqual([['shrinks', 1000]]);
    });
  });

  it('a path that became a FIFO since the scan does not block the batch: nothing regular is there to back up', async () => {
    const { dir, files } = await folder('fifo', { 'was-a-file': 100, other: 100 });
    await unlink(join(dir, 'was-a-file'));
    execFileSync('mkfifo', [join(dir, 'was-a-file')]);
    await withDb(dir, async (db) => {
      const { outcomes, single } = await batch(context(db, fakeServer().http), files);
      expect(outcomes.map((o) => o?.kind)).toEqual(['gone', 'sent']);
      expect(single).toEqual([]);
    });
  }, 10_000);

  it.skipIf(process.getuid?.() === 0)('an unreadable file fails with its reason; the others are sent', async () => {
    const { dir, files } = await folder('locked', { locked: 100, open: 100 });
    await chmod(join(dir, 'locked'), 0);
    await withDb(dir, async (db) => {
      const { outcomes } = await batch(context(db, fakeServer().http), files);
      expect(outcomes[0]).toMatchObject({ kind: 'failed', message: expect.stringMatching(/EACCES/) });
      expect(outcomes[1]?.kind).toBe('sent');
    });
  });

  it('--limit-rate: every content byte of the small files goes through the bucket in burst-sized pieces, the header lines do not', async () => {
    const { dir, files } = await folder('rated', { a: 40_000, b: 3000, c: 200 * 1024 });
    const total = files.reduce((n, f) => n + f.size, 0);
    const bucket = new TokenBucket({ rate: 16 * 1024, burst: 16 * 1024, clock: fakeClock() });
    await withDb(dir, async (db) => {
      let reported = 0;
      const { outcomes } = await batch(context(db, fakeServer().http, { bucket, onBytes: (n) => (reported += n) }), files);
      expect(outcomes.map((o) => o?.kind)).toEqual(['sent', 'sent', 'sent']);
      expect(bucket.stats.bytes).toBe(total);
      expect(reported).toBe(total);
      // A 16 KiB burst: the 200 KiB file alone needed a dozen waits (by the fake clock: no real time).
      expect(bucket.stats.waits).toBeGreaterThanOrEqual(Math.floor((total - 16 * 1024) / (16 * 1024)));
    });
  });
});
