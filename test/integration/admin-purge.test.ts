/**
 * `npm run admin -- purge` against a data dir a server is using: with the SQLite catalog the
 * server's blob locks are in its own process, so the purge refuses while it runs (nothing
 * purged) and works once it is stopped, freeing the blob files.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runEntry } from '../helpers/cli.js';
import { makeDataDir, startTestServer } from '../helpers/server.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

const admin = (args: string[]) => runEntry('adapters/node/admin.ts', args, { CB_DATABASE_URL: '' });
const sha = (s: string) => createHash('sha256').update(s).digest('hex');
const blobFile = (dataDir: string, content: string) => {
  const h = sha(content);
  return join(dataDir, 'blobs', h.slice(0, 2), h.slice(2, 4), h);
};

describe('admin purge and a live server (SQLite catalog)', () => {
  it('refuses while the server runs, purges once it is stopped', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    let s = await startTestServer({}, { dataDir, keepData: true });
    try {
      for (const body of ['first draft', 'second draft']) {
        expect((await fetch(`${s.url}/files/alice/tax/2019.pdf`, { method: 'PUT', headers: s.auth('alice'), body })).status).toBeLessThan(300);
      }
      expect(existsSync(blobFile(dataDir, 'first draft'))).toBe(true);

      const refused = await admin(['purge', 'alice/tax/', '--data', dataDir]);
      expect(refused.code).toBe(2);
      expect(refused.stderr).toContain(`a server (pid ${process.pid}) is running on ${dataDir}: stop it, purge, then start it again`);
      expect(refused.stderr).toContain('nothing was purged');
      const versions = (await (await fetch(`${s.url}/api/versions?path=alice/tax/2019.pdf`, { headers: s.auth('alice') })).json()) as { items: unknown[] };
      expect(versions.items).toHaveLength(2);
      expect(existsSync(blobFile(dataDir, 'first draft'))).toBe(true);
    } finally {
      await s.stop();
    }

    const purged = await admin(['purge', 'alice/tax/', '--data', dataDir]);
    expect(purged.stderr).toBe('');
    expect(purged.code).toBe(0);
    expect(purged.stdout).toMatch(/^purged 1 path\(s\), 2 version\(s\); freed 2 blob\(s\)/);
    expect(existsSync(blobFile(dataDir, 'first draft'))).toBe(false);
    expect(existsSync(blobFile(dataDir, 'second draft'))).toBe(false);

    s = await startTestServer({}, { dataDir, keepData: true });
    try {
      expect((await fetch(`${s.url}/files/alice/tax/2019.pdf`, { headers: s.auth('alice') })).status).toBe(404);
      const versions = (await (await fetch(`${s.url}/api/versions?path=alice/tax/2019.pdf`, { headers: s.auth('alice') })).json()) as { items: unknown[] };
      expect(versions.items).toEqual([]);
    } finally {
      await s.stop();
    }
  });
});
