import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnce } from '../../client/backup.js';
import { startWatching } from '../../client/watcher.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { startRouteProxy, type RouteProxy } from '../helpers/route-proxy.js';
import { age, captureOutput, CHILD_TEST_MS, clientConfig, QUICK, runClient } from '../client/helpers.js';

// Issue 17.1: the client reports each pass, so the admin sees who backed up when.
let s: TestServer;
let work: string;

type Pass = Record<string, unknown>;

beforeAll(async () => {
  s = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'cb-health-'));
});

afterAll(async () => {
  await s.stop();
  await rm(work, { recursive: true, force: true });
});

async function passes(who: 'alice' | 'bob', root: string): Promise<Pass[]> {
  const r = await fetch(`${s.url}/api/passes?limit=100`, { headers: s.auth(who) });
  return ((await r.json()) as { items: Pass[] }).items.filter((p) => p.root === root);
}

async function folderWith(name: string, files: Record<string, string>): Promise<{ folder: string; state: string }> {
  const folder = join(work, name);
  await mkdir(folder, { recursive: true });
  for (const [file, content] of Object.entries(files)) {
    await writeFile(join(folder, file), content);
    await age(join(folder, file));
  }
  return { folder, state: join(work, `${name}.state.sqlite`) };
}

/** The real server behind a proxy that answers POST /api/passes itself with `status` (an older or broken server). */
async function passProxy(status: number): Promise<RouteProxy & { asked: () => number }> {
  const proxy = await startRouteProxy(s.url, (req) =>
    req.method === 'POST' && req.url === '/api/passes' ? { status, body: { error: status === 404 ? 'not found' : 'database on fire' } } : undefined,
  );
  return { ...proxy, asked: () => proxy.seen.filter((l) => l === 'POST /api/passes').length };
}

describe('pass reports', () => {
  it('the client as a process reports each --once pass: counts, bytes, its computer and folder; the admin sees its last backup', async () => {
    const f = await folderWith('docs', { 'a.txt': 'alpha', 'b.txt': 'bravo!' });
    const args = [f.folder, '--once', '--server', s.url, '--state', f.state];
    const first = await runClient(args, { CB_TOKEN: s.tokens.alice });
    expect(first.code, first.output).toBe(0);
    expect(first.output).not.toContain('warning');
    const [one] = await passes('alice', 'alice/docs');
    expect(one).toMatchObject({ host: hostname(), folder: f.folder, scanned: 2, uploaded: 2, failed: 0, deleted: 0, bytes: 11, stopped: false, ok: true });
    expect(one?.endedAt as number).toBeGreaterThanOrEqual(one?.startedAt as number);

    // Nothing changed: still reported, so the last backup stays fresh.
    const second = await runClient(args, { CB_TOKEN: s.tokens.alice });
    expect(second.code, second.output).toBe(0);
    const all = await passes('alice', 'alice/docs');
    expect(all).toHaveLength(2);
    expect(all[0]).toMatchObject({ scanned: 2, uploaded: 0, bytes: 0, ok: true });

    const health = (await (await fetch(`${s.url}/api/health`, { headers: s.auth('root') })).json()) as { clients: Pass[] };
    const alice = health.clients.find((c) => c.name === 'alice');
    expect(alice).toMatchObject({ lastSuccess: { id: all[0]?.id, root: 'alice/docs' }, files: 2, currentBytes: 11, warnings: [] });
  }, CHILD_TEST_MS);

  it('watch mode reports the first pass and the quiet rescans after it', async () => {
    const f = await folderWith('watched', { 'w.txt': 'watch me' });
    const handle = startWatching(clientConfig(f.folder, s, s.tokens.bob, f.state, ['--settle', '0s', '--interval', '1s']), { ...QUICK, out: captureOutput().out });
    try {
      await handle.ready;
      await waitFor('two reported passes', async () => (await passes('bob', 'bob/watched')).length >= 2, 20_000);
      const all = await passes('bob', 'bob/watched');
      const [latest, first] = [all[0], all[all.length - 1]];
      expect(first).toMatchObject({ uploaded: 1, scanned: 1 });
      expect(latest).toMatchObject({ uploaded: 0, scanned: 1, ok: true });
    } finally {
      await handle.stop();
    }
  });

  it('a server older than pass reports (404) is backed up to without a word, and not asked again', async () => {
    const proxy = await passProxy(404);
    try {
      const f = await folderWith('old-server', { 'o.txt': 'old' });
      const out = captureOutput();
      const handle = startWatching(clientConfig(f.folder, proxy, s.tokens.alice, f.state, ['--settle', '0s', '--interval', '1s']), { ...QUICK, out: out.out });
      await handle.ready;
      await waitFor('two more passes', () => handle.passes.length >= 3, 20_000);
      await handle.stop();
      expect(proxy.asked()).toBe(1);
      expect(out.text()).not.toContain('warning');
      expect(out.text()).toContain('uploaded  o.txt');
    } finally {
      await proxy.close();
    }
  });

  it('a refused report is one warning line; the backup itself succeeds (exit 0)', async () => {
    const proxy = await passProxy(500);
    try {
      const f = await folderWith('broken-report', { 'r.txt': 'report me' });
      const out = captureOutput();
      const result = await runOnce(clientConfig(f.folder, proxy, s.tokens.alice, f.state, ['--once']), { ...QUICK, out: out.out });
      expect(result.exitCode, out.text()).toBe(0);
      expect(out.lines().filter((l) => l.startsWith('warning'))).toEqual([
        'warning   could not report this pass to the server (500 database on fire); the files are backed up, the admin\'s backup health misses this pass',
      ]);
      expect(await passes('alice', 'alice/broken-report')).toEqual([]);
    } finally {
      await proxy.close();
    }
  });
});
