import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, rmdir } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { fsckCli } from '../helpers/fsck.js';
import { rawRequest } from '../helpers/raw-http.js';
import { makeDataDir, startTestServer, type TestServer } from '../helpers/server.js';
import { apiFor } from '../helpers/api.js';
import { purgeHistory } from '../helpers/history.js';

const run = promisify(execFile);

/** Mounts a small tmpfs (root only); resolves with the reason when that is not possible. */
async function mountTmpfs(dir: string, size: string): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return 'not running as root: cannot mount a small tmpfs for the data dir';
  try {
    await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
    return undefined;
  } catch (err) {
    return `mount -t tmpfs failed: ${(err as Error).message.split('\n')[0]}`;
  }
}

const RESERVE = 4 << 20;
const base = await makeDataDir();
const mountPoint = join(base, 'small-disk');
await mkdir(mountPoint);
const skipReason = await mountTmpfs(mountPoint, '64m');
if (skipReason) console.warn(`disk-full tests skipped: ${skipReason}`);

describe.skipIf(skipReason !== undefined)('a full disk (64 MiB tmpfs data dir)', () => {
  let s: TestServer;
  const kept = new Map<string, Buffer>();
  const put = (path: string, body: BodyInit) => apiFor(s).put(path, body);

  beforeAll(async () => {
    s = await startTestServer({ diskReserveBytes: RESERVE }, { dataDir: mountPoint, keepData: true });
  });
  afterAll(async () => {
    await s?.stop();
    await run('umount', [mountPoint]).catch(() => {});
    await rmdir(mountPoint).catch(() => {});
    await rm(base, { recursive: true, force: true });
  });

  async function expectIntact(): Promise<void> {
    for (const [path, body] of kept) {
      const r = await fetch(`${s.url}/files/${path}`, { headers: s.auth('alice') });
      expect(r.status, path).toBe(200);
      expect(await sha256Body(r)).toEqual({ sha256: sha256(body), size: body.length });
    }
  }

  it('uploads past capacity get 507 {error}, leave nothing partial, and earlier files stay intact', async () => {
    for (let i = 0; i < 4; i++) {
      const body = randomBytes(1 << 20);
      expect((await put(`alice/early/${i}.bin`, body)).status).toBe(201);
      kept.set(`alice/early/${i}.bin`, body);
    }
    const statuses: number[] = [];
    for (let i = 0; i < 20 && !statuses.includes(507); i++) {
      const body = randomBytes(6 << 20);
      const r = await put(`alice/fill/${i}.bin`, body);
      statuses.push(r.status);
      if (r.status === 201) kept.set(`alice/fill/${i}.bin`, body);
      else {
        expect(r.status).toBe(507);
        expect(r.headers.get('content-type')).toMatch(/application\/json/);
        expect((await r.json()).error).toMatch(/space|storage/i);
      }
    }
    expect(statuses).toContain(507);
    expect(await readdir(join(mountPoint, 'tmp'))).toEqual([]);
    await expectIntact();
    expect((await fetch(`${s.url}/api/files?prefix=alice/`, { headers: s.auth('alice') })).status).toBe(200);
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
  });

  it('a catalog write on the full disk (SQLITE_FULL) is 507 too, and leaves no orphan', async () => {
    // Fill every last byte, so that even SQLite cannot grow its write-ahead log.
    const filler = await open(join(mountPoint, 'filler'), 'w');
    const chunk = Buffer.alloc(64 * 1024, 1);
    try {
      for (;;) await filler.write(chunk);
    } catch (err) {
      expect((err as NodeJS.ErrnoException).code).toBe('ENOSPC');
    }
    for (let n = 1; n <= 4096; n *= 2) {
      try {
        await filler.write(Buffer.alloc(4096 / n, 1));
      } catch {
        // smaller pieces until nothing fits at all
      }
    }
    await filler.close();
    // Empty files need no data blocks, only catalog rows: the catalog is what runs out.
    const statuses = new Map<number, number>();
    for (let i = 0; i < 3000 && !statuses.has(507); i++) {
      const r = await put(`alice/empty/${'n'.repeat(200)}-${i}.txt`, '');
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      await r.arrayBuffer();
    }
    expect([...statuses.keys()].filter((k) => k !== 201 && k !== 507)).toEqual([]);
    expect(statuses.get(507)).toBeGreaterThan(0);
    // It was the catalog that ran out (not the blob write): SQLite says so directly.
    const direct = await s.server.catalog
      .putFile({ path: `alice/empty/${'d'.repeat(300)}`, sha256: sha256(''), size: 0, mtime: null, now: Date.now() })
      .then(() => 'stored', (err: { code?: string }) => err.code);
    expect(direct).toBe('SQLITE_FULL');
    expect(s.logs.filter((l) => l.startsWith('error:'))).toEqual([]);
    await expectIntact();
    expect(await readdir(join(mountPoint, 'tmp'))).toEqual([]);
  });

  it('on the full disk a refused upload is read by the client (507), and a DELETE still works (the space reserve)', async () => {
    const head = `PUT /files/alice/raw-full.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.alice}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const chunk = Buffer.alloc(64 * 1024, 3);
    const parts: Buffer[] = [Buffer.from(head)];
    for (let i = 0; i < 32; i++) parts.push(Buffer.from(`${chunk.length.toString(16)}\r\n`), chunk, Buffer.from('\r\n'));
    parts.push(Buffer.from('0\r\n\r\n'));
    const refused = await rawRequest(s.url, Buffer.concat(parts), 20_000);
    expect(refused.status).toBe(507);
    expect(refused.raw).toMatch(/"error"/);

    const victim = 'alice/early/0.bin';
    const del = await fetch(`${s.url}/files/${victim}`, { method: 'DELETE', headers: s.auth('alice') });
    expect(del.status).toBe(204);
    kept.delete(victim);
    expect((await fetch(`${s.url}/files/${victim}`, { headers: s.auth('alice') })).status).toBe(404);
    expect(s.logs.some((l) => /released the space reserve/.test(l))).toBe(true);
    // Until the reserve can be taken back, uploads wait (the freed space is kept for deletes).
    expect((await put('alice/after/too-soon.bin', 'x')).status).toBe(507);
    await expectIntact();
    await rm(join(mountPoint, 'filler'));
  });

  it('keeps serving, and accepts uploads again once space is freed', async () => {
    for (const path of [...kept.keys()].filter((p) => p.startsWith('alice/fill/')).slice(0, 3)) {
      expect((await fetch(`${s.url}/files/${path}`, { method: 'DELETE', headers: s.auth('alice') })).status).toBe(204);
      // A delete keeps the content in the history: purging it is what frees the space.
      await purgeHistory(s.server, path);
      kept.delete(path);
    }
    const body = randomBytes(5 << 20);
    expect((await put('alice/after/fresh.bin', body)).status).toBe(201);
    kept.set('alice/after/fresh.bin', body);
    await expectIntact();
    await s.stop();
    const check = await fsckCli(mountPoint);
    expect(check.findings.filter((f) => f.kind !== 'orphan-blob')).toEqual([]);
    expect(check.findings).toEqual([]);
    s = await startTestServer({ diskReserveBytes: RESERVE }, { dataDir: mountPoint, keepData: true });
    await expectIntact();
  });
});
