import { existsSync } from 'node:fs';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256Body, writeRandomFile } from '../helpers/bytes.js';
import { fsckCli } from '../helpers/fsck.js';
import { putFile, writeWordsFile } from '../helpers/hot-cold.js';
import { waitFor } from '../helpers/wait.js';
import { addClientToDataDir, makeDataDir, spawnServer, type ChildServer } from '../helpers/server.js';

const MB = 1024 * 1024;
const FAST = ['--hot-time', '1s', '--sweep-interval', '500ms', '--sweep-concurrency', '1'];

interface Local {
  path: string;
  sha: string;
  size: number;
  file?: string;
  data?: string;
}

describe('hot/cold crash safety (server killed with SIGKILL)', () => {
  let dataDir: string;
  let scratch: string;
  let auth: Record<string, string>;
  /** The admin sees the stored form; alice her files' own heat (handlers/files/file-view.ts). */
  let admin: Record<string, string>;
  const files: Local[] = [];
  const running: ChildServer[] = [];

  const tmpNames = async () => (existsSync(join(dataDir, 'tmp')) ? readdir(join(dataDir, 'tmp')) : []);
  const journal = async () => (existsSync(join(dataDir, 'swaps')) ? readdir(join(dataDir, 'swaps')) : []);
  const plainPath = (sha: string) => join(dataDir, 'blobs', sha.slice(0, 2), sha.slice(2, 4), sha);
  const start = async (args: string[] = []) => {
    const srv = await spawnServer(dataDir, args);
    running.push(srv);
    return srv;
  };
  const state = async (srv: ChildServer, path: string) => {
    const r = await fetch(`${srv.url}/api/files?prefix=${encodeURIComponent(path)}`, { headers: admin });
    return ((await r.json()) as { items: { path: string; state: string }[] }).items.find((i) => i.path === path)?.state;
  };
  /** Start-up left no temporary objects and no open swaps. */
  const checkClean = async () => {
    expect(await tmpNames()).toEqual([]);
    expect(await journal()).toEqual([]);
  };
  /** Every file downloads in full and matches its SHA-256 (reads promote: check states first). */
  const checkAll = async (srv: ChildServer) => {
    for (const f of files) {
      const r = await fetch(`${srv.url}/files/${f.path}`, { headers: auth });
      expect(r.status, f.path).toBe(200);
      expect(await sha256Body(r), f.path).toEqual({ sha256: f.sha, size: f.size });
    }
  };

  beforeAll(async () => {
    dataDir = await makeDataDir();
    scratch = await makeDataDir();
    auth = { Authorization: `Bearer ${await addClientToDataDir(dataDir, 'alice')}` };
    admin = { Authorization: `Bearer ${await addClientToDataDir(dataDir, 'root', true)}` };
    const add = async (path: string, size: number, write: (file: string) => Promise<string>) => {
      const file = join(scratch, path.replaceAll('/', '_'));
      files.push({ path, size, file, sha: await write(file) });
    };
    await add('alice/docs/small.txt', 2 * MB, (f) => writeWordsFile(f, 2 * MB, 1));
    await add('alice/media/noise.bin', 2 * MB, (f) => writeRandomFile(f, 2 * MB));
    // Large enough that compressing it takes seconds: the kill lands while it runs.
    await add('alice/archive/big.txt', 32 * MB, (f) => writeWordsFile(f, 32 * MB, 2));
    const tiny = 'tiny\n';
    files.push({ path: 'alice/tiny.txt', size: tiny.length, sha: sha256(tiny), data: tiny });
  });
  afterAll(async () => {
    for (const srv of running) if (srv.child.exitCode === null && srv.child.signalCode === null) await srv.kill();
    await rm(dataDir, { recursive: true, force: true });
    await rm(scratch, { recursive: true, force: true });
  });

  it('restarts with every file downloadable and matching its SHA-256 after a kill mid-compression', { timeout: 180_000 }, async () => {
    const srv = await start(FAST);
    const [small, noise, big, tiny] = files as [Local, Local, Local, Local];
    for (const f of [small, noise]) expect((await putFile(srv.url, f.path, f.file as string, auth)).status).toBe(201);
    expect((await fetch(`${srv.url}/files/${tiny.path}`, { method: 'PUT', headers: auth, body: tiny.data })).status).toBe(201);
    await waitFor('small.txt cold', async () => (await state(srv, small.path)) === 'cold');

    expect((await putFile(srv.url, big.path, big.file as string, auth)).status).toBe(201);
    // The compressed temporary object of big.txt is being written: kill now.
    await waitFor('big.txt being compressed', async () => {
      for (const n of await tmpNames()) {
        if (n.endsWith('.gz') && (await stat(join(dataDir, 'tmp', n)).catch(() => undefined))?.size) return true;
      }
      return false;
    }, 60_000, 10);
    // Downloads are served while the compression runs.
    for (const f of [tiny, noise]) expect(await sha256Body(await fetch(`${srv.url}/files/${f.path}`, { headers: auth }))).toEqual({ sha256: f.sha, size: f.size });
    await srv.kill();
    expect(existsSync(plainPath(big.sha)), 'big.txt plain form still there after the kill').toBe(true);
    expect((await tmpNames()).some((n) => n.endsWith('.gz'))).toBe(true);

    const again = await start();
    expect(again.output()).toMatch(/start-up: removed [1-9]\d* temporary leftover/);
    await checkClean();
    expect(await state(again, small.path)).toBe('cold');
    expect(await state(again, big.path)).toBe('hot');
    await checkAll(again);
    await again.stop();
    // And the catalog agrees with the stored forms, byte for byte.
    expect((await fsckCli(dataDir)).findings).toEqual([]);
  });

  it('restarts with every file intact after a kill mid-promotion', { timeout: 180_000 }, async () => {
    const big = files[2] as Local;
    const srv = await start(FAST);
    await waitFor('big.txt cold', async () => (await state(srv, big.path)) === 'cold', 120_000, 50);
    // A download of the cold file schedules its promotion; keep the body unread meanwhile.
    const res = await fetch(`${srv.url}/files/${big.path}`, { headers: auth });
    expect(res.status).toBe(200);
    await waitFor('big.txt being decompressed into a plain temporary object', async () => (await tmpNames()).some((n) => n.endsWith('.plain')), 60_000, 5);
    await srv.kill();
    await res.body?.cancel().catch(() => {});

    const again = await start();
    await checkClean();
    // The promotion never finished: the blob is still cold, served from its compressed form.
    expect(await state(again, big.path)).toBe('cold');
    expect(existsSync(plainPath(big.sha))).toBe(false);
    await checkAll(again);
    await again.stop();
    // And the catalog agrees with the stored forms, byte for byte.
    expect((await fsckCli(dataDir)).findings).toEqual([]);
  });
});
