/**
 * `npm run restore --at`: a folder backed up by the real client, changed, partly deleted and
 * backed up again comes back exactly (content and mtimes) as it was at each earlier moment.
 */
import { mkdir, mkdtemp, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnce } from '../../client/backup.js';
import { sha256File, writeRandomFile } from '../helpers/bytes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { captureOutput, CHILD_TEST_MS, clientConfig, listServer, runClient, spawnRestore } from '../client/helpers.js';

interface Snap {
  sha256: string;
  mtime: number;
}

let s: TestServer;
let base: string;

beforeAll(async () => {
  s = await startTestServer();
  base = await mkdtemp(join(tmpdir(), 'cb-restore-at-'));
});
afterAll(async () => {
  await s?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

/** Every file under `dir` with its SHA-256 and mtime (ms), sorted by relative path. */
async function tree(dir: string): Promise<Map<string, Snap>> {
  const out: [string, Snap][] = [];
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isDirectory()) continue;
    const abs = join(e.parentPath, e.name);
    out.push([abs.slice(dir.length + 1), { sha256: await sha256File(abs), mtime: Math.floor((await stat(abs)).mtimeMs) }]);
  }
  return new Map(out.sort(([a], [b]) => (a < b ? -1 : 1)));
}

function restore(args: string[]) {
  return runClient([...args, '--server', s.url], { CB_TOKEN: s.tokens.alice }, 120_000, spawnRestore);
}

describe('npm run restore --at', () => {
  it('restores the folder exactly as at each earlier moment', { timeout: CHILD_TEST_MS * 2 }, async () => {
    const folder = join(base, 'Photos');
    const state = join(base, 'state.sqlite');
    await mkdir(join(folder, 'sub ü'), { recursive: true });
    const day = 86_400_000;
    const t0 = Date.UTC(2025, 0, 1, 12, 0, 0, 123);
    const setTime = (rel: string, ms: number) => utimes(join(folder, rel), new Date(ms), new Date(ms));

    /** One backup pass (local deletes become DELETEs); returns a moment after it, before the next change. */
    const backUp = async (): Promise<number> => {
      const out = captureOutput();
      const r = await runOnce(clientConfig(folder, s, s.tokens.alice, state, ['--once', '--settle', '0s']), { out: out.out });
      expect(r.exitCode, out.text()).toBe(0);
      const listed = await listServer(s, 'alice/Photos/');
      expect(listed.map((f) => f.path.slice('alice/Photos/'.length)).sort(), out.text()).toEqual([...(await tree(folder)).keys()]);
      const moment = Date.now();
      // The next change must be uploaded strictly later than this moment.
      while (Date.now() <= moment) await new Promise((r) => setImmediate(r));
      return moment;
    };

    // Moment 1.
    await writeRandomFile(join(folder, 'a.txt'), 5000);
    await writeRandomFile(join(folder, 'b.bin'), 300_000);
    await writeRandomFile(join(folder, 'sub ü/c 日本.txt'), 1000);
    await setTime('a.txt', t0);
    await setTime('b.bin', t0 + 1);
    await setTime('sub ü/c 日本.txt', t0 + 2);
    const snap1 = await tree(folder);
    const at1 = await backUp();

    // Moment 2: a changed, b deleted, d new.
    await writeRandomFile(join(folder, 'a.txt'), 6000);
    await setTime('a.txt', t0 + day);
    await rm(join(folder, 'b.bin'));
    await writeFile(join(folder, 'd.md'), '# new\n');
    await setTime('d.md', t0 + day + 5);
    const snap2 = await tree(folder);
    const at2 = await backUp();

    // Moment 3 (now): a changed again, c deleted.
    await writeRandomFile(join(folder, 'a.txt'), 7000);
    await setTime('a.txt', t0 + 2 * day);
    await rm(join(folder, 'sub ü/c 日本.txt'));
    const snap3 = await tree(folder);
    await backUp();

    const out1 = join(base, 'out1');
    const r1 = await restore(['alice/Photos', out1, '--at', String(at1)]);
    expect(r1.code, r1.output).toBe(0);
    expect(r1.output).toContain(`as at ${new Date(at1).toISOString()}`);
    expect(await tree(out1)).toEqual(snap1);

    const out2 = join(base, 'out2');
    const r2 = await restore(['alice/Photos', out2, '--at', new Date(at2).toISOString()]);
    expect(r2.code, r2.output).toBe(0);
    expect(await tree(out2)).toEqual(snap2);

    // A zoneless time is the local time of the machine running the restore (here a child in
    // Kolkata, UTC+05:30), and the first line says which instant that was.
    const out2b = join(base, 'out2b');
    const kolkata = new Date(at2 + 330 * 60_000).toISOString().slice(0, -1);
    const r2b = await runClient(['alice/Photos', out2b, '--at', kolkata, '--server', s.url], { CB_TOKEN: s.tokens.alice, TZ: 'Asia/Kolkata' }, 120_000, spawnRestore);
    expect(r2b.code, r2b.output).toBe(0);
    expect(r2b.output.split('\n')[0]).toContain(`as at ${new Date(at2).toISOString()} from`);
    expect(await tree(out2b)).toEqual(snap2);

    const out3 = join(base, 'out3');
    const r3 = await restore(['alice/Photos', out3]);
    expect(r3.code, r3.output).toBe(0);
    expect(await tree(out3)).toEqual(snap3);

    // Back in time over the current tree: a differs (refused, then replaced with --overwrite),
    // b and c come back; d did not exist then and is left alone (a restore deletes nothing).
    const refused = await restore(['alice/Photos', out3, '--at', String(at1)]);
    expect(refused.code, refused.output).toBe(1);
    expect(refused.output).toMatch(/refused   a\.txt: differs from the backup/);
    const over = await restore(['alice/Photos', out3, '--at', String(at1), '--overwrite']);
    expect(over.code, over.output).toBe(0);
    expect(over.output).toContain('restored  a.txt (');
    expect(await tree(out3)).toEqual(new Map([...snap1, ['d.md', snap3.get('d.md') as Snap] as const]));

    // Before the first backup there was nothing.
    const none = await restore(['alice/Photos', join(base, 'out0'), '--at', String(Date.UTC(2020, 0, 1))]);
    expect(none.code, none.output).toBe(1);
    expect(none.output).toContain('nothing under alice/Photos/ on the server at that time');
  });
});
