/**
 * The server dies (SIGKILL) in the middle of a restore and comes back on the same address: the
 * restore, a separate process with its production retry policy, resumes the cut download from
 * its partial file within the same run and finishes with the exact bytes.
 *
 * The new server process is loaded before the kill (preloadServer) and started once the restore
 * has retried into the dead port: a start through tsx takes seconds on a busy machine (3.5-5 s
 * beside two CPU hogs on 2 cores) and the retry policy gives up after about 15.5 s at the least,
 * so the outcome would otherwise depend on how loaded the machine is.
 */
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256File, writeRandomFile } from '../helpers/bytes.js';
import { putFile } from '../helpers/hot-cold.js';
import { waitFor } from '../helpers/wait.js';
import { addClientToDataDir, preloadServer, spawnServer, type ChildServer } from '../helpers/server.js';
import { spawnRestore } from '../client/helpers.js';

const MB = 1024 * 1024;

describe('server restarted in the middle of a restore', () => {
  let base: string;
  let srv: ChildServer | undefined;
  afterAll(async () => {
    await srv?.stop();
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('the restore retries, resumes where the partial file stopped and finishes exact', { timeout: 300_000 }, async () => {
    base = await mkdtemp(join(tmpdir(), 'cb-restore-restart-'));
    const dataDir = join(base, 'data');
    const token = await addClientToDataDir(dataDir, 'alice', false);
    srv = await spawnServer(dataDir);
    const src = join(base, 'src.bin');
    const sha = await writeRandomFile(src, 20 * MB);
    expect((await putFile(srv.url, 'alice/Big/film.bin', src, { Authorization: `Bearer ${token}` })).status).toBe(201);

    const out = join(base, 'out');
    const parts = join(out, '.cb-restore-partial');
    const partSize = async () => {
      const names = await readdir(parts).catch(() => [] as string[]);
      return names.length === 1 ? (await stat(join(parts, names[0] as string))).size : 0;
    };
    const next = await preloadServer(dataDir, ['--port', String(srv.port)]);
    const restore = spawnRestore(['alice/Big', out, '--server', srv.url, '--limit-rate', '4M'], { CB_TOKEN: token });
    try {
      await waitFor('a quarter of the file restored', async () => (await partSize()) >= 5 * MB, 120_000, 20);
      await srv.kill();
      // The cut is one retry; the next one is the first to meet the dead port.
      const retries = () => (restore.output().match(/^retrying {2}/gm) ?? []).length;
      await waitFor('the restore to retry into the dead port', () => retries() >= 2 || restore.child.exitCode !== null, 60_000).catch((err: Error) => {
        throw new Error(`${err.message}\nrestore output:\n${restore.output()}`);
      });
      srv = await next.start();
    } catch (err) {
      next.kill();
      throw err;
    }

    const code = await Promise.race([restore.exited, new Promise<'slow'>((r) => setTimeout(() => r('slow'), 200_000))]);
    if (code === 'slow') restore.child.kill('SIGKILL');
    const output = restore.output();
    expect(code, output).toBe(0);
    expect(output).toMatch(/retrying  film\.bin in /);
    expect(output).toMatch(/restored  film\.bin \(20\.0 Mi?B\)/);
    expect(await sha256File(join(out, 'film.bin'))).toBe(sha);
    // Resumed, not fetched again: about one file's worth of bytes in all.
    const m = /; ([\d.]+) Mi?B received/.exec(output);
    expect(Number(m?.[1]), output).toBeLessThan(21);
  });
});
