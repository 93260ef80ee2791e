import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/bytes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { apiFor } from '../helpers/api.js';
import { purgeHistory } from '../helpers/history.js';

type Who = 'alice' | 'bob' | 'root';

/** POST /api/link: instant upload by hash, without revealing what other namespaces hold. */
describe('POST /api/link', () => {
  let s: TestServer;
  const x = randomBytes(40_000);
  const y = randomBytes(30_000);

  const link = (who: Who, body: unknown) =>
    fetch(`${s.url}/api/link`, {
      method: 'POST',
      headers: { ...s.auth(who), 'Content-Type': 'application/json' },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const stats = async () => (await (await fetch(`${s.url}/api/stats`, { headers: s.auth('root') })).json()) as { blobs: number; files: number };

  beforeAll(async () => {
    s = await startTestServer();
    expect((await apiFor(s, 'alice').put('alice/orig/x.bin', x)).status).toBe(201);
  });
  afterAll(async () => {
    await s.stop();
  });

  it("links content the namespace already holds: 201, no bytes sent, served at the new path", async () => {
    const before = await stats();
    const r = await link('alice', { path: 'alice/copies/x again.bin', sha256: sha256(x).toUpperCase(), mtime: 1_650_000_000_000 });
    expect(r.status).toBe(201);
    expect(await r.json()).toMatchObject({ path: 'alice/copies/x again.bin', size: x.length, sha256: sha256(x), mtime: 1_650_000_000_000 });
    const file = await apiFor(s, 'alice').get('alice/copies/x%20again.bin');
    expect(file.status).toBe(200);
    expect(sha256(Buffer.from(await file.arrayBuffer()))).toBe(sha256(x));
    const after = await stats();
    expect(after.blobs).toBe(before.blobs);
    expect(after.files).toBe(before.files + 1);
  });

  it('content held only by another namespace is 404, exactly like content nobody holds', async () => {
    const theirs = await link('bob', { path: 'bob/x.bin', sha256: sha256(x), mtime: null });
    const nobodys = await link('bob', { path: 'bob/x.bin', sha256: sha256(randomBytes(8)), mtime: null });
    expect(theirs.status).toBe(404);
    expect(nobodys.status).toBe(404);
    expect(await theirs.json()).toEqual(await nobodys.json());
    expect((await apiFor(s, 'bob').get('bob/x.bin')).status).toBe(404);
  });

  it('an admin may link any stored content (into its own namespace)', async () => {
    const r = await link('root', { path: 'root/x.bin', sha256: sha256(x) });
    expect(r.status).toBe(201);
    expect(sha256(Buffer.from(await (await apiFor(s, 'root').get('root/x.bin')).arrayBuffer()))).toBe(sha256(x));
    expect((await link('root', { path: 'alice/planted.bin', sha256: sha256(x) })).status).toBe(403);
  });

  it("refuses writing into another namespace (403) and bad input (400), storing nothing", async () => {
    expect((await link('bob', { path: 'alice/x.bin', sha256: sha256(x) })).status).toBe(403);
    const bad: unknown[] = [
      '{not json',
      { path: 'alice/a', sha256: 'abc' },
      { path: 'alice/a', sha256: sha256(x), mtime: 'yesterday' },
      { path: 'alice/a', sha256: sha256(x), mtime: -1 },
      { path: 'alice/../a', sha256: sha256(x) },
      { path: 'alice', sha256: sha256(x) },
      { sha256: sha256(x) },
    ];
    for (const body of bad) expect((await link('alice', body)).status, JSON.stringify(body)).toBe(400);
    const huge = await link('alice', { path: 'alice/a', sha256: sha256(x), pad: 'p'.repeat(100_000) });
    expect(huge.status).toBe(413);
    expect((await apiFor(s, 'alice').get('alice/a')).status).toBe(404);
  });

  it('refuses a body that is not declared JSON (a cross-site form could send text/plain)', async () => {
    await apiFor(s, 'alice').put('alice/csrf-source.bin', x);
    const r = await fetch(`${s.url}/api/link`, {
      method: 'POST',
      headers: { ...s.auth('alice'), 'Content-Type': 'text/plain' },
      body: JSON.stringify({ path: 'alice/csrf.bin', sha256: sha256(x) }),
    });
    expect(r.status).toBe(415);
    expect((await apiFor(s, 'alice').get('alice/csrf.bin')).status).toBe(404);
  });

  it('replacing a file by a link keeps the old content as a version', async () => {
    expect((await apiFor(s, 'alice').put('alice/swap.bin', y)).status).toBe(201);
    const before = await stats();
    expect((await link('alice', { path: 'alice/swap.bin', sha256: sha256(x) })).status).toBe(201);
    expect((await stats()).blobs).toBe(before.blobs);
    expect(sha256(Buffer.from(await (await apiFor(s, 'alice').get('alice/swap.bin')).arrayBuffer()))).toBe(sha256(x));
  });

  it("content in the namespace's history links; once no version references it, linking it is 404 again", async () => {
    const z = randomBytes(1000);
    expect((await apiFor(s, 'alice').put('alice/z.bin', z)).status).toBe(201);
    expect((await fetch(`${s.url}/files/alice/z.bin`, { method: 'DELETE', headers: s.auth('alice') })).status).toBe(204);
    expect((await link('alice', { path: 'alice/z1.bin', sha256: sha256(z) })).status).toBe(201);
    await purgeHistory(s.server, 'alice/z.bin');
    await purgeHistory(s.server, 'alice/z1.bin');
    expect((await link('alice', { path: 'alice/z2.bin', sha256: sha256(z) })).status).toBe(404);
  });
});
