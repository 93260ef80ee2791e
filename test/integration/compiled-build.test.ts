import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BUNDLE_BANNER, CHUNK_FOLDER, META_FILE } from '../../scripts/bundle-server.js';
import { BATCH_CONTENT_TYPE } from '../../handlers/files/batch.js';
import { DIST, ensureFreshBuild } from '../../scripts/ensure-build.js';
import { sha256, sha256File } from '../helpers/bytes.js';
import { addClientToDataDir, awaitListening, ROOT } from '../helpers/server.js';
import { createClient } from '../../adapters/node/tokens.js';
import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { postgresUnavailable, startPostgres } from '../helpers/postgres.js';
import { startS3rver } from '../helpers/s3rver.js';

interface Unit {
  lines: string[];
  env: Record<string, string>;
  execStart: string[];
}

/** The systemd unit printed in the README: its indented block, Environment= and ExecStart=. */
function readmeUnit(readme: string): Unit {
  const start = readme.indexOf('    # /etc/systemd/system/cloud-backup.service');
  const end = readme.indexOf('WantedBy=multi-user.target', start);
  expect(start).toBeGreaterThan(0);
  expect(end).toBeGreaterThan(start);
  const lines = readme.slice(start, readme.indexOf('\n', end)).split('\n');
  const env: Record<string, string> = {};
  let execStart: string[] = [];
  for (const line of lines.map((l) => l.trim())) {
    const e = /^Environment=([A-Z_]+)=(\S*)$/.exec(line);
    if (e) env[e[1] as string] = e[2] as string;
    if (line.startsWith('ExecStart=')) execStart = line.slice('ExecStart='.length).split(/\s+/);
  }
  return { lines, env, execStart };
}

const canUnshare = process.platform === 'linux' && process.getuid?.() === 0 && spawnSync('unshare', ['-m', 'true']).status === 0;

/** The paths the unit leaves writable are only `writable`: the project and an empty /tmp are read-only. */
function readOnlyNamespace(project: string, writable: string): string {
  return [
    'set -e',
    'mount --make-rprivate /',
    `mount --bind '${project}' '${project}'`,
    `mount -o remount,ro,bind '${project}'`,
    // ReadWritePaths= of the unit.
    `mount --bind '${writable}' '${writable}'`,
    `mount -o remount,rw,bind '${writable}'`,
    'mount -t tmpfs -o ro tmpfs /tmp',
    'mount -t tmpfs -o ro tmpfs /var/tmp',
    'exec "$@"',
  ].join('\n');
}

let work: string;
/** A temporary directory nobody may write: root gets a read-only mount namespace instead. */
let readOnlyTmp: string;

/**
 * Runs a command as under the unit's ProtectSystem=strict: as root in a mount namespace with the
 * project and /tmp read-only and only `work` writable; otherwise with TMPDIR a directory this
 * user cannot write (a mode does not stop root, a mount does).
 */
function spawnLocked(command: string, args: string[], env: NodeJS.ProcessEnv = {}): ChildProcess {
  const full = { ...process.env, ...env, TMPDIR: canUnshare ? '/tmp' : readOnlyTmp };
  const [cmd, argv] = canUnshare ? ['unshare', ['-m', 'sh', '-c', readOnlyNamespace(ROOT, work), 'sh', command, ...args]] : [command, args];
  // unshare and sh exec the command: the child's pid is the command's own.
  return spawn(cmd as string, argv as string[], { cwd: ROOT, env: full, stdio: ['ignore', 'pipe', 'pipe'] });
}

async function runLocked(command: string, args: string[]): Promise<{ code: number | null; out: string }> {
  const child = spawnLocked(command, args);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const code = await new Promise<number | null>((res) => child.once('exit', res));
  return { code, out };
}

/** argv of a live process (Linux). */
async function cmdline(pid: number): Promise<string[]> {
  return (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0').filter((a) => a !== '');
}

beforeAll(async () => {
  // What `npm install` does (its prepare script); kept when already newer than every source.
  ensureFreshBuild();
  // Outside /tmp, which the namespace covers; test-output/ is ignored by git.
  await mkdir(join(ROOT, 'test-output'), { recursive: true });
  work = await mkdtemp(join(ROOT, 'test-output', 'compiled-'));
  readOnlyTmp = join(work, 'read-only-tmp');
  await mkdir(readOnlyTmp);
  await chmod(readOnlyTmp, 0o555);
}, 300_000);
afterAll(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

describe.skipIf(process.platform !== 'linux')('the compiled build through npm, with /tmp read-only', () => {
  it('serve:node, admin, client and restore run dist/ with node; SIGTERM to npm stops the server with exit 0', async () => {
    const dataDir = join(work, 'data');
    const added = await runLocked('npm', ['run', '-s', 'admin', '--', 'add-client', 'alice', '--create', '--data', dataDir]);
    expect(added.code, added.out).toBe(0);
    const token = added.out.trim().split('\n').pop() as string;

    const npm = spawnLocked('npm', ['run', 'serve:node', '--', '--host', '127.0.0.1', '--port', '0', '--data', dataDir]);
    const server = await awaitListening(npm);
    let stopped = false;
    let pid = 0;
    try {
      // The server is node running the compiled entry, a direct child of npm: no tsx, no shell between.
      pid = Number((await readFile(join(dataDir, 'server.pid'), 'utf8')).split(/\s/)[0]);
      const argv = await cmdline(pid);
      expect(argv.slice(1, 2)).toEqual(['dist/adapters/node/main.js']);
      expect(argv.join(' ')).not.toContain('tsx');
      expect((await readFile(`/proc/${pid}/stat`, 'utf8')).split(') ')[1]?.split(' ')[1]).toBe(String(npm.pid));

      expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
      const who = await fetch(`${server.url}/api/whoami`, { headers: { Authorization: `Bearer ${token}` } });
      expect(await who.json()).toEqual({ name: 'alice', admin: false });

      const folder = join(work, 'docs');
      await mkdir(join(folder, 'sub'), { recursive: true });
      const bytes = randomBytes(200_000);
      await writeFile(join(folder, 'sub', 'a.bin'), bytes);
      await writeFile(join(folder, 'b.txt'), 'compiled');
      const common = ['--server', server.url, '--token', token];
      const backup = await runLocked('npm', ['run', '-s', 'client', '--', folder, '--once', '--settle', '0s', '--state', join(work, 'state.sqlite'), ...common]);
      expect(backup.code, backup.out).toBe(0);
      const dest = join(work, 'restored');
      const restore = await runLocked('npm', ['run', '-s', 'restore', '--', 'alice/docs', dest, ...common]);
      expect(restore.code, restore.out).toBe(0);
      expect(await sha256File(join(dest, 'sub', 'a.bin'))).toBe(sha256(bytes));
      expect(await readFile(join(dest, 'b.txt'), 'utf8')).toBe('compiled');

      stopped = true;
      expect(await server.stop()).toBe(0);
      expect(server.output()).toContain('SIGTERM: shutting down');
      // npm passed the signal on and waited: no server left behind.
      expect(() => process.kill(pid, 0)).toThrow();
    } finally {
      if (!stopped) {
        await server.kill();
        // An orphan if npm did not pass signals on.
        if (pid) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // already gone
          }
        }
      }
    }
  });
});

const METRICS_TOKEN = 'compiled-build-metrics-0123';

describe('the README systemd unit', () => {
  let unit: Unit;
  beforeAll(async () => {
    unit = readmeUnit(await readFile(join(ROOT, 'README.md'), 'utf8'));
  });

  it('is one indented block with the hardening it documents, running the compiled server with node', () => {
    expect(unit.lines.filter((l) => l !== '' && !l.startsWith('    '))).toEqual([]);
    const settings = unit.lines.map((l) => l.trim());
    for (const s of ['ProtectSystem=strict', 'PrivateTmp=true', 'NoNewPrivileges=true', 'KillSignal=SIGTERM']) expect(settings).toContain(s);
    expect(unit.execStart.slice(0, 2)).toEqual(['/usr/bin/node', '/opt/cloud-backup/dist/adapters/node/main.js']);
  });

  it.skipIf(!canUnshare)('starts, serves and stops on SIGTERM with the project and /tmp read-only', async () => {
    const dataDir = join(work, 'unit-data');
    await mkdir(dataDir);
    const token = await addClientToDataDir(dataDir, 'alice');
    // The unit's own script, from this checkout instead of /opt/cloud-backup.
    const script = (unit.execStart[1] as string).replace('/opt/cloud-backup', ROOT);
    // node as this test runs it (it need not be /usr/bin/node here), started as systemd would: no npm, no shell left.
    const child = spawnLocked(process.execPath, [script, ...unit.execStart.slice(2)], { ...unit.env, CB_DATA_DIR: dataDir, CB_PORT: '0', CB_HOST: '127.0.0.1', CB_METRICS_TOKEN: METRICS_TOKEN });
    const server = await awaitListening(child);
    try {
      const auth = { Authorization: `Bearer ${token}` };
      const body = randomBytes(300_000);
      const put = await fetch(`${server.url}/files/alice/unit.bin`, { method: 'PUT', headers: auth, body });
      expect(put.status).toBe(201);
      const got = await fetch(`${server.url}/files/alice/unit.bin`, { headers: auth });
      expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(body));
      // What the bundle loads on first use (the pages' chunk, the embedded assets' chunk) and at
      // run time from node_modules (prom-client's classes) is there.
      const page = await fetch(`${server.url}/browse/alice/`, { headers: auth });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('unit.bin');
      const css = await fetch(`${server.url}/assets/browse.css`);
      expect(css.status).toBe(200);
      expect((await css.text()).length).toBeGreaterThan(100);
      const metrics = await fetch(`${server.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
      expect(await metrics.text()).toMatch(/^process_cpu_seconds_total \d/m);
      // A batch of small files: the blob log, its placer's worker thread and its checkpoint
      // (sync -f) work under the unit's sandbox too.
      const small = [randomBytes(100), randomBytes(2000), randomBytes(0)];
      const frames = Buffer.concat(small.flatMap((b, i) => [Buffer.from(`${JSON.stringify({ path: `alice/small/${i}`, size: b.length, mtime: null, sha256: sha256(b) })}\n`), b]));
      const batch = await fetch(`${server.url}/api/batch`, { method: 'POST', headers: { ...auth, 'Content-Type': BATCH_CONTENT_TYPE }, body: frames });
      expect(((await batch.json()) as { stored: number }).stored).toBe(3);
      for (const [i, b] of small.entries()) {
        const back = await fetch(`${server.url}/files/alice/small/${i}`, { headers: auth });
        expect(sha256(new Uint8Array(await back.arrayBuffer()))).toBe(sha256(b));
      }
    } finally {
      expect(await server.stop()).toBe(0);
    }
    expect(server.output()).toContain('SIGTERM: shutting down');
    expect(server.output()).not.toContain('blob log:');
    // A clean stop checkpointed the log: nothing for the next start-up to replay.
    expect(await readdir(join(dataDir, 'blob-log'))).toEqual([]);
  });
});

/** esbuild's metafile of the server bundle: each output's inputs and imports. */
interface BundleMeta {
  outputs: Record<string, { inputs: Record<string, unknown>; imports: { path: string; kind: string; external?: boolean }[] }>;
}

describe('the server bundle (scripts/bundle-server.ts)', () => {
  it('is what dist/adapters/node/main.js holds, and loads the pages, S3, PostgreSQL and the assets only on first use', async () => {
    expect((await readFile(join(DIST, 'adapters/node/main.js'), 'utf8')).startsWith(BUNDLE_BANNER)).toBe(true);
    const meta = JSON.parse(await readFile(join(DIST, 'adapters/node', CHUNK_FOLDER, META_FILE), 'utf8')) as BundleMeta;
    const entry = Object.keys(meta.outputs).find((o) => o.endsWith('adapters/node/main.js')) as string;
    expect(entry).toBeDefined();
    // Everything node loads before the first line of main runs: the static import closure.
    const loaded = new Set<string>([entry]);
    const externals = new Set<string>();
    const dynamic = new Set<string>();
    for (const out of loaded) {
      for (const imp of meta.outputs[out]?.imports ?? []) {
        if (imp.kind === 'dynamic-import') dynamic.add(imp.path);
        else if (imp.external) externals.add(imp.path);
        else loaded.add(imp.path);
      }
    }
    const inputs = [...loaded].flatMap((o) => Object.keys(meta.outputs[o]?.inputs ?? {}));
    expect(inputs.some((i) => i.endsWith('handlers/files/files.js'))).toBe(true);
    for (const lazy of ['handlers/browse/pages.js', 'handlers/browse/assets.js', 'adapters/node/s3-backend.js', 'adapters/node/pg-backend.js']) {
      expect(inputs.filter((i) => i.endsWith(lazy)), lazy).toEqual([]);
    }
    expect([...externals].filter((e) => !e.startsWith('node:')).sort()).toEqual(['better-sqlite3']);
    expect(dynamic.size).toBeGreaterThanOrEqual(3);
  });
});

const pgMissing = postgresUnavailable();

describe.skipIf(pgMissing !== undefined)(`the bundled server on PostgreSQL and S3${pgMissing ? ` (skipped: ${pgMissing})` : ''}`, () => {
  it('loads both backends from their chunks and the packages they leave to node: a file goes in and comes back', async () => {
    const s3 = await startS3rver('compiled');
    const pg = await startPostgres();
    const dataDir = join(work, 'pg-s3-data');
    await mkdir(dataDir);
    let server: Awaited<ReturnType<typeof awaitListening>> | undefined;
    try {
      const url = await pg.createDatabase();
      const env = { ...process.env, ...s3.env('compiled'), CB_DATABASE_URL: url };
      const child = spawn(process.execPath, [join(DIST, 'adapters/node/main.js'), '--host', '127.0.0.1', '--port', '0', '--data', dataDir], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
      server = await awaitListening(child);
      const catalog = await PgCatalog.open({ url });
      let auth: Record<string, string>;
      try {
        auth = { Authorization: `Bearer ${await createClient(catalog, 'alice')}` };
      } finally {
        await catalog.close();
      }
      const body = randomBytes(150_000);
      expect((await fetch(`${server.url}/files/alice/pg-s3.bin`, { method: 'PUT', headers: auth, body })).status).toBe(201);
      const got = await fetch(`${server.url}/files/alice/pg-s3.bin`, { headers: auth });
      expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(body));
      expect(server.output()).toMatch(/blobs in s3:\/\/compiled/);
    } finally {
      if (server) expect(await server.stop()).toBe(0);
      await pg.stop();
      await s3.stop();
    }
  });
});
