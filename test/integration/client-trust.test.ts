import { chmod, mkdir, mkdtemp, readdir, rm, stat, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRemotePath } from '../../client/remote-path.js';
import { StateDb } from '../../client/state-db.js';
import { startWatching } from '../../client/watcher.js';
import { sha256 } from '../helpers/bytes.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { age, captureOutput, CHILD_TEST_MS, clientConfig, listServer, QUICK, runClient, serverFile, spawnClient } from '../client/helpers.js';
import { writeRandomFile } from '../helpers/bytes.js';

let s: TestServer;
let work: string;

beforeAll(async () => {
  s = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'cb-trust-'));
});

afterAll(async () => {
  await s.stop();
  await rm(work, { recursive: true, force: true });
});

/** A fresh folder to back up plus a state DB path outside it. */
async function freshFolder(name: string): Promise<{ folder: string; state: string; base: string }> {
  const base = await mkdtemp(join(work, 'case-'));
  const folder = join(base, name);
  await mkdir(folder, { recursive: true });
  return { folder, state: join(base, 'state', 'client.sqlite'), base };
}

async function putLocal(folder: string, rel: string, content: string): Promise<void> {
  const abs = join(folder, ...rel.split('/'));
  await mkdir(join(abs, '..'), { recursive: true });
  await writeFile(abs, content);
  await age(abs);
}

describe('command line (the client as a process)', () => {
  it('an unknown option, a --server with a path, credentials in the URL: exit 2, one line', async () => {
    const [unknown, withPath, withUser] = await Promise.all([
      runClient([work, '--once', '--bogus'], { CB_TOKEN: 'T' }),
      runClient([work, '--once', '--server', `${s.url}/files/alice`], { CB_TOKEN: 'T' }),
      runClient([work, '--once', '--server', 'http://alice:cb_secret@127.0.0.1:1'], { CB_TOKEN: 'T' }),
    ]);
    expect(unknown.code).toBe(2);
    expect(unknown.output.trim()).toBe('cloud-backup client: unknown option --bogus (--help for usage)');
    expect(withPath.code).toBe(2);
    expect(withPath.output.trim()).toBe(`cloud-backup client: --server: no path, please: the server's address is ${s.url} (got "${s.url}/files/alice") (--help for usage)`);
    expect(withUser.code).toBe(2);
    expect(withUser.output).toMatch(/no user or password in the URL/);
    expect(withUser.output).not.toContain('cb_secret');
  }, CHILD_TEST_MS);

  it('https:// against the plain-HTTP server says so at once instead of retrying', async () => {
    const { folder, state } = await freshFolder('tls');
    const httpsUrl = s.url.replace(/^http:/, 'https:');
    const r = await runClient([folder, '--once', '--state', state, '--server', httpsUrl], { CB_TOKEN: s.tokens.alice });
    expect(r.code).toBe(1);
    expect(r.output).toContain(`error     ${httpsUrl} does not speak TLS (it answers plain HTTP): use --server ${s.url}`);
    expect(r.output).not.toMatch(/waiting/);
  }, CHILD_TEST_MS);

  it('--token-file: backs up, and the token never shows in the output', async () => {
    const { folder, state, base } = await freshFolder('tokfile');
    await putLocal(folder, 'a.txt', 'from a token file');
    const tokenFile = join(base, 'token');
    await writeFile(tokenFile, `${s.tokens.alice}\n`);
    await chmod(tokenFile, 0o600);
    const r = await runClient([folder, '--once', '--state', state, '--server', s.url, '--token-file', tokenFile]);
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/uploaded  a\.txt/);
    expect(await serverFile(s, 'alice/tokfile/a.txt')).toMatchObject({ status: 200, sha256: sha256('from a token file') });
    // Neither the token nor its secret half appears anywhere, even with --token (which warns).
    const secret = s.tokens.alice.split('.').at(-1) as string;
    expect(r.output).not.toContain(secret);
    const flag = await runClient([folder, '--once', '--state', state, '--server', s.url, '--token', s.tokens.alice]);
    expect(flag.code).toBe(0);
    expect(flag.output).toMatch(/note: --token on the command line is visible to other users/);
    expect(flag.output).not.toContain(secret);
  }, CHILD_TEST_MS);

  it('names are escaped in the output: a newline cannot forge a line, bidi overrides show', async () => {
    const { folder, state } = await freshFolder('names');
    // The server refuses the control character; the name must still be one visible line.
    await putLocal(folder, 'evil\nuploaded  forged.txt', 'refused');
    await putLocal(folder, 'invoice_\u202efdp.exe', 'stored, shown escaped');
    const r = await runClient([folder, '--once', '--state', state, '--server', s.url], { CB_TOKEN: s.tokens.alice });
    expect(r.code).toBe(1);
    const lines = r.output.split('\n');
    expect(lines.some((l) => l.startsWith('uploaded  forged.txt'))).toBe(false);
    expect(lines).toContainEqual(expect.stringMatching(/^failed {4}evil\\nuploaded {2}forged\.txt: server refused: 400 /));
    expect(lines).toContain('uploaded  invoice_\\u{202e}fdp.exe (21 B)');
    expect(r.output).not.toMatch(/[\u202e\u0000-\u0009\u000b-\u001f]/);
    expect(r.output).toMatch(/1 uploaded, 0 linked, 0 unchanged, 0 deferred, 1 failed/);
    expect(await serverFile(s, 'alice/names/invoice_\u202efdp.exe')).toMatchObject({ status: 200 });
  }, CHILD_TEST_MS);
});

describe('watch mode reports', () => {
  it('numbers only the passes that did something: quiet rescans leave no gaps', async () => {
    const { folder, state } = await freshFolder('numbered');
    await putLocal(folder, 'first.txt', 'first');
    const cap = captureOutput();
    const w = startWatching(clientConfig(folder, s, s.tokens.alice, state, ['--settle', '0', '--interval', '1s']), { out: cap.out, debounceMs: 100, ...QUICK });
    try {
      await w.ready;
      // Two rescans that found nothing to do.
      await waitFor('three passes', () => w.passes.length >= 3);
      await putLocal(folder, 'second.txt', 'second');
      await waitFor('second.txt on the server', async () => (await serverFile(s, 'alice/numbered/second.txt')).status === 200);
      await waitFor('two pass summaries', () => cap.lines().filter((l) => l.startsWith('pass ')).length >= 2);
    } finally {
      await w.stop();
    }
    const summaries = cap.lines().filter((l) => l.startsWith('pass '));
    expect(summaries.map((l) => l.split(' ')[1])).toEqual(summaries.map((_, i) => String(i + 1)));
    expect(summaries[0]).toMatch(/^pass 1 \(full scan\) done in .*: 1 uploaded/);
    expect(summaries[1]).toMatch(/^pass 2 \((changes|full scan)\) done in .*: 1 uploaded/);
    expect((await listServer(s, 'alice/numbered/')).map((f) => f.path).sort()).toEqual(['alice/numbered/first.txt', 'alice/numbered/second.txt']);
  });
});

/** The server's side, changed behind the client's back (as fsck --repair or another tool would). */
async function serverDelete(remote: string): Promise<void> {
  const res = await fetch(`${s.url}/files/${encodeRemotePath(remote)}`, { method: 'DELETE', headers: s.auth('alice') });
  expect(res.status).toBe(204);
}

async function serverPut(remote: string, body: string): Promise<void> {
  const res = await fetch(`${s.url}/files/${encodeRemotePath(remote)}`, { method: 'PUT', headers: s.auth('alice'), body });
  expect(res.status).toBeLessThan(300);
  await res.body?.cancel();
}

const listed = async (prefix: string) => (await listServer(s, prefix)).map((f) => f.path).sort();

describe('every full scan checks the server', () => {
  it('sends again what the server lost or holds with another hash, and says so', async () => {
    const { folder, state } = await freshFolder('checked');
    await putLocal(folder, 'lost.txt', 'the server will lose me');
    await putLocal(folder, 'sub/changed.txt', 'the server will hold other bytes');
    await putLocal(folder, 'fine.txt', 'left alone');
    const run = () => runClient([folder, '--once', '--state', state, '--server', s.url], { CB_TOKEN: s.tokens.alice });
    expect((await run()).code).toBe(0);

    await serverDelete('alice/checked/lost.txt');
    await serverPut('alice/checked/sub/changed.txt', 'overwritten on the server');
    const r = await run();
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/^repaired {2}lost\.txt \(the server had lost it; (sent again|linked), 23 B\)$/m);
    expect(r.output).toMatch(/^repaired {2}sub\/changed\.txt \(the server held other content; (sent again|linked), 32 B\)$/m);
    expect(r.output).toMatch(/0 uploaded, 0 linked, 1 unchanged, 0 deferred, 0 failed, 0 skipped, 2 repaired;/);
    expect(await serverFile(s, 'alice/checked/lost.txt')).toMatchObject({ status: 200, sha256: sha256('the server will lose me') });
    expect(await serverFile(s, 'alice/checked/sub/changed.txt')).toMatchObject({ status: 200, sha256: sha256('the server will hold other bytes') });

    // Repaired once: the next scan finds everything in place.
    const again = await run();
    expect(again.output).toMatch(/0 uploaded, 0 linked, 3 unchanged, 0 deferred, 0 failed, 0 skipped;/);
  }, CHILD_TEST_MS);
});

describe('local deletions', () => {
  it('a file or folder deleted here is deleted on the server; what the client never sent is left alone', async () => {
    const { folder, state } = await freshFolder('deleting');
    await putLocal(folder, 'keep.txt', 'keep');
    await putLocal(folder, 'gone.txt', 'gone');
    await putLocal(folder, 'old dir/one.txt', 'one');
    await putLocal(folder, 'old dir/deeper/two.txt', 'two');
    await putLocal(folder, 'old dir2/kept.txt', 'a sibling whose name starts the same');
    const run = (extra: string[] = []) => runClient([folder, '--once', '--state', state, '--server', s.url, '--settle', '1s', ...extra], { CB_TOKEN: s.tokens.alice });
    expect((await run()).code).toBe(0);
    // Put there by someone else (the browser, curl): not the client's to delete.
    await serverPut('alice/deleting/uploaded elsewhere.txt', 'not ours');

    await unlink(join(folder, 'gone.txt'));
    await rm(join(folder, 'old dir'), { recursive: true });
    const r = await run();
    expect(r.code, r.output).toBe(0);
    const deleted = r.output.split('\n').filter((l) => l.startsWith('deleted')).sort();
    expect(deleted).toEqual([
      'deleted   gone.txt (gone locally; the server keeps its history)',
      'deleted   old dir/deeper/two.txt (gone locally; the server keeps its history)',
      'deleted   old dir/one.txt (gone locally; the server keeps its history)',
    ]);
    expect(r.output).toMatch(/0 uploaded, 0 linked, 2 unchanged, 0 deferred, 0 failed, 0 skipped, 3 deleted;/);
    expect(await listed('alice/deleting/')).toEqual(['alice/deleting/keep.txt', 'alice/deleting/old dir2/kept.txt', 'alice/deleting/uploaded elsewhere.txt']);
    const db = new StateDb(state);
    try {
      expect(db.getFile('gone.txt')).toBeUndefined();
      expect(db.countMissing()).toBe(0);
      expect(db.countFiles()).toBe(2);
    } finally {
      db.close();
    }
    // Nothing more to delete.
    expect((await run()).output).not.toMatch(/deleted/);
  }, CHILD_TEST_MS);

  it('waits for --settle before deleting (across runs), and --keep-deleted sends no deletion', async () => {
    const { folder, state } = await freshFolder('patient-delete');
    await putLocal(folder, 'a.txt', 'a');
    await putLocal(folder, 'b.txt', 'b');
    const run = (extra: string[]) => runClient([folder, '--once', '--state', state, '--server', s.url, ...extra], { CB_TOKEN: s.tokens.alice });
    expect((await run([])).code).toBe(0);

    await unlink(join(folder, 'a.txt'));
    const early = await run(['--settle', '1h']);
    expect(early.code, early.output).toBe(0);
    expect(early.output).toMatch(/^deferred {2}a\.txt \(gone locally; deleted on the server once gone for 1h00m\)$/m);
    expect(early.output).toMatch(/1 deferred/);
    expect(await listed('alice/patient-delete/')).toEqual(['alice/patient-delete/a.txt', 'alice/patient-delete/b.txt']);
    // The time it has been gone is kept: a later run with a shorter settle deletes it.
    const later = await run(['--settle', '0']);
    expect(later.output).toMatch(/^deleted {3}a\.txt /m);
    expect(await listed('alice/patient-delete/')).toEqual(['alice/patient-delete/b.txt']);

    await unlink(join(folder, 'b.txt'));
    const kept = await run(['--settle', '0', '--keep-deleted']);
    expect(kept.code).toBe(0);
    expect(kept.output).not.toMatch(/deleted/);
    expect(await listed('alice/patient-delete/')).toEqual(['alice/patient-delete/b.txt']);
    // Forgotten by the state: a later run without the flag does not delete it either.
    expect((await run(['--settle', '0'])).output).not.toMatch(/deleted/);
    expect(await listed('alice/patient-delete/')).toEqual(['alice/patient-delete/b.txt']);
  }, CHILD_TEST_MS);

  it('watch mode deletes what disappears, once it has been gone for --settle', async () => {
    const { folder, state } = await freshFolder('watch-delete');
    await putLocal(folder, 'stays.txt', 'stays');
    await putLocal(folder, 'goes/away.txt', 'away');
    const cap = captureOutput();
    const w = startWatching(clientConfig(folder, s, s.tokens.alice, state, ['--settle', '300ms']), { out: cap.out, debounceMs: 100, ...QUICK });
    try {
      await w.ready;
      expect(await listed('alice/watch-delete/')).toEqual(['alice/watch-delete/goes/away.txt', 'alice/watch-delete/stays.txt']);
      await rm(join(folder, 'goes'), { recursive: true });
      await waitFor('the delete on the server', async () => (await listed('alice/watch-delete/')).length === 1);
      // The server commits the delete before the client prints its line: wait for both.
      await waitFor('the deleted line', () => cap.lines().some((l) => l.startsWith('deleted   goes/away.txt')));
    } finally {
      await w.stop();
    }
    expect(await listed('alice/watch-delete/')).toEqual(['alice/watch-delete/stays.txt']);
    expect(cap.lines()).toContain('deleted   goes/away.txt (gone locally; the server keeps its history)');
  });
});

describe('what is left out, and what cannot be stored', () => {
  it('--exclude and .cbignore rules, one line for all symbolic links, a non-UTF-8 name fails visibly', async () => {
    const { folder, state } = await freshFolder('rules');
    await putLocal(folder, 'doc.txt', 'doc');
    await putLocal(folder, 'scratch.tmp', 'excluded by --exclude');
    await putLocal(folder, 'build/out.bin', 'excluded folder');
    await putLocal(folder, 'app.log', 'excluded by the top .cbignore');
    await putLocal(folder, '.cbignore', '# top rules\n*.log\n');
    await putLocal(folder, 'sub/.cbignore', 'secret.txt\n!keep.log\n');
    await putLocal(folder, 'sub/secret.txt', 'excluded below sub');
    await putLocal(folder, 'sub/keep.log', 're-included below sub');
    await putLocal(folder, 'secret.txt', 'sub/.cbignore does not reach up here');
    for (const n of ['one', 'two', 'three']) await symlink(join(folder, 'doc.txt'), join(folder, `link-${n}`));
    // Latin-1 "café.txt": not UTF-8.
    await writeFile(Buffer.concat([Buffer.from(`${folder}/caf`), Buffer.from([0xe9]), Buffer.from('.txt')]), 'latin-1 name');

    const r = await runClient([folder, '--once', '--state', state, '--server', s.url, '--exclude', '*.tmp', '--exclude', 'build/'], { CB_TOKEN: s.tokens.alice });
    expect(r.code, r.output).toBe(1);
    expect(await listed('alice/rules/')).toEqual(['.cbignore', 'doc.txt', 'secret.txt', 'sub/.cbignore', 'sub/keep.log'].map((p) => `alice/rules/${p}`));
    const lines = r.output.split('\n');
    expect(lines).toContain('failed    caf\\xe9.txt: the name is not valid UTF-8, so the server cannot store it; rename it to back it up');
    expect(lines.filter((l) => l.startsWith('skipped'))).toEqual(['skipped   3 symbolic links (not followed: a link\'s target is backed up where it lives, if inside the folder)']);
    expect(r.output).toMatch(/5 uploaded, 0 linked, 0 unchanged, 0 deferred, 1 failed, 3 skipped, 4 excluded;/);

    // Once excluded, a file already backed up is left on the server (it was not deleted here).
    await putLocal(folder, '.cbignore', '*.log\ndoc.txt\n');
    const again = await runClient([folder, '--once', '--state', state, '--server', s.url, '--settle', '0'], { CB_TOKEN: s.tokens.alice });
    expect(again.output).not.toMatch(/deleted/);
    expect(await listed('alice/rules/')).toContain('alice/rules/doc.txt');
  }, CHILD_TEST_MS);
});

describe('interrupted', () => {
  it('Ctrl+C counts the file in flight and its bytes in the summary', async () => {
    const { folder, state } = await freshFolder('cut');
    const size = 4 * 1024 * 1024;
    await writeRandomFile(join(folder, 'big.bin'), size);
    await age(join(folder, 'big.bin'));
    const c = spawnClient([folder, '--once', '--state', state, '--server', s.url, '--limit-rate', '256K'], { CB_TOKEN: s.tokens.alice });
    // The upload is under way once the server writes it into tmp/.
    const tmp = join(s.dataDir, 'tmp');
    await waitFor('bytes of the upload in the server tmp folder', async () => {
      for (const f of await readdir(tmp).catch(() => [])) if ((await stat(join(tmp, f)).catch(() => undefined))?.size) return true;
      return false;
    }, 60_000, 20);
    c.child.kill('SIGINT');
    const code = await c.exited;
    const out = c.output();
    expect(code, out).toBe(1);
    const m = /^stopped {3}big\.bin \(([\d.]+) (KiB|MiB) of 4\.00 MiB sent\)$/m.exec(out);
    expect(m, out).not.toBeNull();
    expect(out).toMatch(/^pass 1 \(full scan\) stopped after .*: 0 uploaded, .* 1 interrupted; [\d.]+ (KiB|MiB) sent/m);
    expect((await serverFile(s, 'alice/cut/big.bin')).status).toBe(404);
  }, CHILD_TEST_MS);
});
