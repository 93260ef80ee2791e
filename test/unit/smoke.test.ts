import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

describe('smoke', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.stop();
  });
  it('answers /healthz without auth and refuses /api/whoami without it', async () => {
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    const r = await fetch(`${s.url}/api/whoami`);
    expect(r.status).toBe(401);
    expect(r.headers.get('www-authenticate')).toBe('Basic realm="cloud-backup"');
    const w = await fetch(`${s.url}/api/whoami`, { headers: s.auth('alice') });
    expect(await w.json()).toEqual({ name: 'alice', admin: false });
  });
});
