import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256 } from '../helpers/bytes.js';
import { addClientToDataDir, ROOT } from '../helpers/server.js';

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

/** The paths the unit leaves writable are only the data dir: the project and an empty /tmp are read-only. */
function readOnlyNamespace(project: string, dataDir: string): string {
  return [
    'set -e',
    'mount --make-rprivate /',
    `mount --bind '${project}' '${project}'`,
    `mount -o remount,ro,bind '${project}'`,
    // ReadWritePaths= of the unit.
    `mount --bind '${dataDir}' '${dataDir}'`,
    `mount -o remount,rw,bind '${dataDir}'`,
    'mount -t tmpfs -o ro tmpfs /tmp',
    'mount -t tmpfs -o ro tmpfs /var/tmp',
    'exec "$@"',
  ].join('\n');
}

describe('the README systemd unit', () => {
  let unit: Unit;
  let dataDir: string;
  beforeAll(async () => {
    unit = readmeUnit(await readFile(join(ROOT, 'README.md'), 'utf8'));
    // Outside /tmp, which the namespace covers; test-output/ is ignored by git.
    await mkdir(join(ROOT, 'test-output'), { recursive: true });
    dataDir = await mkdtemp(join(ROOT, 'test-output', 'unit-'));
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('is one indented block with the hardening it documents', () => {
    expect(unit.lines.filter((l) => l !== '' && !l.startsWith('    '))).toEqual([]);
    const settings = unit.lines.map((l) => l.trim());
    for (const s of ['ProtectSystem=strict', 'PrivateTmp=true', 'NoNewPrivileges=true', 'KillSignal=SIGTERM']) expect(settings).toContain(s);
    expect(unit.execStart[0]).toBe('/usr/bin/node');
  });

  it.skipIf(!canUnshare)('starts, serves and stops on SIGTERM with the project and /tmp read-only', async () => {
    const token = await addClientToDataDir(dataDir, 'alice');
    const [, ...args] = unit.execStart;
    const env = { ...process.env, ...unit.env, CB_DATA_DIR: dataDir, CB_PORT: '0', CB_HOST: '127.0.0.1', TMPDIR: '/tmp' };
    // node as this test runs it (it need not be /usr/bin/node here), started as systemd would: no npm, no shell left.
    const child = spawn('unshare', ['-m', 'sh', '-c', readOnlyNamespace(ROOT, dataDir), 'sh', process.execPath, ...args], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
    const port = await new Promise<number>((res, rej) => {
      child.stdout.on('data', () => {
        const m = /listening on http:\/\/[^:]+:(\d+)/.exec(out);
        if (m) res(Number(m[1]));
      });
      void exited.then((code) => rej(new Error(`the unit's command exited with ${code}:\n${out}`)));
    });
    try {
      const auth = { Authorization: `Bearer ${token}` };
      const body = randomBytes(300_000);
      const put = await fetch(`http://127.0.0.1:${port}/files/alice/unit.bin`, { method: 'PUT', headers: auth, body });
      expect(put.status).toBe(201);
      const got = await fetch(`http://127.0.0.1:${port}/files/alice/unit.bin`, { headers: auth });
      expect(sha256(new Uint8Array(await got.arrayBuffer()))).toBe(sha256(body));
    } finally {
      child.kill('SIGTERM');
    }
    expect(await exited).toBe(0);
    expect(out).toContain('SIGTERM: shutting down');
  });
});
