import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.js';

type Who = 'alice' | 'bob' | 'root';

/** /api/roots: a remote folder belongs to one source (a folder on one computer). */
describe('/api/roots', () => {
  let s: TestServer;

  const claim = (who: Who, body: unknown, type = 'application/json') =>
    fetch(`${s.url}/api/roots`, {
      method: 'POST',
      headers: { ...s.auth(who), 'Content-Type': type },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });
  const json = async (r: Response) => (await r.json()) as Record<string, unknown>;
  const list = async (who: Who, query = '') => {
    const r = await fetch(`${s.url}/api/roots${query}`, { headers: s.auth(who) });
    return { status: r.status, body: await json(r) };
  };

  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('201 for a free root, 200 for the same source again (any spelling of the host), 409 naming the other source', async () => {
    const first = await claim('alice', { root: 'alice/docs', host: 'laptop', folder: '/home/alice/work/docs' });
    expect(first.status).toBe(201);
    expect(await json(first)).toMatchObject({ status: 'created', root: { root: 'alice/docs', host: 'laptop', folder: '/home/alice/work/docs' } });
    const again = await claim('alice', { root: 'alice/docs/', host: 'LAPTOP', folder: '/home/alice/work/docs', adopt: false });
    expect(again.status).toBe(200);
    expect(await json(again)).toMatchObject({ status: 'same', root: { root: 'alice/docs', host: 'LAPTOP' } });

    const other = await claim('alice', { root: 'alice/docs', host: 'LAPTOP', folder: '/home/alice/home/docs' });
    expect(other.status).toBe(409);
    const body = await json(other);
    expect(body).toMatchObject({ status: 'taken', other: { root: 'alice/docs', host: 'LAPTOP', folder: '/home/alice/work/docs' } });
    expect(body.error).toBe('alice/docs is the backup root of /home/alice/work/docs on LAPTOP: another source; adopt: true takes it over');
  });

  it('adopt: true takes a root over; the old source is refused from then on', async () => {
    await claim('alice', { root: 'alice/photos', host: 'old-pc', folder: 'C:\\Users\\alice\\Pictures' });
    // A Windows folder is one source whatever its case or slashes.
    expect((await claim('alice', { root: 'alice/photos', host: 'old-pc', folder: 'c:/users/ALICE/pictures' })).status).toBe(200);
    const adopted = await claim('alice', { root: 'alice/photos', host: 'new-pc', folder: 'D:\\Pictures', adopt: true });
    expect(adopted.status).toBe(200);
    expect(await json(adopted)).toMatchObject({ status: 'adopted', root: { host: 'new-pc', folder: 'D:\\Pictures' }, previous: { host: 'old-pc' } });
    const old = await claim('alice', { root: 'alice/photos', host: 'old-pc', folder: 'C:\\Users\\alice\\Pictures' });
    expect(old.status).toBe(409);
    expect(await json(old)).toMatchObject({ other: { host: 'new-pc', folder: 'D:\\Pictures' } });
  });

  it('a root inside or around another is refused, adopt or not', async () => {
    const inside = await claim('alice', { root: 'alice/docs/old', host: 'laptop', folder: '/home/alice/old', adopt: true });
    expect(inside.status).toBe(409);
    expect(await json(inside)).toMatchObject({ status: 'nested', error: 'alice/docs/old lies inside alice/docs, the backup root of /home/alice/work/docs on LAPTOP: backup roots do not nest' });
    const around = await claim('alice', { root: 'alice', host: 'laptop', folder: '/home/alice' });
    expect(around.status).toBe(409);
    expect((await json(around)).error).toMatch(/^alice holds alice\/docs, the backup root of /);
  });

  it('another namespace: 403 to claim, list or release; an admin writes only its own namespace too', async () => {
    const bobs = await claim('bob', { root: 'alice/docs', host: 'laptop', folder: '/home/alice/work/docs', adopt: true });
    expect(bobs.status).toBe(403);
    expect((await claim('root', { root: 'alice/docs', host: 'laptop', folder: '/x', adopt: true })).status).toBe(403);
    expect((await list('bob', '?namespace=alice')).status).toBe(403);
    const del = await fetch(`${s.url}/api/roots?root=alice/docs`, { method: 'DELETE', headers: s.auth('bob') });
    expect(del.status).toBe(403);
    // Nothing changed for alice; bob's own listing is empty; the admin sees everything.
    expect((await list('alice')).body.items).toMatchObject([{ root: 'alice/docs', folder: '/home/alice/work/docs' }, { root: 'alice/photos', host: 'new-pc' }]);
    expect((await list('bob')).body).toEqual({ items: [] });
    expect((await list('root')).body.items).toHaveLength(2);
    expect((await claim('bob', { root: 'bob/docs', host: 'laptop', folder: '/home/alice/work/docs' })).status).toBe(201);
    expect((await list('root', '?namespace=bob')).body.items).toMatchObject([{ root: 'bob/docs' }]);
  });

  it('bad input: 400 or 415 with a JSON error, and nothing recorded', async () => {
    const cases: [unknown, string?][] = [
      [{ host: 'h', folder: '/f' }],
      [{ root: 'alice/../bob', host: 'h', folder: '/f' }],
      [{ root: 'alice/x', folder: '/f' }],
      [{ root: 'alice/x', host: 'h\nforged', folder: '/f' }],
      [{ root: 'alice/x', host: 'h', folder: '' }],
      [{ root: 'alice/x', host: 'h', folder: '/f', adopt: 'yes' }],
      ['[1, 2]'],
      ['not json'],
    ];
    for (const [body] of cases) {
      const r = await claim('alice', body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect(typeof (await json(r)).error).toBe('string');
    }
    const form = await claim('alice', 'root=alice/x', 'application/x-www-form-urlencoded');
    expect(form.status).toBe(415);
    await form.body?.cancel();
    expect(((await list('alice')).body.items as unknown[]).length).toBe(2);
  });

  it('DELETE releases a root (its files stay), so another source may claim it without adopt', async () => {
    const put = await fetch(`${s.url}/files/alice/photos/a.jpg`, { method: 'PUT', headers: s.auth('alice'), body: 'jpeg' });
    expect(put.status).toBe(201);
    const del = await fetch(`${s.url}/api/roots?root=alice/photos`, { method: 'DELETE', headers: s.auth('alice') });
    expect(del.status).toBe(204);
    const again = await fetch(`${s.url}/api/roots?root=alice/photos`, { method: 'DELETE', headers: s.auth('alice') });
    expect(again.status).toBe(404);
    await again.body?.cancel();
    expect((await claim('alice', { root: 'alice/photos', host: 'old-pc', folder: 'C:\\Users\\alice\\Pictures' })).status).toBe(201);
    expect((await fetch(`${s.url}/files/alice/photos/a.jpg`, { headers: s.auth('alice') })).status).toBe(200);
  });

  it('needs credentials', async () => {
    const r = await fetch(`${s.url}/api/roots`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: '{}' });
    expect(r.status).toBe(401);
    await r.body?.cancel();
  });
});
