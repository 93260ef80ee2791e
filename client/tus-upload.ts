import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline, type Readable } from 'node:stream';
import { FileChangedError, HttpStatusError } from './errors.js';
import { assertContentUnchanged, checkingStage, hashFileRange } from './hashing.js';
import { expectStatus, type HttpClient, type HttpResponse } from './http.js';
import type { StateDb } from './state-db.js';
import { TUS_VERSION } from '../shared/wire.js';

/**
 * A small tus 1.0.0 client (core + creation + termination) for one file. tus-js-client was not
 * used: it cannot put our shared rate limiter and hash check into the body stream, and we keep
 * the upload URL in our own state DB rather than in its URL storage.
 */

export const UPLOADS_PATH = 'uploads/';

/** Does the server offer tus (OPTIONS answers with Tus-Version including 1.0.0 and creation)? */
export async function detectTus(http: HttpClient, signal?: AbortSignal): Promise<boolean> {
  const res = await http.request('OPTIONS', UPLOADS_PATH, { signal });
  if (res.status < 200 || res.status >= 300) return false;
  const versions = String(res.headers['tus-version'] ?? '').split(',').map((s) => s.trim());
  const extensions = String(res.headers['tus-extension'] ?? '').split(',').map((s) => s.trim());
  return versions.includes(TUS_VERSION) && extensions.includes('creation');
}

/** `Upload-Metadata`: comma-separated `key base64(value)` pairs (values as UTF-8). */
export function encodeMetadata(pairs: Record<string, string>): string {
  return Object.entries(pairs)
    .map(([k, v]) => `${k} ${Buffer.from(v, 'utf8').toString('base64')}`)
    .join(',');
}

export interface TusFile {
  /** State DB key of the file. */
  key: string;
  remotePath: string;
  abs: string;
  size: number;
  mtimeMs: number;
  sha256: string;
}

export interface TusContext {
  http: HttpClient;
  db: StateDb;
  /** Bytes per PATCH request; what a broken connection costs at most to resend. */
  chunkBytes: number;
  /** Wraps the read stream of each chunk (the shared rate limiter). */
  throttle?: () => NodeJS.ReadWriteStream;
  onBytes?: (n: number) => void;
  /** Told when an earlier upload is continued, with the server's offset. */
  onResume?: (offset: number) => void;
  /** Told every server offset learnt (to tell a stalled upload from one that advances). */
  onOffset?: (offset: number) => void;
  now: () => number;
  signal?: AbortSignal;
}

const BASE = { 'Tus-Resumable': TUS_VERSION };

function offsetOf(res: HttpResponse): number {
  const v = res.headers['upload-offset'];
  if (typeof v !== 'string' || !/^\d+$/.test(v)) throw new HttpStatusError(res.status, 'response without a valid Upload-Offset', 'tus', '');
  return Number(v);
}

/** The server's offset for a stored upload URL, or undefined when that upload is gone. */
async function serverOffset(ctx: TusContext, url: string): Promise<number | undefined> {
  const res = await ctx.http.request('HEAD', url, { headers: BASE, signal: ctx.signal });
  if (res.status === 404 || res.status === 410 || res.status === 403) return undefined;
  expectStatus(res, [200, 204], 'HEAD', url);
  return offsetOf(res);
}

/** Best effort: an abandoned upload is removed (else the server's expiry removes it). */
async function terminate(ctx: TusContext, url: string): Promise<void> {
  try {
    await ctx.http.request('DELETE', url, { headers: BASE, signal: ctx.signal });
  } catch {
    // expiry will clean up
  }
}

async function create(ctx: TusContext, f: TusFile): Promise<string> {
  const res = expectStatus(
    await ctx.http.request('POST', UPLOADS_PATH, {
      headers: {
        ...BASE,
        'Upload-Length': String(f.size),
        'Upload-Metadata': encodeMetadata({ path: f.remotePath, mtime: String(Math.max(0, Math.floor(f.mtimeMs))), sha256: f.sha256 }),
        'Content-Length': '0',
      },
      signal: ctx.signal,
    }),
    [201],
    'POST',
    UPLOADS_PATH,
  );
  const location = res.headers.location;
  if (!location) throw new HttpStatusError(res.status, 'tus creation answered without a Location', 'POST', UPLOADS_PATH);
  const url = ctx.http.url(UPLOADS_PATH);
  return new URL(location, url).toString();
}

/** Where to continue: a stored upload of exactly this content, or a new one. */
async function resolveUpload(ctx: TusContext, f: TusFile): Promise<{ url: string; offset: number }> {
  const stored = ctx.db.getUpload(f.key);
  if (stored) {
    const same = stored.size === f.size && stored.mtimeMs === f.mtimeMs && stored.sha256 === f.sha256 && stored.remotePath === f.remotePath;
    if (same) {
      const offset = await serverOffset(ctx, stored.url);
      if (offset !== undefined && offset <= f.size) {
        if (offset > 0) ctx.onResume?.(offset);
        return { url: stored.url, offset };
      }
    } else {
      await terminate(ctx, stored.url);
    }
    ctx.db.deleteUpload(f.key);
  }
  const url = await create(ctx, f);
  ctx.db.putUpload({ path: f.key, remotePath: f.remotePath, url, size: f.size, mtimeMs: f.mtimeMs, sha256: f.sha256, createdAt: ctx.now() });
  return { url, offset: 0 };
}

function patchBody(ctx: TusContext, f: TusFile, hash: Hash, start: number, end: number, final: boolean): Readable {
  const stages: NodeJS.ReadWriteStream[] = [
    checkingStage({ hash, expectedBytes: end - start, expectedSha256: final ? f.sha256 : undefined, onBytes: ctx.onBytes }),
  ];
  if (ctx.throttle) stages.push(ctx.throttle());
  const source = createReadStream(f.abs, { start, end: end - 1, highWaterMark: 256 * 1024 });
  return (pipeline as (...s: unknown[]) => Readable)(source, ...stages, () => undefined);
}

/**
 * Sends the file through tus, continuing a stored upload from the server's offset. Returns the
 * bytes this call sent. The bytes already on the server are hashed from the local file, so the
 * final hash still covers the whole file and a change under us is caught.
 */
export async function tusUpload(ctx: TusContext, f: TusFile, fresh = false): Promise<{ sent: number; resumedFrom: number }> {
  const { url, offset: startOffset } = await resolveUpload(ctx, f);
  ctx.onOffset?.(startOffset);
  let offset = startOffset;
  let hash = await hashFileRange(f.abs, 0, offset, ctx.signal);
  let sent = 0;
  while (offset < f.size) {
    const end = Math.min(f.size, offset + ctx.chunkBytes);
    const before = hash.copy();
    const res = await ctx.http.request('PATCH', url, {
      headers: {
        ...BASE,
        'Upload-Offset': String(offset),
        'Content-Type': 'application/offset+octet-stream',
        'Content-Length': String(end - offset),
      },
      body: patchBody(ctx, f, hash, offset, end, end === f.size),
      signal: ctx.signal,
    });
    if (res.status === 409) {
      // Our idea of the offset is stale (an earlier PATCH got further than we knew): ask.
      const now = await serverOffset(ctx, url);
      if (now === undefined) throw new HttpStatusError(404, 'the resumable upload disappeared', 'HEAD', url);
      offset = now;
      hash = await hashFileRange(f.abs, 0, offset, ctx.signal);
      continue;
    }
    if ((res.status === 404 || res.status === 410) && !fresh) {
      // Expired or removed on the server: start one new upload, once.
      ctx.db.deleteUpload(f.key);
      const again = await tusUpload(ctx, f, true);
      return { sent: sent + again.sent, resumedFrom: startOffset };
    }
    // The server checks the whole content's SHA-256 at the last byte: was it our file changing?
    if (res.status === 400) await assertContentUnchanged(f.abs, f.size, f.sha256, ctx.signal);
    expectStatus(res, [204, 200], 'PATCH', url);
    const next = offsetOf(res);
    ctx.onOffset?.(next);
    sent += end - offset;
    if (next === end) {
      offset = end;
    } else if (next > offset && next < end) {
      // Cut short (a newer request took over, or the server stopped reading): the running hash
      // saw more than the server kept, so continue from the copy taken before this chunk.
      hash = await hashFileRange(f.abs, offset, next, ctx.signal, before);
      offset = next;
    } else {
      hash = next === offset ? before : await hashFileRange(f.abs, 0, next, ctx.signal);
      offset = next;
    }
  }
  if (hash.digest('hex') !== f.sha256) throw new FileChangedError('the content changed while being sent');
  ctx.db.deleteUpload(f.key);
  return { sent, resumedFrom: startOffset };
}

/** Drops a stored upload (the file changed): the server side is terminated too. */
export async function abandonUpload(ctx: TusContext, key: string): Promise<void> {
  const stored = ctx.db.getUpload(key);
  if (!stored) return;
  await terminate(ctx, stored.url);
  ctx.db.deleteUpload(key);
}
