import { randomBytes } from 'node:crypto';
import { hashToken } from '../../handlers/auth.js';
import type { Catalog } from '../../storage/catalog/catalog.js';

/** A new token: `cb_<16 hex id>.<32 random bytes, base64url>`. */
export function newToken(): { token: string; tokenId: string } {
  const tokenId = randomBytes(8).toString('hex');
  return { token: `cb_${tokenId}.${randomBytes(32).toString('base64url')}`, tokenId };
}

/** Creates a client and returns its token (only the hash is stored). `quotaBytes` null: no quota. */
export async function createClient(catalog: Catalog, name: string, admin = false, quotaBytes: number | null = null, now = Date.now()): Promise<string> {
  const { token, tokenId } = newToken();
  await catalog.addClient({ name, tokenId, tokenHash: await hashToken(token), admin, createdAt: now, revokedAt: null, quotaBytes });
  return token;
}
