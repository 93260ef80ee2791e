import type { Handler } from 'hono';
import type { AppDeps } from '../../core/deps.js';
import type { UploadGate } from './upload-lock.js';
import { findOwnUpload, loadOwnUpload, progressHeaders } from './uploads.js';

/** HEAD /uploads/<id>: where to resume. Never cached; takes over from a stale PATCH first. */
export function headHandler(deps: AppDeps, gate: UploadGate): Handler {
  return async (c) => {
    const id = c.req.param('id') ?? '';
    await findOwnUpload(deps, id, c.get('principal'));
    const upload = await gate.run(id, () => loadOwnUpload(deps, id, c.get('principal')));
    const headers: Record<string, string> = { ...progressHeaders(upload), 'Upload-Length': String(upload.length) };
    if (upload.metadata !== '') headers['Upload-Metadata'] = upload.metadata;
    return c.body(null, 200, headers);
  };
}
