import { rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/bytes.js';
import { addClientToDataDir, makeDataDir, spawnServer, startTestServer, type TestServer } from '../helpers/server.js';

/** The directives of a Content-Security-Policy header: name -> sources. */
function parseCsp(header: string | null): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const part of (header ?? '').split(';')) {
    const [name, ...sources] = part.trim().split(/\s+/);
    if (name) out.set(name.toLowerCase(), sources);
  }
  return out;
}

/** True when the policy lets no inline or eval'd script run (hashes and nonces would be fine). */
function forbidsInlineScript(header: string | null): boolean {
  const csp = parseCsp(header);
  if (csp.has('sandbox') && !(csp.get('sandbox') ?? []).includes('allow-scripts')) return true;
  const scripts = csp.get('script-src') ?? csp.get('default-src');
  if (!scripts) return false;
  return !scripts.some((s) => ["'unsafe-inline'", "'unsafe-eval'", '*', 'data:', 'http:', 'https:'].includes(s.toLowerCase()));
}

async function limitedLogins(s: TestServer): Promise<void> {
  // The last character changed to another one: base64url of 32 bytes ends in one of 16
  // characters, so a fixed replacement would be the token itself one run in 16.
  const last = s.tokens.alice.slice(-1);
  const bad = [
    { Authorization: `Bearer ${s.tokens.alice.slice(0, -1)}${last === 'A' ? 'E' : 'A'}` },
    { Authorization: `Basic ${btoa(`alice:${s.tokens.bob}`)}` },
  ];
  for (let i = 0; i < 10; i++) {
    const r = await fetch(`${s.url}/api/whoami`, { headers: bad[i % 2] });
    expect(r.status).toBe(401);
    // A good token in between neither counts nor resets the run.
    expect((await fetch(`${s.url}/api/whoami`, { headers: s.auth('alice') })).status).toBe(200);
  }
  for (const headers of bad) {
    const r = await fetch(`${s.url}/files/alice/x.txt`, { headers });
    expect(r.status).toBe(429);
    const retry = Number(r.headers.get('retry-after'));
    expect(retry).toBeGreaterThanOrEqual(1);
    expect(retry).toBeLessThanOrEqual(60);
    expect((await r.json()).error).toMatch(/too many/);
  }
  // Clients with good credentials from the same address keep working.
  expect((await fetch(`${s.url}/api/whoami`, { headers: s.auth('bob') })).status).toBe(200);
  expect(await (await fetch(`${s.url}/api/whoami`, { headers: { Authorization: `Basic ${btoa(`alice:${s.tokens.alice}`)}` } })).json()).toEqual({
    name: 'alice',
    admin: false,
  });
  // No credentials at all is the browser's first visit: a 401 challenge, never limited.
  expect((await fetch(`${s.url}/`)).status).toBe(401);
}

const tus = { 'Tus-Resumable': '1.0.0' };
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('auth hardening', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('limits failed logins per address: 429 with Retry-After, good tokens unaffected', async () => {
    // Its own server: the address stays limited for a minute afterwards.
    const own = await startTestServer();
    try {
      await limitedLogins(own);
    } finally {
      await own.stop();
    }
  });
  it('puts nosniff and a referrer policy on every response, and a no-inline-script CSP on every HTML one', async () => {
    await fetch(`${s.url}/files/alice/page.html`, { method: 'PUT', headers: s.auth('alice'), body: '<script>alert(1)</script>' });
    const requests: [string, RequestInit][] = [
      ['/', { headers: s.auth('root') }],
      ['/', { headers: s.auth('alice') }],
      ['/browse/alice/', { headers: s.auth('alice') }],
      ['/browse/alice/?sort=bogus', { headers: s.auth('alice') }],
      ['/browse/nobody/', { headers: s.auth('root') }],
      ['/browse/bob/', { headers: s.auth('alice') }],
      ['/', { headers: { Accept: 'text/html' } }],
      ['/files/alice/page.html', { headers: s.auth('alice') }],
      ['/files/alice/missing.html', { headers: s.auth('alice') }],
      ['/api/files', { headers: s.auth('alice') }],
      ['/api/link', { method: 'POST', headers: s.auth('alice'), body: '{' }],
      ['/uploads/', { method: 'OPTIONS', headers: { ...tus, ...s.auth('alice') } }],
      ['/healthz', {}],
      ['/no/such/route', { headers: s.auth('alice') }],
    ];
    let html = 0;
    for (const [path, init] of requests) {
      const r = await fetch(`${s.url}${path}`, { redirect: 'manual', ...init });
      await r.arrayBuffer();
      const where = `${init.method ?? 'GET'} ${path} -> ${r.status}`;
      expect(r.headers.get('x-content-type-options'), where).toBe('nosniff');
      expect(r.headers.get('referrer-policy'), where).toMatch(/^(no-referrer|same-origin|strict-origin)/);
      if (/^text\/html/i.test(r.headers.get('content-type') ?? '')) {
        html++;
        expect(forbidsInlineScript(r.headers.get('content-security-policy')), `${where}: ${r.headers.get('content-security-policy')}`).toBe(true);
        expect(parseCsp(r.headers.get('content-security-policy')).get('frame-ancestors') ?? r.headers.get('x-frame-options'), where).toBeTruthy();
      }
    }
    expect(html).toBeGreaterThanOrEqual(3);
    // A stored HTML file keeps its own, stricter policy: it is sandboxed, never run as our page.
    const stored = await fetch(`${s.url}/files/alice/page.html`, { headers: s.auth('alice') });
    expect(parseCsp(stored.headers.get('content-security-policy')).has('sandbox')).toBe(true);
  });

  it('refuses a revoked client at once, mid-upload included', async () => {
    const dave = await addClientToDataDir(s.dataDir, 'dave');
    const auth = { Authorization: `Bearer ${dave}` };
    expect((await fetch(`${s.url}/files/dave/a.txt`, { method: 'PUT', headers: auth, body: 'a' })).status).toBe(201);
    const created = await fetch(`${s.url}/uploads/`, {
      method: 'POST',
      headers: { ...tus, ...auth, 'Upload-Length': '10', 'Upload-Metadata': `path ${b64('dave/b.bin')}` },
    });
    expect(created.status).toBe(201);
    const location = new URL(created.headers.get('location') as string, `${s.url}/uploads/`).href;

    expect(await s.server.catalog.revokeClient('dave', Date.now())).toBe(true);
    const patch = await fetch(location, {
      method: 'PATCH',
      headers: { ...tus, ...auth, 'Upload-Offset': '0', 'Content-Type': 'application/offset+octet-stream' },
      body: '0123456789',
    });
    expect(patch.status).toBe(401);
    for (const [path, method] of [
      ['/files/dave/a.txt', 'GET'],
      ['/files/dave/c.txt', 'PUT'],
      ['/api/files', 'GET'],
    ] as const) {
      const r = await fetch(`${s.url}${path}`, { method, headers: auth, body: method === 'PUT' ? 'c' : undefined });
      expect(r.status, `${method} ${path}`).toBe(401);
    }
    const basic = await fetch(`${s.url}/api/whoami`, { headers: { Authorization: `Basic ${btoa(`dave:${dave}`)}` } });
    expect(basic.status).toBe(401);
    // Its files stay, for an admin to see.
    expect(await (await fetch(`${s.url}/files/dave/a.txt`, { headers: s.auth('root') })).text()).toBe('a');
  });
});

describe('tokens never reach the logs', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('not on success, failure, revocation, or an internal error', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const tokens = { erin: await addClientToDataDir(dataDir, 'erin'), root: await addClientToDataDir(dataDir, 'root', true) };
    const srv = await spawnServer(dataDir);
    const bodies: string[] = [];
    try {
      const auth = { Authorization: `Bearer ${tokens.erin}` };
      const basic = { Authorization: `Basic ${btoa(`erin:${tokens.erin}`)}` };
      const send = async (path: string, init: RequestInit = {}) => {
        const r = await fetch(`${srv.url}${path}`, init);
        bodies.push(`${r.status} ${[...r.headers].join(' ')} ${await r.text()}`);
        return r;
      };
      await send('/files/erin/ok.txt', { method: 'PUT', headers: auth, body: 'fine' });
      await send('/files/erin/ok.txt', { headers: basic });
      await send(`/files/erin/${encodeURIComponent('q')}?token=${tokens.erin}`, { headers: auth });
      for (const t of [tokens.erin.slice(0, -2), `${tokens.root}x`, tokens.erin.toUpperCase()]) {
        await send('/api/whoami', { headers: { Authorization: `Bearer ${t}` } });
        await send('/api/whoami', { headers: { Authorization: `Basic ${btoa(`root:${t}`)}` } });
      }
      await send('/api/link', { method: 'POST', headers: auth, body: JSON.stringify({ path: 'erin/l.txt', sha256: tokens.erin }) });
      await send('/uploads/', { method: 'POST', headers: { ...auth, ...tus, 'Upload-Length': '1', 'Upload-Metadata': `path ${b64(tokens.erin)}` } });
      // An internal error: the blob of a stored file has become a symlink loop (ELOOP on open).
      const victim = 'broken content';
      await send('/files/erin/broken.txt', { method: 'PUT', headers: auth, body: victim });
      const blob = join(dataDir, 'blobs', sha256(victim).slice(0, 2), sha256(victim).slice(2, 4), sha256(victim));
      await rm(blob);
      await symlink(blob, blob);
      const broken = await send('/files/erin/broken.txt', { headers: auth });
      expect(broken.status).toBe(500);
      expect((await send('/healthz')).status).toBe(200);
    } finally {
      await srv.stop();
    }
    const out = srv.output();
    // The internal error was logged: the check below looked at a log that says something.
    expect(out).toMatch(/error: GET \/files\/erin\/broken\.txt/);
    for (const token of Object.values(tokens)) {
      const secret = token.slice(token.indexOf('.') + 1);
      expect(out).not.toContain(secret);
      expect(out).not.toContain(token.slice(0, 19));
      for (const b of bodies) expect(b).not.toContain(secret);
    }
  });
});
