import type { Handler } from 'hono';
import type { AppDeps } from '../../core/deps.js';
import { TUS_CHECKSUM_ALGORITHMS, TUS_EXTENSIONS, TUS_VERSION } from './headers.js';

/** OPTIONS: what this server supports (tus discovery). Needs no Tus-Resumable. */
export function optionsHandler(deps: AppDeps): Handler {
  return (c) =>
    c.body(null, 204, {
      'Tus-Version': TUS_VERSION,
      'Tus-Extension': TUS_EXTENSIONS,
      'Tus-Max-Size': String(deps.config.maxUploadBytes),
      'Tus-Checksum-Algorithm': TUS_CHECKSUM_ALGORITHMS,
    });
}
