import type { Handler } from 'hono';
import type { AppDeps } from '../../core/deps.js';
import type { UploadGate } from './upload-lock.js';
import type { UploadQuota } from './upload-quota.js';
import { dropUpload, findOwnUpload, loadOwnUpload } from './uploads.js';

/**
 * DELETE /uploads/<id> (termination): the upload and its bytes are gone, later requests get 404.
 * A file already committed by a completed upload stays (delete it at /files/).
 */
export function deleteHandler(deps: AppDeps, gate: UploadGate, quota: UploadQuota): Handler {
  return async (c) => {
    const id = c.req.param('id') ?? '';
    await findOwnUpload(deps, id, c.get('principal'));
    await gate.run(id, async () => {
      await loadOwnUpload(deps, id, c.get('principal'));
      await dropUpload(deps, id);
    });
    quota.release(id);
    return c.body(null, 204);
  };
}
