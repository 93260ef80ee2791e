import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassInput } from '../../storage/catalog/catalog.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Who = 'alice' | 'bob' | 'root';
type Json = Record<string, unknown>;

const DAY = 24 * 3600 * 1000;

const report = (root: string, extra: Json = {}): Json => ({
  root,
  host: 'laptop',
  folder: '/home/alice/docs',
  startedAt: 1_700_000_000_000,
  endedAt: 1_700_000_004_000,
  scanned: 12,
  uploaded: 3,
  failed: 0,
  deleted: 1,
  bytes: 4096,
  ...extra,
});

describe('/api/passes and /api/health', () => {
  let s: TestServer;

  const post = (who: Who, body: unknown, type = 'application/json') =>
    fetch(`${s.url}/api/passes`, { method: 'POST', headers: { ...s.auth(who), 'Content-Type': type }, body: typeof body === 'string' ? body : JSON.stringify(body) });
  const get = async (who: Who, path: string) => {
    const r = await fetch(`${s.url}${path}`, { headers: s.auth(who) });
    return { status: r.status, body: (await r.json()) as Json };
  };
  const health = async () => {
    const r = await get('root', '/api/health');
    expect(r.status).toBe(200);
    return new Map((r.body.clients as Json[]).map((c) => [c.name as string, c]));
  };
  /** A pass as if received `ago` ms ago: the server stamps receive times itself. */
  const oldPass = (root: string, ago: number, extra: Partial<PassInput> = {}) => {
    const at = Date.now() - ago;
    return s.server.catalog.recordPass({ namespace: root.split('/')[0] as string, root, host: 'pc', folder: '/f', startedAt: at - 10, endedAt: at, receivedAt: at, scanned: 1, uploaded: 1, failed: 0, deleted: 0, bytes: 1, stopped: false, ...extra });
  };

  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('201 with the pass as recorded, stamped with the server time; listed newest first in the own namespace', async () => {
    const before = Date.now();
    const r = await post('alice', report('alice/docs/'));
    expect(r.status).toBe(201);
    const { pass } = (await r.json()) as { pass: Json };
    expect(pass).toMatchObject({ ...report('alice/docs'), namespace: 'alice', stopped: false, ok: true });
    expect(pass.receivedAt).toBeGreaterThanOrEqual(before);
    expect(pass.receivedAt).toBeLessThanOrEqual(Date.now());
    const second = await post('alice', report('alice/docs', { failed: 2, stopped: true, host: undefined, folder: undefined }));
    expect(second.status).toBe(201);
    expect(((await second.json()) as { pass: Json }).pass).toMatchObject({ host: '', folder: '', failed: 2, ok: false });

    const mine = await get('alice', '/api/passes?limit=1');
    expect(mine.body.items).toMatchObject([{ failed: 2 }]);
    const rest = await get('alice', `/api/passes?cursor=${mine.body.nextCursor as string}`);
    expect(rest.body).toMatchObject({ items: [{ failed: 0 }], nextCursor: null });
    expect((await get('bob', '/api/passes')).body).toEqual({ items: [], nextCursor: null });
    expect((await get('bob', '/api/passes?namespace=alice')).status).toBe(403);
    expect(((await get('root', '/api/passes?namespace=alice')).body.items as unknown[]).length).toBe(2);
  });

  it('bad input: 400 (or 403, 415) with a JSON error, and nothing recorded', async () => {
    const cases: [unknown, number][] = [
      [report('bob/docs'), 403],
      [report('alice/../bob'), 400],
      [{ ...report('alice/docs'), root: undefined }, 400],
      [report('alice/docs', { startedAt: -1 }), 400],
      [report('alice/docs', { endedAt: 1 }), 400],
      [report('alice/docs', { scanned: 1.5 }), 400],
      [report('alice/docs', { failed: '0' }), 400],
      [report('alice/docs', { bytes: 2 ** 60 }), 400],
      [report('alice/docs', { deleted: undefined }), 400],
      [report('alice/docs', { stopped: 'no' }), 400],
      [report('alice/docs', { host: 'pc\nforged' }), 400],
      [report('alice/docs', { folder: '' }), 400],
      ['[1]', 400],
      ['not json', 400],
    ];
    for (const [body, status] of cases) {
      const r = await post('alice', body);
      expect(r.status, JSON.stringify(body)).toBe(status);
      expect(typeof ((await r.json()) as Json).error).toBe('string');
    }
    // An admin reports only into its own namespace too.
    expect((await post('root', report('alice/docs'))).status).toBe(403);
    const form = await post('alice', 'root=alice/docs', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(415);
    await form.body?.cancel();
    const big = await post('alice', JSON.stringify({ ...report('alice/docs'), pad: 'x'.repeat(70_000) }));
    expect(big.status).toBe(413);
    await big.body?.cancel();
    expect(((await get('alice', '/api/passes')).body.items as unknown[]).length).toBe(2);
  });

  it('/api/health is for admins only', async () => {
    const r = await get('alice', '/api/health');
    expect(r.status).toBe(403);
    expect(r.body.error).toMatch(/admin/);
  });

  it('per client: last successful backup, last pass, sizes, last seen, and warnings for stale, failing and guarded clients', async () => {
    const put = await fetch(`${s.url}/files/bob/notes.txt`, { method: 'PUT', headers: s.auth('bob'), body: 'hello bob' });
    expect(put.status).toBe(201);
    // bob: backed up 3 days ago, nothing since (stale); a second folder failed yesterday.
    const bobOk = await oldPass('bob/docs', 3 * DAY);
    const bobFailed = await oldPass('bob/photos', DAY, { failed: 4 });
    // carol: added 5 days ago, never backed up; dave: the same, but revoked.
    const old = Date.now() - 5 * DAY;
    await s.server.catalog.addClient({ name: 'carol', tokenId: '0123456789abcdef', tokenHash: 'x', admin: false, createdAt: old, revokedAt: null, quotaBytes: null });
    await s.server.catalog.addClient({ name: 'dave', tokenId: '0123456789abcdee', tokenHash: 'y', admin: false, createdAt: old, revokedAt: old + 1, quotaBytes: null });
    await s.server.catalog.holdPruning('alice', Date.now(), 'most files changed in a day');
    await s.server.catalog.setQuota('bob', 1000);

    const rows = await health();
    expect([...rows.keys()]).toEqual(['alice', 'bob', 'carol', 'dave', 'root']);
    const alice = rows.get('alice') as Json;
    expect(alice).toMatchObject({ admin: false, revoked: false, lastSuccess: { root: 'alice/docs', failed: 0 }, lastPass: { failed: 2, stopped: true }, quota: null });
    // Backed up just now, so not stale; its last pass had failures and its pruning is held.
    expect((alice.warnings as Json[]).map((w) => w.kind)).toEqual(['failing', 'guard']);
    expect(alice.guard).toMatchObject({ reason: 'most files changed in a day' });
    expect(alice.lastSeen).toEqual(expect.any(Number));

    const bob = rows.get('bob') as Json;
    expect(bob).toMatchObject({ files: 1, currentBytes: 9, historyBytes: 0, usedBytes: 9, quota: 1000, lastSuccess: { id: bobOk.id }, lastPass: { id: bobFailed.id } });
    expect(bob.sources).toMatchObject([
      { root: 'bob/docs', last: { id: bobOk.id }, lastSuccess: { id: bobOk.id } },
      { root: 'bob/photos', last: { id: bobFailed.id }, lastSuccess: null },
    ]);
    expect(bob.warnings).toEqual([
      { kind: 'stale', message: expect.stringMatching(/^no successful backup for 3d( \d+m)? \(--stale-after 2d\)$/) },
      { kind: 'failing', message: 'the last pass (bob/photos) had 4 failed file(s)' },
    ]);
    expect(bob.lastSeen as number).toBeGreaterThanOrEqual(Date.now() - 60_000);
    expect(rows.get('carol')).toMatchObject({ lastSeen: null, lastPass: null, warnings: [{ kind: 'stale', message: 'never backed up, added 5d ago (--stale-after 2d)' }] });
    expect(rows.get('dave')).toMatchObject({ revoked: true, warnings: [] });
    // An admin that never backed up is a browser login: no warning.
    expect(rows.get('root')).toMatchObject({ admin: true, warnings: [] });

    // The same as a page for admins (server-rendered, no script), a 403 page for others.
    const page = await fetch(`${s.url}/health`, { headers: s.auth('root') });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    expect(html).toContain('<h1>Backup health</h1>');
    expect(html).toContain('3 of 5 client(s) need a look.');
    const rowOf = (name: string) => html.slice(html.indexOf(`data-client="${name}"`), html.indexOf('</tr>', html.indexOf(`data-client="${name}"`)));
    expect(rowOf('bob')).toMatch(/<li data-kind="stale"><strong>stale<\/strong>: no successful backup for 3d/);
    expect(rowOf('bob')).toContain('<span class="root">bob/photos/</span>');
    expect(rowOf('bob')).toContain('<strong class="bad">4 failed</strong>');
    expect(rowOf('bob')).toContain('(1%)');
    expect(rowOf('carol')).toContain('never backed up, added 5d ago');
    expect(rowOf('alice')).toContain('data-kind="guard"');
    expect(rowOf('root')).toContain('<span class="ok">OK</span>');
    const refused = await fetch(`${s.url}/health`, { headers: s.auth('alice') });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('backup health is for admin clients');
    // The admin's listing links to it.
    expect(await (await fetch(`${s.url}/`, { headers: s.auth('root') })).text()).toContain('href="/health"');

    // A new successful pass of bob's: no longer stale, and the failing folder is not the newest pass.
    expect((await post('bob', report('bob/docs'))).status).toBe(201);
    expect((await health()).get('bob')?.warnings).toEqual([]);
  });
});
