import type { UploadRecord } from '../../storage/catalog/catalog.js';
import { DigestMismatchError, GoneError, NotFoundError, TooLargeError, UnauthorizedError } from '../../core/errors.js';
import type { Principal } from '../auth.js';
import { commitFile } from '../../core/commit.js';
import type { AppDeps } from '../../core/deps.js';
import { httpDate } from '../http/http-date.js';
import { assertReserveHeld } from '../http/reserve.js';

/** What the tus method handlers share: loading an upload, receiving bytes, completing, dropping. */

const ID_PATTERN = /^[A-Za-z0-9_-]{22}$/;

/** 128 random bits, URL-safe: unguessable, so an upload URL cannot be found by trying. */
export function newUploadId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function isUploadId(id: string): boolean {
  return ID_PATTERN.test(id);
}

export function isComplete(u: UploadRecord): boolean {
  return u.offset === u.length;
}

/** Same rule as Catalog.listExpiredUploads: expired once `expiresAt` lies in the past. */
export function isExpired(u: UploadRecord, now: number): boolean {
  return u.expiresAt < now;
}

/** Removes an upload's bytes and its record. */
export async function dropUpload(deps: AppDeps, id: string): Promise<void> {
  await deps.blobs.parts.delete(id);
  await deps.catalog.deleteUpload(id);
}

/**
 * The caller's own upload. Another client's upload is 404, exactly like a missing one, so that
 * nobody learns which upload URLs exist. An expired one is reclaimed on the spot and is 410.
 */
export async function loadOwnUpload(deps: AppDeps, id: string, who: Principal): Promise<UploadRecord> {
  const upload = await findOwnUpload(deps, id, who);
  if (isExpired(upload, deps.clock())) {
    await dropUpload(deps, id);
    throw new GoneError('the upload expired and its data was removed: start a new one');
  }
  return upload;
}

/**
 * The caller's own upload as stored, else 404. Checked before taking an upload's gate too:
 * a request of another client must not interrupt the owner's running PATCH.
 */
export async function findOwnUpload(deps: AppDeps, id: string, who: Principal): Promise<UploadRecord> {
  const upload = isUploadId(id) ? await deps.catalog.getUpload(id) : undefined;
  if (!upload || upload.owner !== who.name) throw new NotFoundError('no such upload');
  return upload;
}

/** Whether an upload still waits for bytes (for the quota's re-check). */
export async function isStillOpen(deps: AppDeps, id: string): Promise<boolean> {
  const upload = await deps.catalog.getUpload(id);
  return upload !== undefined && !isComplete(upload) && !isExpired(upload, deps.clock());
}

export interface IncomingChunk {
  body: ReadableStream<Uint8Array> | null;
  /** Content-Length of the request, when sent: refused early when it cannot fit. */
  contentLength?: number;
  /** Upload-Checksum of this chunk as hex (sha256). */
  sha256?: string;
  /** Stops reading (client gone or a newer request took over); what arrived is kept. */
  signal?: AbortSignal;
}

/**
 * Appends a chunk at the upload's offset and records the new offset (sliding the expiry), or
 * completes the upload when its last byte arrived (at once for an empty upload). Runs under the
 * upload's gate; never called for an upload that is already complete.
 */
export async function receive(deps: AppDeps, upload: UploadRecord, chunk: IncomingChunk): Promise<UploadRecord> {
  const left = upload.length - upload.offset;
  if (chunk.contentLength !== undefined && chunk.contentLength > left) {
    throw new TooLargeError(`${chunk.contentLength} bytes sent at offset ${upload.offset}, but only ${left} are left of Upload-Length ${upload.length}`);
  }
  await assertReserveHeld(deps);
  const size = await deps.blobs.parts.append(upload.id, upload.offset, chunk.body, {
    maxBytes: left,
    sha256: chunk.sha256,
    signal: chunk.signal,
  });
  const now = deps.clock();
  if (size < upload.length) {
    const expiresAt = now + deps.config.uploadExpiryMs;
    await deps.catalog.setUploadOffset(upload.id, size, expiresAt);
    return { ...upload, offset: size, expiresAt };
  }
  return complete(deps, upload, now);
}

/**
 * The last byte arrived: hash the whole content, check it against the announced sha256 and
 * commit it exactly like a PUT. The record is kept (complete) until it expires, so a client that
 * lost the final response learns from HEAD that nothing is left to send.
 */
async function complete(deps: AppDeps, upload: UploadRecord, now: number): Promise<UploadRecord> {
  const temp = await deps.blobs.parts.finish(upload.id);
  if (upload.sha256 !== null && temp.sha256 !== upload.sha256) {
    await deps.blobs.discard(temp);
    await deps.catalog.deleteUpload(upload.id);
    throw new DigestMismatchError(
      `the content's SHA-256 is ${temp.sha256}, not the announced ${upload.sha256}: the upload was discarded and nothing stored`,
    );
  }
  // The client may have been revoked while its last PATCH (or the hashing) ran: no commit then.
  const owner = await deps.catalog.getClient(upload.owner);
  if (!owner || owner.revokedAt !== null) {
    await deps.blobs.discard(temp);
    await deps.catalog.deleteUpload(upload.id);
    throw new UnauthorizedError('the client was revoked during the upload: nothing was stored');
  }
  try {
    await commitFile(deps, { path: upload.path, temp, mtime: upload.mtime });
  } catch (err) {
    // commitFile has discarded the bytes: there is nothing left to resume.
    await deps.catalog.deleteUpload(upload.id);
    throw err;
  }
  const expiresAt = now + deps.config.uploadExpiryMs;
  await deps.catalog.setUploadOffset(upload.id, upload.length, expiresAt);
  return { ...upload, offset: upload.length, expiresAt };
}

/** Upload-Offset, and Upload-Expires while the upload is unfinished (tus expiration). */
export function progressHeaders(u: UploadRecord): Record<string, string> {
  const h: Record<string, string> = { 'Upload-Offset': String(u.offset) };
  if (!isComplete(u)) h['Upload-Expires'] = httpDate(u.expiresAt);
  return h;
}
