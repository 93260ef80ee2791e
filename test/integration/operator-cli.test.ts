import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEntry } from '../helpers/cli.js';
import { waitFor } from '../helpers/wait.js';
import { addClientToDataDir, makeDataDir, spawnServer, startTestServer } from '../helpers/server.js';

const server = (args: string[]) => runEntry('adapters/node/main.ts', ['--host', '127.0.0.1', '--port', '0', ...args]);
const admin = (args: string[], env: NodeJS.ProcessEnv = {}) => runEntry('adapters/node/admin.ts', args, env);

/** A scratch folder for the whole file, with a plain file in it to pass where a folder belongs. */
let work: string;
beforeAll(async () => {
  work = await makeDataDir();
  await writeFile(join(work, 'a-file'), 'not a directory');
});
afterAll(async () => {
  await rm(work, { recursive: true, force: true });
});

describe('server configuration errors: one line, exit 2', () => {

  it.each([
    ['a file as --data', () => ['--data', join(work, 'a-file')], () => `cloud-backup: --data: ${join(work, 'a-file')} is not a directory`],
    ['a path through a file', () => ['--data', join(work, 'a-file', 'sub')], () => `cloud-backup: --data: cannot use ${join(work, 'a-file', 'sub')} (ENOTDIR)`],
    ['a malformed --host', () => ['--data', join(work, 'd'), '--host', 'not_a_host!'], () => 'cloud-backup: --host: expected an IP address or a host name, got "not_a_host!"'],
    ['an unknown --log-format', () => ['--data', join(work, 'd'), '--log-format', 'xml'], () => 'cloud-backup: --log-format: expected text or json, got "xml"'],
  ])('%s', async (_what, args, line) => {
    const r = await server(args());
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe(line());
  });

  it('says "cannot listen" for a port that is taken, and only then', async () => {
    const taken: Server = createServer();
    await new Promise<void>((res) => taken.listen(0, '127.0.0.1', res));
    try {
      const port = (taken.address() as { port: number }).port;
      const r = await server(['--data', join(work, 'listen'), '--port', String(port)]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n')).toEqual([`cloud-backup: cannot listen: listen EADDRINUSE: address already in use 127.0.0.1:${port}`]);
    } finally {
      await new Promise((res) => taken.close(res));
    }
  });
});

describe('server logs', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await makeDataDir();
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('tells how to add the first client when there is none', async () => {
    const srv = await spawnServer(dataDir);
    try {
      const hint = `no clients yet: every request but /healthz is refused until you add one with: npm run admin -- add-client NAME --data ${dataDir}`;
      await waitFor('the hint', () => srv.output().includes(hint));
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('writes one JSON access line per request with the client, and never a token or a query', async () => {
    const token = await addClientToDataDir(dataDir, 'alice');
    const srv = await spawnServer(dataDir, ['--log-format', 'json']);
    try {
      const body = 'x'.repeat(1000);
      const put = await fetch(`${srv.url}/files/alice/notes/a%20b.txt?secret=hush`, { method: 'PUT', headers: { Authorization: `Bearer ${token}` }, body });
      expect(put.status).toBe(201);
      await put.arrayBuffer();
      const basic = `Basic ${Buffer.from(`alice:${token}`).toString('base64')}`;
      const got = await fetch(`${srv.url}/files/alice/notes/a%20b.txt`, { headers: { Authorization: basic } });
      expect(await got.text()).toBe(body);
      const forged = `Basic ${Buffer.from('mallory:cb_0123456789abcdef.wrongwrongwrongwrongwrongwrongwrongwrongwro').toString('base64')}`;
      expect((await fetch(`${srv.url}/api/whoami`, { headers: { Authorization: forged } })).status).toBe(401);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
    const lines = srv.output().trim().split('\n');
    const records = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(records.every((r) => typeof r.time === 'string' && (r.type === 'log' || r.type === 'access'))).toBe(true);
    // Lines are written as responses finish, which need not be the order the client saw.
    const order = (r: Record<string, unknown>) => `${String(r.path)} ${String(r.method)}`;
    const access = records.filter((r) => r.type === 'access').sort((a, b) => order(a).localeCompare(order(b)));
    expect(access).toMatchObject([
      { method: 'GET', path: '/api/whoami', route: '/api/whoami', status: 401, client: null },
      { method: 'GET', path: '/files/alice/notes/a%20b.txt', route: '/files/*', status: 200, client: 'alice', aborted: false },
      { method: 'PUT', path: '/files/alice/notes/a%20b.txt', route: '/files/*', status: 201, client: 'alice', aborted: false },
    ]);
    expect(access[2]?.bytesIn).toBeGreaterThan(1000);
    expect(access[1]?.bytesOut).toBeGreaterThan(1000);
    expect(typeof access[2]?.ms).toBe('number');
    const all = srv.output();
    expect(all).not.toContain(token);
    expect(all).not.toContain(token.split('.')[1]);
    expect(all).not.toContain('hush');
    expect(all).not.toContain('mallory');
  });

  it('writes text access lines by default, and none with --access-log false', async () => {
    const token = await addClientToDataDir(dataDir, 'bob');
    const auth = { Authorization: `Bearer ${token}` };
    const text = await spawnServer(dataDir);
    try {
      expect((await fetch(`${text.url}/api/whoami`, { headers: auth })).status).toBe(200);
    } finally {
      expect(await text.stop()).toBe(0);
    }
    expect(text.output()).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z GET \/api\/whoami 200 \d+ms in=\d+ out=\d+ client=bob$/m);
    const quiet = await spawnServer(dataDir, ['--access-log', 'false']);
    try {
      expect((await fetch(`${quiet.url}/api/whoami`, { headers: auth })).status).toBe(200);
    } finally {
      expect(await quiet.stop()).toBe(0);
    }
    expect(quiet.output()).not.toContain('/api/whoami');
  });
});

describe('admin and the data directory', () => {

  it('refuses a data directory that does not exist, and creates nothing', async () => {
    const missing = join(work, 'typo');
    for (const args of [['list-clients'], ['add-client', 'carol']]) {
      const r = await admin([...args, '--data', missing]);
      expect(r.code).toBe(2);
      expect(r.stderr.trim()).toBe(`admin: no data directory at ${missing}: pass --data (or CB_DATA_DIR) of the server, or add-client NAME --create to start one`);
    }
    expect(existsSync(missing)).toBe(false);
    const viaEnv = await admin(['list-clients'], { CB_DATA_DIR: missing });
    expect(viaEnv.code).toBe(2);
    expect(existsSync(missing)).toBe(false);
  });

  it('refuses a file, and a directory without a catalog', async () => {
    const file = await admin(['list-clients', '--data', join(work, 'a-file')]);
    expect([file.code, file.stderr.trim()]).toEqual([2, `admin: --data: ${join(work, 'a-file')} is not a directory`]);
    const empty = await admin(['list-clients', '--data', work]);
    expect(empty.code).toBe(2);
    expect(empty.stderr.trim()).toMatch(/holds no catalog \(catalog\.sqlite\)/);
    expect(existsSync(join(work, 'catalog.sqlite'))).toBe(false);
  });

  it('starts a new data directory with add-client --create, which the server then serves', async () => {
    const fresh = join(work, 'new', 'data');
    const added = await admin(['add-client', 'carol', '--create', '--data', fresh]);
    expect(added.code).toBe(0);
    const token = added.stdout.trim().split('\n').pop() as string;
    expect(token).toMatch(/^cb_[0-9a-f]{16}\./);
    const listed = await admin(['list-clients', '--data', fresh]);
    expect(listed.stdout).toMatch(/^carol\tclient\tactive/m);
    const srv = await spawnServer(fresh);
    try {
      expect(await (await fetch(`${srv.url}/api/whoami`, { headers: { Authorization: `Bearer ${token}` } })).json()).toEqual({ name: 'carol', admin: false });
    } finally {
      expect(await srv.stop()).toBe(0);
    }
    expect(srv.output()).not.toContain('no clients yet');
  });
});

describe('admin quota commands', () => {
  it('add-client --quota, set-quota and none; list-clients shows quota and usage', async () => {
    const data = join(work, 'quotas');
    await addClientToDataDir(data, 'alice');
    const added = await admin(['add-client', 'dave', '--quota', '50G', '--data', data]);
    expect(added.code).toBe(0);
    expect(added.stdout).toContain('(quota 50 GiB: its files and their history)');
    const set = await admin(['set-quota', 'alice', '1.5M', '--data', data]);
    expect([set.code, set.stdout.trim()]).toEqual([0, 'alice: quota 1.5 MiB, 0 B used']);
    expect((await admin(['set-quota', 'dave', 'none', '--data', data])).stdout.trim()).toBe('dave: no quota, 0 B used');
    const listed = await admin(['list-clients', '--data', data]);
    expect(listed.stdout).toMatch(/^alice\tclient\tactive\tcreated \S+\tquota 1\.5 MiB, 0 B used$/m);
    expect(listed.stdout).toMatch(/^dave\tclient\tactive\tcreated \S+\tno quota, 0 B used$/m);
    const nobody = await admin(['set-quota', 'nobody', '5G', '--data', data]);
    expect([nobody.code, nobody.stderr.trim()]).toEqual([1, 'no client named nobody']);
  });

  it('set-quota on a running server: the refused upload goes through at once, no restart', async () => {
    const srv = await startTestServer();
    try {
      const added = await admin(['add-client', 'frank', '--quota', '10K', '--data', srv.dataDir]);
      const auth = { Authorization: `Bearer ${added.stdout.trim().split('\n').pop() as string}` };
      const body = randomBytes(20 * 1024);
      const put = () => fetch(`${srv.url}/files/frank/f.bin`, { method: 'PUT', headers: auth, body });
      const refused = await put();
      expect(refused.status).toBe(507);
      expect(((await refused.json()) as { error: string }).error).toMatch(/^quota exceeded: frank uses 0 B .* of its 10 KiB/);
      expect((await admin(['set-quota', 'frank', '30K', '--data', srv.dataDir])).code).toBe(0);
      expect((await put()).status).toBe(201);
      expect((await admin(['list-clients', '--data', srv.dataDir])).stdout).toMatch(/^frank\tclient\tactive\tcreated \S+\tquota 30 KiB, 20 KiB used$/m);
    } finally {
      await srv.stop();
    }
  });

  it.each([
    [['add-client', 'erin', '--quota', '12Q'], 'admin: --quota: invalid size "12Q" (examples: 500K, 2M, 10G), or none'],
    [['add-client', 'erin', '--quota', '0'], 'admin: --quota: a quota of 0 would refuse every upload; give a size such as 50G, or none for no limit'],
    [['set-quota', 'alice'], 'admin: set-quota needs NAME and SIZE (e.g. 50G) or none'],
    [['set-quota', 'alice', 'lots'], 'admin: set-quota: invalid size "lots" (examples: 500K, 2M, 10G), or none'],
    [['list-clients', '--quota', '5G'], 'admin: --quota goes with add-client; set-quota NAME SIZE changes a quota'],
  ])('%j: one line, exit 2', async (args, line) => {
    const data = join(work, 'quotas');
    const r = await admin([...args, '--data', data]);
    expect([r.code, r.stderr.trim()]).toEqual([2, line]);
    expect(r.stdout).toBe('');
  });
});
