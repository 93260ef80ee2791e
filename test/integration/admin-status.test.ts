import { execFile } from 'node:child_process';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PassInput } from '../../storage/catalog/catalog.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { addClientToDataDir, makeDataDir, ROOT } from '../helpers/server.js';

const execFileP = promisify(execFile);
const DAY = 24 * 3600 * 1000;

async function admin(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const r = await execFileP(process.execPath, ['--import', 'tsx', join(ROOT, 'adapters/node/admin.ts'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

// Issue 17.1: `admin status` is the admin's table of who backed up when.
describe('npm run admin -- status', () => {
  let data: string;

  beforeAll(async () => {
    data = await makeDataDir();
    await addClientToDataDir(data, 'alice');
    await addClientToDataDir(data, 'bob');
    await addClientToDataDir(data, 'root', true);
    const catalog = new SqliteCatalog({ file: join(data, 'catalog.sqlite') });
    try {
      const now = Date.now();
      const pass = (root: string, ago: number, extra: Partial<PassInput> = {}): PassInput => ({
        namespace: root.split('/')[0] as string, root, host: 'laptop', folder: '/home/u/docs', startedAt: now - ago - 1000, endedAt: now - ago, receivedAt: now - ago,
        scanned: 40, uploaded: 3, failed: 0, deleted: 1, bytes: 2048, stopped: false, ...extra,
      });
      // alice backed up an hour ago; bob (forced stale) 3 days ago, and failed since; carol never, added 4 days ago.
      await catalog.recordPass(pass('alice/docs', 3600_000));
      await catalog.putFile({ path: 'alice/docs/a.txt', sha256: 'a'.repeat(64), size: 2048, mtime: null, now });
      await catalog.recordPass(pass('bob/photos', 3 * DAY));
      await catalog.recordPass(pass('bob/photos', DAY, { failed: 2 }));
      await catalog.touchClients(new Map([['bob', now - DAY]]));
      await catalog.recordPass(pass('bob/music', 2 * DAY, { stopped: true }));
      await catalog.addClient({ name: 'carol', tokenId: 'fedcba9876543210', tokenHash: 'x', admin: false, createdAt: now - 4 * DAY, revokedAt: null, quotaBytes: 50 * 1024 ** 3 });
      await catalog.holdPruning('alice', now, 'most files changed in a day');
    } finally {
      await catalog.close();
    }
  });
  afterAll(async () => {
    await rm(data, { recursive: true, force: true });
  });

  it('one row per client with its last backup, sizes, quota and last seen; folders under it; WARNING lines for stale, failing and guarded clients', async () => {
    const r = await admin(['status', '--data', data]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^client +state +last backup +files +current +history +quota +last seen$/);
    const alice = lines.findIndex((l) => l.startsWith('alice '));
    expect(lines[alice]).toMatch(/^alice +active +\d{4}-\d\d-\d\d \d\d:\d\dZ \(1h( \d+m)? ago\) +1 +2\.0 KiB +0 B +none +/);
    expect(lines[alice + 1]).toMatch(/^ {2}alice\/docs\/ from laptop:\/home\/u\/docs: last pass .*: 40 looked at, 3 sent, 1 deleted$/);
    expect(lines[alice + 2]).toMatch(/^ {2}WARNING guard: pruning held by the ransomware guard since .*: most files changed in a day \(npm run admin -- resume-prune alice\)$/);
    const bob = lines.findIndex((l) => l.startsWith('bob '));
    expect(lines[bob]).toMatch(/\(3d( \d+m)? ago\).* \(1d( \d+m)? ago\)$/);
    expect(lines[bob + 1]).toMatch(/^ {2}bob\/music\/ from laptop:\/home\/u\/docs: last pass .*\(2d( \d+m)? ago\): 40 looked at, 3 sent, 1 deleted, stopped; never successful$/);
    expect(lines[bob + 2]).toMatch(/^ {2}bob\/photos\/ from laptop:\/home\/u\/docs: last pass .*\(1d( \d+m)? ago\): 40 looked at, 3 sent, 1 deleted, 2 failed; last successful .*\(3d( \d+m)? ago\)$/);
    expect(lines.slice(bob + 3, bob + 5)).toEqual([
      expect.stringMatching(/^ {2}WARNING stale: no successful backup for 3d( \d+m)? \(--stale-after 2d\)$/),
      '  WARNING failing: the last pass (bob/photos) had 2 failed file(s)',
    ]);
    const carol = lines.findIndex((l) => l.startsWith('carol '));
    expect(lines[carol]).toMatch(/^carol +active +- +0 +0 B +0 B +0 B of 50 GiB +-$/);
    expect(lines[carol + 1]).toBe('  WARNING stale: never backed up, added 4d ago (--stale-after 2d)');
    // The admin (a browser login that never backed up) gets no warning.
    expect(lines[lines.findIndex((l) => l.startsWith('root ')) + 1]).not.toMatch(/^  WARNING/);
    expect(lines[lines.length - 1]).toBe('3 client(s) need a look (WARNING lines above)');
  });

  it('--stale-after (or CB_STALE_AFTER) moves the line; 0 turns it off; a bad value is exit 2', async () => {
    const longer = await admin(['status', '--data', data, '--stale-after', '5d']);
    expect(longer.stdout).not.toContain('WARNING stale');
    expect(longer.stdout).toContain('WARNING failing');
    const env = await admin(['status', '--data', data], { CB_STALE_AFTER: '0' });
    expect(env.stdout).not.toContain('WARNING stale');
    const bad = await admin(['status', '--data', data, '--stale-after', 'soon']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^admin: --stale-after: invalid duration "soon"/);
  });
});
