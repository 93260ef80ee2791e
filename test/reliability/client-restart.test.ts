/**
 * The server dies (SIGKILL) in the middle of a client's backup pass and comes back on the same
 * address: the client, a separate process with its production retry policy, finishes (in that
 * pass, or the next) with every file exact on the server, and the server's data dir is sound.
 * (A file changing while it uploads is covered in test/integration/client.test.ts.)
 */
import { mkdir, mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeRemotePath } from '../../client/remote-path.js';
import { sha256Body, sha256File, writeRandomFile } from '../helpers/bytes.js';
import { fsckCli } from '../helpers/fsck.js';
import { waitFor } from '../helpers/wait.js';
import { addClientToDataDir, spawnServer, type ChildServer } from '../helpers/server.js';
import { age, runClient, spawnClient } from '../client/helpers.js';

const MB = 1024 * 1024;

describe('server restarted in the middle of a client pass', () => {
  let base: string;
  afterAll(async () => {
    if (base) await rm(base, { recursive: true, force: true });
  });

  it('the client finishes with every file exact', { timeout: 300_000 }, async () => {
    base = await mkdtemp(join(tmpdir(), 'cb-client-restart-'));
    const dataDir = join(base, 'data');
    const folder = join(base, 'Photos');
    const state = join(base, 'state', 'client.sqlite');
    await mkdir(join(folder, 'small'), { recursive: true });
    const local = new Map<string, string>();
    for (let i = 0; i < 40; i++) {
      const rel = `small/${i}.bin`;
      local.set(rel, await writeRandomFile(join(folder, rel), 10_000 + i * 5_000));
    }
    // Two above the client's tus threshold (resumable), one plain PUT.
    for (const [rel, size] of [
      ['big-1.bin', 12 * MB],
      ['big-2.bin', 12 * MB],
      ['medium.bin', 6 * MB],
    ] as const) {
      local.set(rel, await writeRandomFile(join(folder, rel), size));
    }
    for (const rel of local.keys()) await age(join(folder, rel));

    const token = await addClientToDataDir(dataDir, 'alice');
    let srv: ChildServer = await spawnServer(dataDir);
    const port = srv.port;
    const args = [folder, '--server', srv.url, '--token', token, '--state', state, '--once', '--limit-rate', '6M', '--concurrency', '2'];
    const client = spawnClient(args);

    // Killed once a good part of the data arrived (in files, upload parts or tmp/).
    const arrived = async () => {
      let bytes = 0;
      for (const sub of ['blobs', 'uploads', 'tmp']) {
        const dir = join(dataDir, sub);
        for (const e of await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => [])) {
          if (e.isFile()) bytes += (await stat(join(e.parentPath, e.name)).catch(() => ({ size: 0 }))).size;
        }
      }
      return bytes;
    };
    await waitFor('a third of the data on the server', async () => (await arrived()) > 10 * MB, 120_000, 50);
    await srv.kill();
    // The outage itself (not a wait for an event): the client's retries run into a dead port.
    await new Promise((r) => setTimeout(r, 1500));
    srv = await spawnServer(dataDir, ['--port', String(port)]);

    const first = await Promise.race([client.exited, new Promise<'slow'>((r) => setTimeout(() => r('slow'), 180_000))]);
    if (first === 'slow') client.child.kill('SIGKILL');
    let output = client.output();
    if (first !== 0) {
      // Gave up during the outage: the next pass finishes the job.
      const second = await runClient(args, {}, 180_000);
      output += `\n--- second pass ---\n${second.output}`;
      expect(second.code, output).toBe(0);
    }
    console.log(`client after a server restart: ${first === 0 ? 'finished in the same pass' : `first pass exited ${first}, second pass finished`}`);

    try {
      const listed = new Map<string, string>();
      let cursor = '';
      for (;;) {
        const r = await fetch(`${srv.url}/api/files?prefix=${encodeURIComponent('alice/Photos/')}&limit=1000${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        const page = (await r.json()) as { items: { path: string; sha256: string }[]; nextCursor: string | null };
        for (const i of page.items) listed.set(i.path.slice('alice/Photos/'.length), i.sha256);
        if (!page.nextCursor) break;
        cursor = page.nextCursor;
      }
      expect(new Map([...listed].sort()), output).toEqual(new Map([...local].sort()));
      for (const [rel, sha] of local) {
        const r = await fetch(`${srv.url}/files/${encodeRemotePath(`alice/Photos/${rel}`)}`, { headers: { Authorization: `Bearer ${token}` } });
        expect((await sha256Body(r)).sha256, rel).toBe(sha);
        expect(await sha256File(join(folder, rel))).toBe(sha);
      }
    } finally {
      await srv.stop();
    }
    const check = await fsckCli(dataDir);
    expect(check.findings.filter((f) => f.severity === 'error')).toEqual([]);
  });
});
