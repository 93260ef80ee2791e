import type { Handler } from 'hono';
import type { UploadRecord } from '../../storage/catalog/catalog.js';
import { BadRequestError, TooLargeError } from '../../core/errors.js';
import { assertWrite } from '../auth.js';
import type { AppDeps } from '../../core/deps.js';
import { parseDecodedPath } from '../../core/path.js';
import { hasOffsetStream, parseByteCount, parseUploadMetadata, uploadFields } from './headers.js';
import { chunkOf } from './patch.js';
import type { UploadGate } from './upload-lock.js';
import type { UploadQuota } from './upload-quota.js';
import { dropUpload, isComplete, isStillOpen, newUploadId, progressHeaders, receive } from './uploads.js';

/**
 * Where the new upload lives, relative to the creation URL so that it stays right behind a
 * reverse proxy that adds a prefix or terminates TLS: '/x/uploads/' -> '<id>', '/x/uploads' ->
 * 'uploads/<id>'.
 */
export function uploadLocation(creationPath: string, id: string): string {
  return creationPath.endsWith('/') ? id : `${creationPath.slice(creationPath.lastIndexOf('/') + 1)}/${id}`;
}

/**
 * POST /uploads/ (creation, creation-with-upload): Upload-Length and Upload-Metadata (`path`,
 * optional `mtime`, `sha256`) give a new upload into the caller's own namespace; a body of type
 * application/offset+octet-stream is appended at once. 201 with Location.
 */
export function postHandler(deps: AppDeps, gate: UploadGate, quota: UploadQuota): Handler {
  return async (c) => {
    const who = c.get('principal');
    if (c.req.header('upload-defer-length') !== undefined) throw new BadRequestError('Upload-Defer-Length is not supported: send Upload-Length');
    if (c.req.header('upload-concat') !== undefined) throw new BadRequestError('the concatenation extension is not supported');
    const length = parseByteCount('Upload-Length', c.req.header('upload-length'));
    const max = deps.config.maxUploadBytes;
    if (length > max) throw new TooLargeError(`Upload-Length ${length} exceeds the maximum of ${max} bytes`);
    const metadata = (c.req.header('upload-metadata') ?? '').trim();
    const fields = uploadFields(parseUploadMetadata(metadata));
    const target = parseDecodedPath(fields.path);
    assertWrite(who, target.namespace);

    const now = deps.clock();
    const created: UploadRecord = {
      id: newUploadId(),
      owner: who.name,
      path: target.path,
      length,
      offset: 0,
      sha256: fields.sha256,
      mtime: fields.mtime,
      metadata,
      createdAt: now,
      expiresAt: now + deps.config.uploadExpiryMs,
    };
    // Writes go to the client's own namespace only: its quota is the owner's.
    await quota.admit(created.id, who.name, length, (id) => isStillOpen(deps, id), await deps.catalog.quotaUsage(target.namespace));
    try {
      await deps.catalog.createUpload(created);
    } catch (err) {
      quota.release(created.id);
      throw err;
    }
    let upload = created;
    try {
      await deps.blobs.parts.create(created.id);
      const withData = hasOffsetStream(c.req.header('content-type'));
      // An empty upload is complete at once; otherwise the body is the first chunk.
      if (withData || length === 0) {
        upload = await gate.run(created.id, (takenOver) =>
          receive(deps, created, withData ? chunkOf(c, takenOver) : { body: null }),
        );
      }
    } catch (err) {
      quota.release(created.id);
      await dropUpload(deps, created.id);
      throw err;
    }
    if (isComplete(upload)) quota.release(upload.id);
    const location = uploadLocation(new URL(c.req.url).pathname, upload.id);
    return c.body(null, 201, { Location: location, ...progressHeaders(upload) });
  };
}
