import type { Context, MiddlewareHandler } from 'hono';
import { ForbiddenError, UnauthorizedError } from '../core/errors.js';
import type { AppDeps } from '../core/deps.js';
import { nodeCrypto } from '../shared/node-crypto.js';

/** Who is asking. Set on the context by the auth middleware. */
export interface Principal {
  name: string;
  admin: boolean;
}

declare module 'hono' {
  interface ContextVariableMap {
    principal: Principal;
  }
}

/** Tokens look like `cb_<id>.<secret>`: the id finds the client, the whole token is hashed. */
export const TOKEN_PATTERN = /^cb_([0-9a-f]{16})\.([A-Za-z0-9_-]{43})$/;

/** SHA-256 (hex) of UTF-8 text, the same on every runtime: Node's crypto there, Web Crypto elsewhere (or with `crypto` null). */
export async function hashToken(token: string, crypto: typeof import('node:crypto') | null = nodeCrypto ?? null): Promise<string> {
  if (crypto) return crypto.createHash('sha256').update(token, 'utf8').digest('hex');
  const digest = await globalThis.crypto.subtle.digest('SHA-256', new TextEncoder().encode(token));
  return Array.from(new Uint8Array(digest), (b) => b.toString(16).padStart(2, '0')).join('');
}

/** Compares two equal-length hex strings without an early exit. */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

interface Credentials {
  name?: string;
  token: string;
}

export function parseAuthorization(header: string | undefined): Credentials | undefined {
  if (!header) return undefined;
  const space = header.indexOf(' ');
  if (space < 0) return undefined;
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === 'bearer') return value ? { token: value } : undefined;
  if (scheme === 'basic') {
    let decoded: string;
    try {
      const bin = atob(value);
      decoded = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(bin, (ch) => ch.charCodeAt(0)));
    } catch {
      return undefined;
    }
    const colon = decoded.indexOf(':');
    if (colon < 0) return undefined;
    return { name: decoded.slice(0, colon), token: decoded.slice(colon + 1) };
  }
  return undefined;
}

/** Resolves credentials to a client, or undefined. Revoked clients are refused at once. */
export async function authenticate(deps: AppDeps, creds: Credentials): Promise<Principal | undefined> {
  const m = TOKEN_PATTERN.exec(creds.token);
  if (!m) return undefined;
  const client =
    creds.name !== undefined ? await deps.catalog.getClient(creds.name) : await deps.catalog.getClientByTokenId(m[1] as string);
  const hash = await hashToken(creds.token);
  if (!client || client.revokedAt !== null) return undefined;
  if (!constantTimeEqual(hash, client.tokenHash)) return undefined;
  return { name: client.name, admin: client.admin };
}

/**
 * The client behind a request's credentials, or UnauthorizedError. Only failures are limited:
 * a client with a good token keeps working even when another one behind the same address (a
 * proxy, a NAT) keeps failing.
 */
export async function authorize(c: Context, deps: AppDeps): Promise<Principal> {
  const creds = parseAuthorization(c.req.header('Authorization'));
  if (!creds) throw new UnauthorizedError();
  const principal = await authenticate(deps, creds);
  const key = clientAddress(c);
  if (!principal) {
    deps.loginLimiter?.check(key);
    deps.loginLimiter?.fail(key);
    throw new UnauthorizedError('invalid credentials');
  }
  deps.loginLimiter?.succeed(key);
  return principal;
}

/** Requires valid credentials on every request it guards; sets `principal`. */
export function requireAuth(deps: AppDeps): MiddlewareHandler {
  return async (c, next) => {
    const principal = await authorize(c, deps);
    c.set('principal', principal);
    await deps.seen?.seen(principal.name);
    await next();
  };
}

/** The remote address when the adapter provides one (node: c.env.incoming.socket). */
export function clientAddress(c: Context): string {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined;
  return env?.incoming?.socket?.remoteAddress ?? c.req.header('x-forwarded-for')?.split(',')[0]?.trim() ?? 'unknown';
}

export function canRead(p: Principal, namespace: string): boolean {
  return p.admin || p.name === namespace;
}

export function assertRead(p: Principal, namespace: string): void {
  if (!canRead(p, namespace)) throw new ForbiddenError(`client ${p.name} may not read namespace ${namespace}`);
}

/** Writes go only to the client's own namespace, admins included. */
export function assertWrite(p: Principal, namespace: string): void {
  if (p.name !== namespace) throw new ForbiddenError(`client ${p.name} may only write to ${p.name}/...`);
}
