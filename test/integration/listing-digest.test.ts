import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRemotePath } from '../../client/remote-path.js';
import { ListingDigest } from '../../shared/listing-digest.js';
import { age, CHILD_TEST_MS, listServer, runClient } from '../client/helpers.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startRouteProxy } from '../helpers/route-proxy.js';

let s: TestServer;
let work: string;

beforeAll(async () => {
  s = await startTestServer();
  work = await mkdtemp(join(s.dataDir, '..', 'cb-digest-'));
});

afterAll(async () => {
  await s.stop();
  await rm(work, { recursive: true, force: true });
});

async function put(remote: string, body: string, who: 'alice' | 'bob' = 'alice'): Promise<void> {
  const res = await fetch(`${s.url}/files/${encodeRemotePath(remote)}`, { method: 'PUT', headers: s.auth(who), body });
  expect(res.status, `PUT ${remote}: ${await res.text()}`).toBeLessThan(300);
}

async function digest(prefix: string | undefined, who: 'alice' | 'bob' | 'root' = 'alice'): Promise<{ status: number; body: Record<string, unknown> }> {
  const q = prefix === undefined ? '' : `?${new URLSearchParams({ prefix })}`;
  const res = await fetch(`${s.url}/api/files/digest${q}`, { headers: s.auth(who) });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** The digest computed here from the paged listing, as a client with the same records would. */
async function fromListing(prefix: string): Promise<{ prefix: string; files: number; digest: string }> {
  const d = new ListingDigest();
  for (const f of await listServer(s, prefix, prefix.startsWith('bob/') ? 'bob' : 'alice')) d.add(f.path, f.sha256);
  return { prefix, files: d.files, digest: await d.digest() };
}

describe('GET /api/files/digest', () => {
  it('stands for the listing below a prefix: equal to one computed from its pages, and moves with every change', async () => {
    // More than one page of the route's catalog queries would be slow to fill here; paths in
    // an order where UTF-16 and UTF-8 disagree check that both sides sort by bytes.
    const names = ['a.txt', 'B.txt', 'sub/c.txt', '\uFFFD.txt', '\u{1F600}.txt', 'z z.txt'];
    for (const n of names) await put(`alice/dg/${n}`, `content of ${n}`);
    await put('alice/dgx.txt', 'beside the folder, not in it');
    await put('bob/dg/a.txt', 'bob', 'bob');
    const first = await digest('alice/dg/');
    expect(first.status).toBe(200);
    expect(first.body).toEqual(await fromListing('alice/dg/'));
    expect(first.body.files).toBe(names.length);

    await put('alice/dg/sub/c.txt', 'changed');
    const changed = await digest('alice/dg/');
    expect(changed.body.digest).not.toBe(first.body.digest);
    expect(changed.body).toEqual(await fromListing('alice/dg/'));

    const del = await fetch(`${s.url}/files/alice/dg/a.txt`, { method: 'DELETE', headers: s.auth('alice') });
    expect(del.status).toBe(204);
    const deleted = await digest('alice/dg/');
    expect(deleted.body.files).toBe(names.length - 1);
    expect(deleted.body).toEqual(await fromListing('alice/dg/'));

    // An empty folder: nothing listed, SHA-256 of nothing.
    expect((await digest('alice/none/')).body).toEqual({ prefix: 'alice/none/', files: 0, digest: 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' });
  });

  it('a client digests its own namespace only (no prefix: all of it); an admin any prefix', async () => {
    await put('bob/own/x.txt', 'x', 'bob');
    expect(await digest(undefined, 'bob')).toMatchObject({ status: 200, body: { prefix: 'bob/' } });
    expect((await digest(undefined, 'bob')).body).toEqual(await fromListing('bob/'));
    const denied = await digest('alice/', 'bob');
    expect(denied.status).toBe(403);
    expect(denied.body.error).toMatch(/may only list bob\//);
    expect((await digest('alice/dg/', 'root')).body).toEqual((await digest('alice/dg/', 'alice')).body);
    const anon = await fetch(`${s.url}/api/files/digest?prefix=alice/`);
    expect(anon.status).toBe(401);
    await anon.body?.cancel();
  });
});

describe('a full scan with nothing to repair', () => {
  it('asks for the digest instead of the listing pages; a server-side change still brings the listing and the repair', async () => {
    const folder = join(work, 'quiet');
    for (const n of ['one.txt', 'sub/two.txt']) {
      await mkdir(join(folder, 'sub'), { recursive: true });
      await writeFile(join(folder, n), `local ${n}`);
      await age(join(folder, n));
    }
    const state = join(work, 'quiet-state', 'client.sqlite');
    const run = () => runClient([folder, '--once', '--state', state, '--server', s.url], { CB_TOKEN: s.tokens.alice });
    const requests = async (during: () => Promise<{ code: number | null; output: string }>) => {
      const from = s.logs.length;
      const r = await during();
      expect(r.code, r.output).toBe(0);
      const lines = s.logs.slice(from).join('\n');
      return { output: r.output, digests: (lines.match(/\/api\/files\/digest/g) ?? []).length, pages: (lines.match(/\/api\/files(?![/\w])/g) ?? []).length };
    };
    // First run: no confirmed file yet, so nothing to compare and neither is fetched.
    const first = await requests(run);
    expect(first).toMatchObject({ digests: 0, pages: 0 });
    expect(first.output).toMatch(/2 uploaded/);
    const quiet = await requests(run);
    expect(quiet).toMatchObject({ digests: 1, pages: 0 });
    expect(quiet.output).toMatch(/0 uploaded, 0 linked, 2 unchanged/);

    await put('alice/quiet/sub/two.txt', 'replaced on the server');
    const repaired = await requests(run);
    expect(repaired).toMatchObject({ digests: 1, pages: 1 });
    expect(repaired.output).toMatch(/^repaired {2}sub\/two\.txt \(the server held other content/m);
  }, CHILD_TEST_MS);
});

describe('against a server without the digest route', () => {
  it('the full scan falls back to the paged listing and still repairs', async () => {
    const folder = join(work, 'older');
    await mkdir(folder, { recursive: true });
    await writeFile(join(folder, 'kept.txt'), 'kept');
    await age(join(folder, 'kept.txt'));
    const state = join(work, 'older-state', 'client.sqlite');
    // A server of an older version, as far as the digest goes: the route answers 404.
    const proxy = await startRouteProxy(s.url, (req) => (req.url?.startsWith('/api/files/digest') ? { status: 404, body: { error: 'not found' } } : undefined));
    const seen = proxy.seen;
    try {
      const run = () => runClient([folder, '--once', '--state', state, '--server', proxy.url], { CB_TOKEN: s.tokens.alice });
      expect((await run()).code).toBe(0);
      await put('alice/older/kept.txt', 'changed on the server');
      seen.length = 0;
      const r = await run();
      expect(r.code, r.output).toBe(0);
      expect(seen.filter((l) => l.startsWith('GET /api/files/digest'))).toHaveLength(1);
      expect(seen.filter((l) => /^GET \/api\/files\?/.test(l))).toHaveLength(1);
      expect(r.output).toMatch(/^repaired {2}kept\.txt \(the server held other content/m);
      expect(r.output).not.toMatch(/warning/);
    } finally {
      await proxy.close();
    }
  }, CHILD_TEST_MS);
});
