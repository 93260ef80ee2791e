import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnce } from '../../client/backup.js';
import { startWatching } from '../../client/watcher.js';
import { sha256 } from '../helpers/bytes.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { age, captureOutput, CHILD_TEST_MS, clientConfig, QUICK, runClient, serverFile } from '../client/helpers.js';

// Issue 15.2: a remote folder belongs to one source (a folder on one computer).
let s: TestServer;
let work: string;

beforeAll(async () => {
  s = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'cb-roots-'));
});

afterAll(async () => {
  await s.stop();
  await rm(work, { recursive: true, force: true });
});

/** `<work>/<parent>/<name>` holding one settled file, and a state DB path of its own. */
async function folderWith(parent: string, name: string, file: string, content: string): Promise<{ folder: string; state: string }> {
  const folder = join(work, parent, name);
  await mkdir(folder, { recursive: true });
  await writeFile(join(folder, file), content);
  await age(join(folder, file));
  return { folder, state: join(work, parent, `${name}.state.sqlite`) };
}

describe('two folders of the same name (the client as a process)', () => {
  it('the second is refused with exit 2 naming the first and --prefix; --prefix and --adopt are the two ways on', async () => {
    const work1 = await folderWith('work', 'docs', 'plan.txt', 'the work plan');
    const home = await folderWith('home', 'docs', 'plan.txt', 'the holiday plan');
    const args = (f: { folder: string; state: string }, ...extra: string[]) => [f.folder, '--once', '--server', s.url, '--state', f.state, ...extra];
    const env = { CB_TOKEN: s.tokens.alice };

    const first = await runClient(args(work1), env);
    expect(first.code, first.output).toBe(0);

    const second = await runClient(args(home), env);
    expect(second.code, second.output).toBe(2);
    expect(second.output).toContain(`alice/docs/ on the server is the backup of another folder: ${work1.folder} on this computer`);
    expect(second.output).toContain('--prefix home-docs');
    expect(second.output).toContain('--adopt');
    expect(second.output).not.toMatch(/uploaded/);
    // Nothing of the second folder reached the first one's files.
    expect(await serverFile(s, 'alice/docs/plan.txt')).toMatchObject({ status: 200, sha256: sha256('the work plan') });

    const ownPrefix = await runClient(args(home, '--prefix', 'home-docs'), env);
    expect(ownPrefix.code, ownPrefix.output).toBe(0);
    expect(await serverFile(s, 'alice/home-docs/plan.txt')).toMatchObject({ status: 200, sha256: sha256('the holiday plan') });
    expect(await serverFile(s, 'alice/docs/plan.txt')).toMatchObject({ sha256: sha256('the work plan') });

    // A new computer (here: a moved folder) takes the root over on purpose; the old one is refused from then on.
    const moved = await folderWith('new-laptop', 'docs', 'plan.txt', 'the work plan, moved');
    const adopt = await runClient(args(moved, '--adopt'), env);
    expect(adopt.code, adopt.output).toBe(0);
    expect(adopt.output).toContain(`adopted   alice/docs/ (backed up from ${work1.folder} on`);
    expect(await serverFile(s, 'alice/docs/plan.txt')).toMatchObject({ sha256: sha256('the work plan, moved') });
    const old = await runClient(args(work1), env);
    expect(old.code, old.output).toBe(2);
    expect(old.output).toContain(`is the backup of another folder: ${moved.folder}`);

    // A rerun of the adopting folder, still with --adopt, is simply its own root again.
    const again = await runClient(args(moved, '--adopt'), env);
    expect(again.code, again.output).toBe(0);
    expect(again.output).not.toContain('adopted');
  }, CHILD_TEST_MS);

  it('roots never nest: a folder backed up into another backup root is refused', async () => {
    const outer = await folderWith('nest', 'photos', 'a.jpg', 'outer');
    const inner = await folderWith('nest2', 'inner', 'b.jpg', 'inner');
    const env = { CB_TOKEN: s.tokens.bob };
    const a = await runClient([outer.folder, '--once', '--server', s.url, '--state', outer.state], env);
    expect(a.code, a.output).toBe(0);
    const b = await runClient([inner.folder, '--once', '--server', s.url, '--state', inner.state, '--prefix', 'photos/2024'], env);
    expect(b.code, b.output).toBe(2);
    expect(b.output).toContain(`bob/photos/2024/ on the server lies inside bob/photos/, the backup of ${outer.folder}`);
    expect(b.output).toContain('cannot nest');
    expect((await serverFile(s, 'bob/photos/2024/b.jpg', 'bob')).status).toBe(404);
  }, CHILD_TEST_MS);
});

describe('watch mode', () => {
  it('a watching client whose root another source adopts stops at its next pass (no further writes)', async () => {
    const a = await folderWith('watch-a', 'shared', 'x.txt', 'from a');
    const b = await folderWith('watch-b', 'shared', 'x.txt', 'from b');
    const out = captureOutput();
    const handle = startWatching(clientConfig(a.folder, s, s.tokens.alice, a.state, ['--settle', '0s', '--interval', '1s']), { ...QUICK, out: out.out, hostname: 'box-a' });
    await handle.ready;
    expect(await serverFile(s, 'alice/shared/x.txt')).toMatchObject({ sha256: sha256('from a') });

    const took = await runOnce(clientConfig(b.folder, s, s.tokens.alice, b.state, ['--settle', '0s', '--adopt']), { ...QUICK, out: captureOutput().out, hostname: 'box-b' });
    expect(took.exitCode, took.error).toBe(0);

    await writeFile(join(a.folder, 'x.txt'), 'from a, later');
    await waitFor('the watcher to stop on the refused claim', () => handle.fatal() !== undefined, 20_000);
    await handle.done;
    expect(out.text()).toContain('alice/shared/ on the server is the backup of another folder');
    expect(out.text()).toContain('on box-b');
    expect(await serverFile(s, 'alice/shared/x.txt')).toMatchObject({ sha256: sha256('from b') });
  }, CHILD_TEST_MS);
});
