import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { appendFile, mkdir, mkdtemp, open, rename, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupClient, runOnce, type OnceResult } from '../../client/backup.js';
import { StateDb } from '../../client/state-db.js';
import { startWatching } from '../../client/watcher.js';
import { sha256, sha256File, writeRandomFile } from '../helpers/bytes.js';
import { waitFor, waitForValue } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { age, captureOutput, CHILD_TEST_MS, clientConfig, listServer, QUICK, runClient, serverFile } from '../client/helpers.js';

let s: TestServer;
let work: string;

beforeAll(async () => {
  s = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'cb-client-'));
});

afterAll(async () => {
  await s.stop();
  await rm(work, { recursive: true, force: true });
});

/** A fresh folder to back up plus a state DB path outside it. */
async function freshFolder(name: string): Promise<{ folder: string; state: string }> {
  const base = await mkdtemp(join(work, 'case-'));
  const folder = join(base, name);
  await mkdir(folder, { recursive: true });
  return { folder, state: join(base, 'state', 'client.sqlite') };
}

async function once(folder: string, state: string, extra: string[] = []): Promise<OnceResult & { lines: string[] }> {
  const cap = captureOutput();
  const r = await runOnce(clientConfig(folder, s, s.tokens.alice, state, extra), { out: cap.out, ...QUICK });
  return { ...r, lines: cap.lines() };
}

describe('backup client against the real server', () => {
  // One tree, backed up pass after pass: each test builds on the previous one.
  let folder: string;
  let state: string;
  const files: Record<string, string> = {};
  const remote = (rel: string) => `alice/My Docs/${rel}`;

  async function put(rel: string, content: string | Buffer): Promise<void> {
    const abs = join(folder, ...rel.split('/'));
    await mkdir(join(abs, '..'), { recursive: true });
    await writeFile(abs, content);
    await age(abs);
    files[rel] = sha256(content);
  }

  beforeAll(async () => {
    ({ folder, state } = await freshFolder('My Docs'));
    await put('readme.txt', 'hello\n');
    await put('empty', '');
    await put('Grüße/名前 mit Leerzeichen.txt', 'unicode names\n');
    await put('a/b/c/d/deep.json', '{"deep":true}\n');
    await put('Café/NFD-Cafe\u0301.txt', 'decomposed é stays decomposed\n');
    await put('spaces in dir/ file with  spaces .txt', 'spaces\n');
    await put('100% #hash?.txt', 'url-special characters\n');
    // Two files whose names differ only in case are two files (on Linux).
    await put('case/Readme.txt', 'mixed case\n');
    await put('case/README.txt', 'upper case\n');
    const big = join(folder, 'media', 'five-mb.bin');
    await mkdir(join(folder, 'media'));
    files['media/five-mb.bin'] = await writeRandomFile(big, 5 * 1024 * 1024);
    await age(big);
  });

  it('backs up a nested tree with Unicode names, spaces, an empty and a 5 MB file', async () => {
    const r = await once(folder, state);
    expect(r.error).toBeUndefined();
    expect(r.exitCode).toBe(0);
    expect(r.summary).toMatchObject({ uploaded: Object.keys(files).length, linked: 0, failed: 0, deferred: 0 });
    for (const [rel, sha] of Object.entries(files)) {
      expect(await serverFile(s, remote(rel)), rel).toMatchObject({ status: 200, sha256: sha });
    }
    const listed = await listServer(s, 'alice/My Docs/');
    expect(listed.map((f) => f.path).sort()).toEqual(Object.keys(files).map(remote).sort());
    expect(r.lines.some((l) => l.startsWith('uploaded  media/five-mb.bin (5.00 MiB'))).toBe(true);
    expect(r.lines.at(-1)).toMatch(/^pass 1 \(full scan\) done in .*: 10 uploaded, 0 linked, 0 unchanged, 0 deferred, 0 failed, 0 skipped; 5\.00 MiB sent/);
  });

  it('a second pass sends nothing', async () => {
    // What a write would change (lastAccess moves with the reads above, on the server's schedule).
    const written = async () => (await listServer(s, 'alice/My Docs/')).map(({ path, sha256, size, mtime, uploadedAt }) => ({ path, sha256, size, mtime, uploadedAt }));
    const before = await written();
    const r = await once(folder, state);
    expect(r.exitCode).toBe(0);
    expect(r.summary).toMatchObject({ uploaded: 0, linked: 0, unchanged: Object.keys(files).length, bytesSent: 0 });
    expect(await written()).toEqual(before);
  });

  it('sends only the modified and the added file', async () => {
    const before = new Map((await listServer(s, 'alice/My Docs/')).map((f) => [f.path, f.uploadedAt]));
    await put('readme.txt', 'hello, changed\n');
    await put('a/b/new file.txt', 'new\n');
    const r = await once(folder, state);
    expect(r.summary).toMatchObject({ uploaded: 2, linked: 0, unchanged: Object.keys(files).length - 2 });
    expect(r.summary?.bytesSent).toBe(Buffer.byteLength('hello, changed\n') + Buffer.byteLength('new\n'));
    expect(r.lines.filter((l) => l.startsWith('uploaded')).sort()).toEqual([
      'uploaded  a/b/new file.txt (4 B)',
      'uploaded  readme.txt (15 B)',
    ]);
    for (const f of await listServer(s, 'alice/My Docs/')) {
      expect(f.sha256, f.path).toBe(files[f.path.slice('alice/My Docs/'.length)]);
      const rel = f.path.slice('alice/My Docs/'.length);
      if (rel !== 'readme.txt' && rel !== 'a/b/new file.txt') expect(f.uploadedAt, f.path).toBe(before.get(f.path));
    }
  });

  it('a touched file with the same content is recorded without sending', async () => {
    await age(join(folder, 'Grüße', '名前 mit Leerzeichen.txt'), 30);
    const r = await once(folder, state);
    expect(r.summary).toMatchObject({ uploaded: 0, linked: 0, bytesSent: 0, unchanged: Object.keys(files).length });
  });

  it('identical content under a new name is linked, not sent', async () => {
    await rename(join(folder, 'media', 'five-mb.bin'), join(folder, 'media', 'renamed.bin'));
    files['media/renamed.bin'] = files['media/five-mb.bin'] as string;
    delete files['media/five-mb.bin'];
    const r = await once(folder, state);
    expect(r.summary).toMatchObject({ uploaded: 0, linked: 1, bytesSent: 0 });
    expect(r.lines).toContain('linked    media/renamed.bin (5.00 MiB, content already on the server)');
    expect(await serverFile(s, remote('media/renamed.bin'))).toMatchObject({ status: 200, sha256: files['media/renamed.bin'] });
  });

  it('leaves a file modified within --settle for the next pass', async () => {
    const abs = join(folder, 'just-written.txt');
    await writeFile(abs, 'still being written');
    const r = await once(folder, state, ['--settle', '1h']);
    expect(r.exitCode).toBe(0);
    expect(r.summary).toMatchObject({ uploaded: 0, deferred: 1 });
    expect(r.lines.some((l) => l.startsWith('deferred  just-written.txt'))).toBe(true);
    expect((await serverFile(s, remote('just-written.txt'))).status).toBe(404);
    // Once it has settled, the next pass takes it.
    await age(abs, 5);
    const next = await once(folder, state, ['--settle', '2s']);
    expect(next.summary).toMatchObject({ uploaded: 1, deferred: 0 });
    expect(await serverFile(s, remote('just-written.txt'))).toMatchObject({ status: 200, sha256: sha256('still being written') });
  });

  it('as a child process: --once exits 0 when all is backed up', async () => {
    await put('from-child.txt', 'child process\n');
    const r = await runClient([folder, '--once', '--state', state], { CB_SERVER: s.url, CB_TOKEN: s.tokens.alice });
    expect(r.output).toMatch(/uploaded  from-child\.txt/);
    expect(r.code).toBe(0);
    expect(await serverFile(s, remote('from-child.txt'))).toMatchObject({ status: 200, sha256: files['from-child.txt'] });
  }, CHILD_TEST_MS);
});

describe('failures', () => {
  it('a file the server refuses does not stop the others; --once exits 1', async () => {
    const { folder, state } = await freshFolder('mixed');
    // A control character in a name: fine on Linux, refused by the server's path rules (400).
    await writeFile(join(folder, 'bad\u0001name.txt'), 'refused');
    await writeFile(join(folder, 'good-1.txt'), 'one');
    await writeFile(join(folder, 'good-2.txt'), 'two');
    execFileSync('mkfifo', [join(folder, 'a-fifo')]);
    for (const n of ['bad\u0001name.txt', 'good-1.txt', 'good-2.txt']) await age(join(folder, n));

    const r = await runClient([folder, '--once', '--state', state, '--server', s.url, '--token', s.tokens.alice]);
    expect(r.code).toBe(1);
    expect(r.output).toMatch(/failed {4}bad\\x01name\.txt: server refused: 400 bad path: control characters/);
    expect(r.output).toMatch(/skipped {3}a-fifo \(not a regular file\)/);
    expect(r.output).toMatch(/2 uploaded, 0 linked, 0 unchanged, 0 deferred, 1 failed, 1 skipped/);
    expect(await serverFile(s, 'alice/mixed/good-1.txt')).toMatchObject({ status: 200, sha256: sha256('one') });
    expect(await serverFile(s, 'alice/mixed/good-2.txt')).toMatchObject({ status: 200, sha256: sha256('two') });
    // The refused file was never recorded: it is tried again next time.
    const db = new StateDb(state);
    try {
      expect(db.getFile('bad\u0001name.txt')).toBeUndefined();
      expect(db.getFile('good-1.txt')?.sha256).toBe(sha256('one'));
    } finally {
      db.close();
    }
  }, CHILD_TEST_MS);

  it('never backs up its own state DB, even when told to keep it inside the folder', async () => {
    const { folder } = await freshFolder('self');
    await writeFile(join(folder, 'doc.txt'), 'doc');
    await age(join(folder, 'doc.txt'));
    // --settle 0: a DB being written would otherwise just be deferred, hiding a missing skip.
    const r = await once(folder, join(folder, '.cloud-backup-state.sqlite'), ['--settle', '0']);
    expect(r.exitCode).toBe(0);
    expect((await listServer(s, 'alice/self/')).map((f) => f.path)).toEqual(['alice/self/doc.txt']);
  });

  it('bad usage exits 2 with one clear line', async () => {
    const [noToken, badFlag, missing] = await Promise.all([
      runClient([work, '--once']),
      runClient([work, '--once', '--token', 'T', '--limit-rate', 'fast']),
      runClient([join(work, 'does-not-exist'), '--once', '--token', 'T']),
    ]);
    expect(noToken.code).toBe(2);
    expect(noToken.output.trim()).toMatch(/^cloud-backup client: no token: pass --token-file PATH or set CB_TOKEN/);
    expect(noToken.output.trim().split('\n')).toHaveLength(1);
    expect(badFlag.code).toBe(2);
    expect(badFlag.output).toMatch(/--limit-rate/);
    expect(missing.code).toBe(2);
    expect(missing.output).toMatch(/not a folder/);
  }, CHILD_TEST_MS);

  it('a refused token fails --once with exit 1 and says why', async () => {
    const { folder, state } = await freshFolder('tok');
    const r = await once(folder, state, ['--token', 'cb_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA']);
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/refused the token/);
  });

  it('a server that is down is retried, then --once gives up with exit 1', async () => {
    const { folder, state } = await freshFolder('down');
    await writeFile(join(folder, 'x.txt'), 'x');
    const port = await freePort();
    const cap = captureOutput();
    const r = await runOnce(clientConfig(folder, { url: `http://127.0.0.1:${port}` }, s.tokens.alice, state), { out: cap.out, ...QUICK });
    expect(r.exitCode).toBe(1);
    expect(r.error).toMatch(/cannot reach the server/);
    expect(cap.text()).toMatch(/waiting {3}server .* not reachable/);
  });

  it('a server that comes back while the client retries gets the files', async () => {
    const { folder, state } = await freshFolder('late');
    await writeFile(join(folder, 'late.txt'), 'late');
    await age(join(folder, 'late.txt'));
    const { url, port, dataDir, token } = await stoppedServer();
    const cap = captureOutput();
    const pending = runOnce(clientConfig(folder, { url }, token, state), {
      out: cap.out,
      connectRetry: { attempts: 300, baseMs: 100, maxMs: 200 },
    });
    await waitFor('the client to find the server down', () => cap.text().includes('not reachable'));
    const again = await startTestServer({ port }, { dataDir });
    try {
      const r = await pending;
      expect(r.exitCode).toBe(0);
      expect(r.summary?.uploaded).toBe(1);
      expect(await serverFile(again, 'alice/late/late.txt')).toMatchObject({ status: 200, sha256: sha256('late') });
    } finally {
      await again.stop();
    }
  });
});

describe('rate limit and changes during upload', () => {
  it('--limit-rate is one shared cap: the limiter accounts for every byte sent', async () => {
    const { folder, state } = await freshFolder('rated');
    let total = 0;
    for (const n of ['a', 'b', 'c']) {
      await writeRandomFile(join(folder, n), 300 * 1024);
      await age(join(folder, n));
      total += 300 * 1024;
    }
    const r = await once(folder, state, ['--limit-rate', '1M', '--concurrency', '3']);
    expect(r.exitCode, r.lines.join('\n')).toBe(0);
    expect(r.summary?.bytesSent).toBe(total);
    expect(r.limiter?.bytes).toBe(total);
    expect(r.limiter?.waits).toBeGreaterThan(0);
    // The three uploads shared one cap: beyond the first burst (1M/8) every byte needed time at
    // 1 MiB/s by the limiter's own clock (a busy machine only makes the span longer).
    const burst = 128 * 1024;
    expect(r.limiter?.spanMs).toBeGreaterThanOrEqual(((total - burst) / (1024 * 1024)) * 1000 - 1);
  });

  /**
   * One pass over `folder` at 1 MiB/s; `meddle` runs once the body is on its way (256 KiB through
   * the limiter), so the change lands mid-upload however busy the machine is.
   */
  async function passWhileSending(folder: string, state: string, meddle: () => Promise<void>) {
    const cap = captureOutput();
    // --settle 0: the file was just touched; the point is the re-send, not the settle rule.
    const client = new BackupClient(clientConfig(folder, s, s.tokens.alice, state, ['--limit-rate', '1M', '--settle', '0']), { out: cap.out, ...QUICK });
    try {
      await client.connect(QUICK.connectRetry);
      const pass = client.fullPass();
      await waitFor('256 KiB through the rate limiter', () => (client.bucket?.stats.bytes ?? 0) > 256 * 1024, 30_000, 5);
      await meddle();
      return { summary: await pass, output: cap.text() };
    } finally {
      client.close();
    }
  }

  it('a file overwritten while it is sent is sent again, never recorded with the old hash', async () => {
    const { folder, state } = await freshFolder('moving');
    const abs = join(folder, 'moving.bin');
    const size = 2 * 1024 * 1024;
    await writeRandomFile(abs, size);
    await age(abs, 120);
    // New bytes at the end, ahead of what has been read: the streamed hash no longer matches.
    const { summary, output } = await passWhileSending(folder, state, async () => {
      const fh = await open(abs, 'r+');
      await fh.write(randomBytes(64 * 1024), 0, 64 * 1024, size - 64 * 1024);
      await fh.close();
    });
    const newSha = await sha256File(abs);
    expect(summary, output).toMatchObject({ uploaded: 1, failed: 0 });
    expect(await serverFile(s, 'alice/moving/moving.bin')).toMatchObject({ status: 200, sha256: newSha });
    const db = new StateDb(state);
    try {
      expect(db.getFile('moving.bin')?.sha256).toBe(newSha);
    } finally {
      db.close();
    }
  });

  it('a file that grows while it is sent ends up complete on the server', async () => {
    const { folder, state } = await freshFolder('growing');
    const abs = join(folder, 'log.txt');
    await writeFile(abs, 'x'.repeat(1024 * 1024));
    await age(abs, 120);
    const { summary, output } = await passWhileSending(folder, state, () => appendFile(abs, 'appended while uploading\n'));
    expect(summary.failed, output).toBe(0);
    expect(output).toMatch(/changed   log\.txt while it was sent|uploaded  log\.txt/);
    expect(await serverFile(s, 'alice/growing/log.txt')).toMatchObject({ status: 200, sha256: await sha256File(abs), size: 1024 * 1024 + 25 });
  });
});

describe('watch mode', () => {
  it('sees a new file arrive on the server, then stops', async () => {
    const { folder, state } = await freshFolder('watched');
    await writeFile(join(folder, 'before.txt'), 'before');
    await age(join(folder, 'before.txt'));
    const cap = captureOutput();
    const w = startWatching(clientConfig(folder, s, s.tokens.alice, state, ['--settle', '200ms']), { out: cap.out, debounceMs: 100, ...QUICK });
    try {
      await w.ready;
      expect(await serverFile(s, 'alice/watched/before.txt')).toMatchObject({ status: 200, sha256: sha256('before') });
      await mkdir(join(folder, 'new dir', 'inner'), { recursive: true });
      await writeFile(join(folder, 'new dir', 'inner', 'arrived.txt'), 'arrived');
      await writeFile(join(folder, 'top.txt'), 'top');
      const got = await waitForValue('arrived.txt on the server', async () => {
        const f = await serverFile(s, 'alice/watched/new dir/inner/arrived.txt');
        return f.status === 200 ? f : undefined;
      });
      expect(got.sha256).toBe(sha256('arrived'));
      await waitFor('top.txt on the server', async () => (await serverFile(s, 'alice/watched/top.txt')).status === 200);
      // Each file went up once (a new folder yields events for itself and its content).
      expect(cap.lines().filter((l) => l.startsWith('uploaded  new dir/inner/arrived.txt'))).toHaveLength(1);
    } finally {
      await w.stop();
    }
    await w.done;
  });

  it('waits for a server that is down and backs up once it is there', async () => {
    const { folder, state } = await freshFolder('patient');
    await writeFile(join(folder, 'waiting.txt'), 'waited for');
    await age(join(folder, 'waiting.txt'));
    const { url, port, dataDir, token } = await stoppedServer();
    const cap = captureOutput();
    const w = startWatching(clientConfig(folder, { url }, token, state), {
      out: cap.out,
      debounceMs: 100,
      connectRetry: { attempts: Infinity, baseMs: 100, maxMs: 300 },
    });
    let again: TestServer | undefined;
    try {
      await waitFor('the client to find the server down', () => cap.text().includes('not reachable'));
      again = await startTestServer({ port }, { dataDir });
      await w.ready;
      const server = again;
      await waitFor('waiting.txt on the server', async () => (await serverFile(server, 'alice/patient/waiting.txt')).status === 200);
      expect((await serverFile(server, 'alice/patient/waiting.txt')).sha256).toBe(sha256('waited for'));
    } finally {
      await w.stop();
      await again?.stop();
    }
  });
});

/**
 * A server that ran once and is now down: its port, data dir and alice's token, so the test can
 * start it again on the same port (same tokens) while the client is waiting.
 */
async function stoppedServer(): Promise<{ url: string; port: number; dataDir: string; token: string }> {
  const dataDir = await mkdtemp(join(tmpdir(), 'cb-down-'));
  const first = await startTestServer({}, { dataDir, keepData: true });
  const { port } = first.server;
  const token = first.tokens.alice;
  await first.stop();
  return { url: `http://127.0.0.1:${port}`, port, dataDir, token };
}

/** A port nothing listens on (bound, then released). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
