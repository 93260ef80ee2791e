import type { Context, Handler } from 'hono';
import { ConflictError, TooLargeError } from '../../core/errors.js';
import type { AppDeps } from '../../core/deps.js';
import { parseContentLength } from '../http/headers.js';
import { checkOffsetStream, parseByteCount, parseUploadChecksum } from './headers.js';
import type { UploadGate } from './upload-lock.js';
import type { UploadQuota } from './upload-quota.js';
import { findOwnUpload, isComplete, loadOwnUpload, progressHeaders, receive, type IncomingChunk } from './uploads.js';

/** The request body as a chunk for `receive`, cut off when the client leaves or `takenOver` fires. */
export function chunkOf(c: Context, takenOver: AbortSignal): IncomingChunk {
  return {
    body: c.req.raw.body,
    contentLength: parseContentLength(c.req.header('content-length')),
    sha256: parseUploadChecksum(c.req.header('upload-checksum')),
    signal: AbortSignal.any([c.req.raw.signal, takenOver]),
  };
}

/**
 * PATCH /uploads/<id>: appends the body at Upload-Offset, which must equal the bytes received
 * so far (409 otherwise, nothing changes). 204 with the new Upload-Offset.
 */
export function patchHandler(deps: AppDeps, gate: UploadGate, quota: UploadQuota): Handler {
  return async (c) => {
    checkOffsetStream(c.req.header('content-type'));
    const offset = parseByteCount('Upload-Offset', c.req.header('upload-offset'));
    const id = c.req.param('id') ?? '';
    await findOwnUpload(deps, id, c.get('principal'));
    const upload = await gate.run(id, async (takenOver) => {
      const current = await loadOwnUpload(deps, id, c.get('principal'));
      // An upload from before a restart counts once it is resumed.
      if (!isComplete(current)) quota.hold(id, current.owner, current.length);
      if (offset !== current.offset) {
        throw new ConflictError(`Upload-Offset ${offset} does not match the ${current.offset} bytes received so far: HEAD the upload and resume from there`);
      }
      const chunk = chunkOf(c, takenOver);
      if (isComplete(current)) {
        // Nothing is left to send; a client that lost the final response may ask again.
        if ((chunk.contentLength ?? 0) > 0) throw new TooLargeError('the upload is already complete');
        return current;
      }
      return receive(deps, current, chunk);
    });
    if (isComplete(upload)) quota.release(id);
    return c.body(null, 204, progressHeaders(upload));
  };
}
