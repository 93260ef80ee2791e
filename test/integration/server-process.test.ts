import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Body, sha256File, writeRandomFile } from '../helpers/bytes.js';
import { addClientToDataDir, makeDataDir, ROOT, spawnServer, startTestServer } from '../helpers/server.js';

const run = promisify(execFile);

/** Peak resident memory of a process in bytes (Linux). */
async function peakRss(pid: number): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

describe('the server as its own process', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await makeDataDir();
  });
  afterAll(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('streams a 300 MB upload and download without holding it in memory', async () => {
    const token = await addClientToDataDir(dataDir, 'alice');
    const srv = await spawnServer(dataDir);
    try {
      const auth = { Authorization: `Bearer ${token}` };
      await fetch(`${srv.url}/files/alice/warmup.txt`, { method: 'PUT', headers: auth, body: 'warm' });
      await (await fetch(`${srv.url}/files/alice/warmup.txt`, { headers: auth })).text();
      const before = await peakRss(srv.child.pid as number);
      const size = 300 * 1024 * 1024;
      const block = createHash('sha512').update('seed').digest();
      const hash = createHash('sha256');
      let sent = 0;
      let counter = 0;
      const body = new ReadableStream<Uint8Array>({
        pull(c) {
          if (sent >= size) return c.close();
          // 1 MiB chunks of varying content, generated as we go.
          const chunk = Buffer.alloc(Math.min(1 << 20, size - sent), block);
          chunk.writeUInt32LE(counter++, 0);
          hash.update(chunk);
          sent += chunk.byteLength;
          c.enqueue(chunk);
        },
      });
      const r = await fetch(`${srv.url}/files/alice/big.bin`, { method: 'PUT', headers: auth, body, duplex: 'half' } as RequestInit);
      expect(r.status).toBe(201);
      const expected = hash.digest('hex');
      expect((await r.json()).sha256).toBe(expected);
      const g = await fetch(`${srv.url}/files/alice/big.bin`, { headers: auth });
      expect(await sha256Body(g)).toEqual({ sha256: expected, size });
      const growth = (await peakRss(srv.child.pid as number)) - before;
      // Far below the file size: buffers, not the file.
      expect(growth).toBeLessThan(100 * 1024 * 1024);
    } finally {
      await srv.stop();
    }
  });

  it('removes temporary leftovers at start-up and keeps committed files', async () => {
    await mkdir(join(dataDir, 'tmp'), { recursive: true });
    await writeFile(join(dataDir, 'tmp', 'half-written-upload'), 'partial bytes');
    const srv = await spawnServer(dataDir);
    try {
      expect(await readdir(join(dataDir, 'tmp'))).toEqual([]);
      expect(srv.output()).toMatch(/removed 1 temporary leftover/);
    } finally {
      expect(await srv.stop()).toBe(0);
    }
  });

  it('exits with code 2 and one clear line on a bad option', async () => {
    const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'adapters/node/main.ts'), '--hot-time', 'soon', '--data', dataDir], { cwd: ROOT }).catch(
      (e: { code: number; stderr: string }) => e,
    );
    expect((r as { code: number }).code).toBe(2);
    expect((r as { stderr: string }).stderr.trim()).toBe('cloud-backup: --hot-time: invalid duration "soon" (examples: 30s, 10m, 7d)');
  });
});

describe('admin CLI', () => {
  it('adds, lists and revokes clients; a revoked token is refused at once', async () => {
    const dataDir = await makeDataDir();
    const s = await startTestServer({}, { dataDir });
    try {
      const env = { ...process.env, CB_DATA_DIR: dataDir };
      const added = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'adapters/node/admin.ts'), 'add-client', 'carol'], { cwd: ROOT, env });
      const token = added.stdout.trim().split('\n').pop() as string;
      expect(token).toMatch(/^cb_[0-9a-f]{16}\./);
      const auth = { Authorization: `Bearer ${token}` };
      expect(await (await fetch(`${s.url}/api/whoami`, { headers: auth })).json()).toEqual({ name: 'carol', admin: false });
      const list = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'adapters/node/admin.ts'), 'list-clients'], { cwd: ROOT, env });
      expect(list.stdout).toMatch(/^carol\tclient\tactive/m);
      expect(list.stdout).not.toContain(token);
      const dup = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'adapters/node/admin.ts'), 'add-client', 'carol'], { cwd: ROOT, env }).catch((e: { code: number }) => e);
      expect((dup as { code: number }).code).toBe(1);
      await run(process.execPath, ['--import', 'tsx', join(ROOT, 'adapters/node/admin.ts'), 'revoke-client', 'carol'], { cwd: ROOT, env });
      expect((await fetch(`${s.url}/api/whoami`, { headers: auth })).status).toBe(401);
      // The database holds only a hash of the token.
      const db = await readFile(join(dataDir, 'catalog.sqlite'));
      expect(db.includes(Buffer.from(token))).toBe(false);
    } finally {
      await s.stop();
    }
  });
});

describe('curl -C - resumes a broken download', () => {
  it('completes a cut-off download byte-identically', async () => {
    const s = await startTestServer();
    const work = await makeDataDir();
    try {
      const src = join(work, 'src.bin');
      const expected = await writeRandomFile(src, 24 * 1024 * 1024);
      const auth = `Authorization: Bearer ${s.tokens.alice}`;
      await run('curl', ['-sS', '-f', '-T', src, '-H', auth, `${s.url}/files/alice/video.bin`]);
      const out = join(work, 'out.bin');
      // First attempt is cut off by its time limit part-way (curl exit code 28).
      const first = await run('curl', ['-sS', '--limit-rate', '8M', '--max-time', '1', '-H', auth, '-o', out, `${s.url}/files/alice/video.bin`]).catch(
        (e: { code: number }) => e,
      );
      expect((first as { code: number }).code).toBe(28);
      const partial = (await stat(out)).size;
      expect(partial).toBeGreaterThan(0);
      expect(partial).toBeLessThan(24 * 1024 * 1024);
      await run('curl', ['-sS', '-f', '-C', '-', '-H', auth, '-o', out, `${s.url}/files/alice/video.bin`]);
      expect(await sha256File(out)).toBe(expected);
    } finally {
      await s.stop();
      await rm(work, { recursive: true, force: true });
    }
  });
});
