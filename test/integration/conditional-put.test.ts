import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { apiFor } from '../helpers/api.js';

// Issue 14 item 8: PUT honours If-Match / If-None-Match (RFC 9110 13.1.1, 13.1.2): 412, nothing stored.
describe('conditional PUT', () => {
  let s: TestServer;
  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s?.stop();
  });

  const put = (path: string, body: string, headers: Record<string, string> = {}) => apiFor(s).put(path, body, headers);
  const content = async (path: string) => {
    const r = await fetch(`${s.url}/files/${path}`, { headers: s.auth('alice') });
    return r.status === 404 ? null : (await sha256Body(r)).sha256;
  };
  const tmpEntries = () => readdir(join(s.dataDir, 'tmp'));

  async function expect412(r: Response): Promise<void> {
    expect(r.status).toBe(412);
    expect(r.headers.get('content-type')).toMatch(/application\/json/);
    expect(((await r.json()) as { error: string }).error).toMatch(/precondition failed/);
  }

  it('If-None-Match: * creates a new file once and refuses when it exists', async () => {
    expect((await put('alice/c/new.txt', 'first', { 'If-None-Match': '*' })).status).toBe(201);
    await expect412(await put('alice/c/new.txt', 'second', { 'If-None-Match': '*' }));
    expect(await content('alice/c/new.txt')).toBe(sha256('first'));
    expect(await tmpEntries()).toEqual([]);
  });

  it('If-None-Match with the current ETag refuses; with another one proceeds', async () => {
    const etag = (await put('alice/c/inm.txt', 'v1')).headers.get('etag') as string;
    await expect412(await put('alice/c/inm.txt', 'v2', { 'If-None-Match': etag }));
    expect(await content('alice/c/inm.txt')).toBe(sha256('v1'));
    expect((await put('alice/c/inm.txt', 'v2', { 'If-None-Match': `"${sha256('other')}"` })).status).toBe(200);
    expect(await content('alice/c/inm.txt')).toBe(sha256('v2'));
  });

  it('If-Match with the current strong ETag replaces; a stale or weak one is 412 and changes nothing', async () => {
    const r1 = await put('alice/c/doc.txt', 'version 1');
    const etag1 = r1.headers.get('etag') as string;
    expect(etag1).toBe(`"${sha256('version 1')}"`);
    const r2 = await put('alice/c/doc.txt', 'version 2', { 'If-Match': etag1 });
    expect(r2.status).toBe(200);
    // Another client still holding version 1's ETag loses the race instead of overwriting version 2.
    await expect412(await put('alice/c/doc.txt', 'stale edit', { 'If-Match': etag1 }));
    await expect412(await put('alice/c/doc.txt', 'weak edit', { 'If-Match': `W/${r2.headers.get('etag')}` }));
    expect(await content('alice/c/doc.txt')).toBe(sha256('version 2'));
    expect(await content('alice/c/x')).toBeNull();
    expect(await tmpEntries()).toEqual([]);
  });

  it('If-Match: * needs an existing file', async () => {
    await expect412(await put('alice/c/absent.txt', 'x', { 'If-Match': '*' }));
    expect(await content('alice/c/absent.txt')).toBeNull();
    expect((await put('alice/c/absent.txt', 'x')).status).toBe(201);
    expect((await put('alice/c/absent.txt', 'y', { 'If-Match': '*' })).status).toBe(200);
    expect(await content('alice/c/absent.txt')).toBe(sha256('y'));
  });

  it('a failing precondition is answered before the body is read', async () => {
    expect((await put('alice/c/early.txt', 'kept')).status).toBe(201);
    // A body that never ends: only an answer given without reading it can arrive.
    let pulls = 0;
    const endless = new ReadableStream<Uint8Array>({
      pull(controller) {
        pulls++;
        if (pulls === 1) controller.enqueue(new TextEncoder().encode('x'.repeat(1024)));
        return new Promise(() => {});
      },
    });
    const ac = new AbortController();
    const r = await fetch(`${s.url}/files/alice/c/early.txt`, {
      method: 'PUT',
      body: endless,
      headers: { ...s.auth('alice'), 'If-None-Match': '*' },
      duplex: 'half',
      signal: ac.signal,
    } as RequestInit);
    expect(r.status).toBe(412);
    ac.abort();
    expect(await content('alice/c/early.txt')).toBe(sha256('kept'));
  });

  it('two writers holding the same ETag: exactly one wins, the other gets 412', async () => {
    const etag = (await put('alice/c/race.txt', 'base')).headers.get('etag') as string;
    for (let round = 0; round < 5; round++) {
      const current = `"${(await content('alice/c/race.txt')) as string}"`;
      const rs = await Promise.all(['a', 'b'].map((w) => put('alice/c/race.txt', `${w} ${round} ${'z'.repeat(200_000)}`, { 'If-Match': current })));
      expect(rs.map((r) => r.status).sort()).toEqual([200, 412]);
      const winner = rs.find((r) => r.status === 200) as Response;
      expect(`"${await content('alice/c/race.txt')}"`).toBe(winner.headers.get('etag'));
      await Promise.all(rs.map((r) => r.body?.cancel()));
    }
    expect(etag).not.toBe(`"${await content('alice/c/race.txt')}"`);
  });
});
