/**
 * SIGKILL the server during a folder rollback and during pruning, then check after a restart
 * that every listed file and every remaining version downloads with its SHA-256, fsck finds no
 * error, and (for the rollback) that sending it again finishes it.
 */
import { randomBytes } from 'node:crypto';
import { rm } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { fsckCli } from '../helpers/fsck.js';
import { addClientToDataDir, makeDataDir, spawnServer, type ChildServer } from '../helpers/server.js';

const dirs: string[] = [];
afterEach(async () => {
  for (const d of dirs.splice(0)) await rm(d, { recursive: true, force: true });
});

interface Item {
  path: string;
  sha256: string;
  mtime: number | null;
  version: string;
}

async function setup(): Promise<{ dataDir: string; auth: Record<string, string> }> {
  const dataDir = await makeDataDir();
  dirs.push(dataDir);
  const token = await addClientToDataDir(dataDir, 'alice');
  return { dataDir, auth: { Authorization: `Bearer ${token}` } };
}

async function listAll(srv: ChildServer, auth: Record<string, string>, query = ''): Promise<Item[]> {
  const out: Item[] = [];
  let cursor = '';
  for (;;) {
    const r = await fetch(`${srv.url}/api/files?prefix=alice/&limit=1000${query}${cursor ? `&cursor=${cursor}` : ''}`, { headers: auth });
    expect(r.status).toBe(200);
    const page = (await r.json()) as { items: Item[]; nextCursor: string | null };
    out.push(...page.items);
    if (!page.nextCursor) return out;
    cursor = encodeURIComponent(page.nextCursor);
  }
}

/** Every listed file, and every content version of every path, downloads with its SHA-256. */
async function everythingReadable(srv: ChildServer, auth: Record<string, string>, paths: Iterable<string>): Promise<void> {
  for (const item of await listAll(srv, auth)) {
    expect((await sha256Body(await fetch(`${srv.url}/files/${item.path}`, { headers: auth }))).sha256, item.path).toBe(item.sha256);
  }
  for (const path of paths) {
    const r = await fetch(`${srv.url}/api/versions?path=${encodeURIComponent(path)}&limit=1000`, { headers: auth });
    const { items } = (await r.json()) as { items: { version: string; sha256: string | null }[] };
    for (const v of items) {
      if (v.sha256 === null) continue;
      const got = await fetch(`${srv.url}/files/${path}?version=${v.version}`, { headers: auth });
      expect(got.status, `${path}@${v.version}`).toBe(200);
      expect((await sha256Body(got)).sha256).toBe(v.sha256);
    }
  }
}

async function fsckClean(dataDir: string): Promise<void> {
  const check = await fsckCli(dataDir);
  expect(check.findings.filter((f) => f.severity === 'error')).toEqual([]);
}

const put = (srv: ChildServer, auth: Record<string, string>, path: string, body: Buffer, mtime: number) =>
  fetch(`${srv.url}/files/${path}`, { method: 'PUT', body: new Uint8Array(body), headers: { ...auth, 'X-File-Mtime': String(mtime) } });

describe('SIGKILL during history work', () => {
  it.each([10, 60])('a folder rollback killed %i ms in leaves every version readable; sent again, it finishes', { timeout: 300_000 }, async (delayMs) => {
    const { dataDir, auth } = await setup();
    let srv = await spawnServer(dataDir);
    const paths: string[] = [];
    for (let i = 0; i < 150; i++) {
      const p = `alice/roll/${i % 6}/f${i}.bin`;
      paths.push(p);
      expect((await put(srv, auth, p, randomBytes(2000 + i), 1000 + i)).status).toBe(201);
    }
    const at = Date.now();
    while (Date.now() <= at) await new Promise((r) => setTimeout(r, 2));
    for (let i = 0; i < 150; i++) {
      const p = paths[i] as string;
      if (i % 3 === 0) await fetch(`${srv.url}/files/${p}`, { method: 'DELETE', headers: auth });
      else if (i % 3 === 1) await put(srv, auth, p, randomBytes(3000 + i), 5000 + i);
    }
    for (let i = 0; i < 40; i++) {
      const p = `alice/roll/new/n${i}.bin`;
      paths.push(p);
      await put(srv, auth, p, randomBytes(100 + i), 9000 + i);
    }
    const rollback = fetch(`${srv.url}/api/restore`, {
      method: 'POST',
      headers: { ...auth, 'Content-Type': 'application/json' },
      body: JSON.stringify({ prefix: 'alice/roll', at }),
    }).then((r) => r.status, () => 0);
    await new Promise((r) => setTimeout(r, delayMs));
    await srv.kill();
    await rollback;

    srv = await spawnServer(dataDir);
    await everythingReadable(srv, auth, paths);
    const again = await fetch(`${srv.url}/api/restore`, { method: 'POST', headers: { ...auth, 'Content-Type': 'application/json' }, body: JSON.stringify({ prefix: 'alice/roll', at }) });
    expect(again.status).toBe(200);
    const now = (await listAll(srv, auth)).map((i) => [i.path, i.sha256, i.mtime]);
    const then = (await listAll(srv, auth, `&at=${at}`)).map((i) => [i.path, i.sha256, i.mtime]);
    expect(now).toEqual(then);
    expect(now).toHaveLength(150);
    await srv.stop();
    await fsckClean(dataDir);
  });

  it('pruning killed at random moments frees only what no version holds', { timeout: 300_000 }, async () => {
    const { dataDir, auth } = await setup();
    let srv = await spawnServer(dataDir);
    const paths: string[] = [];
    const current = new Map<string, string>();
    for (let i = 0; i < 60; i++) {
      const p = `alice/prune/f${i}.bin`;
      paths.push(p);
      for (let v = 0; v < 4; v++) {
        const body = randomBytes(1500 + v);
        expect((await put(srv, auth, p, body, v)).status).toBeLessThan(300);
        current.set(p, sha256(body));
      }
      if (i % 10 === 0) {
        await fetch(`${srv.url}/files/${p}`, { method: 'DELETE', headers: auth });
        current.delete(p);
      }
    }
    await srv.stop();
    // Every window at 0: the first sweeps prune everything but current content.
    const prune = ['--keep-all', '0', '--keep-daily', '0', '--keep-weekly', '0', '--sweep-interval', '20ms'];
    for (const delayMs of [30, 80, 200]) {
      srv = await spawnServer(dataDir, prune);
      await new Promise((r) => setTimeout(r, delayMs));
      await srv.kill();
      srv = await spawnServer(dataDir);
      const listed = new Map((await listAll(srv, auth)).map((i) => [i.path, i.sha256]));
      expect(listed).toEqual(current);
      await everythingReadable(srv, auth, paths);
      await srv.stop();
      await fsckClean(dataDir);
    }
  });
});
