import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BackupClient, runOnce } from '../../client/backup.js';
import { StateDb } from '../../client/state-db.js';
import { writeRandomFile } from '../helpers/bytes.js';
import { waitFor, waitForValue } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { age, captureOutput, CHILD_TEST_MS, clientConfig, serverFile, spawnClient } from '../client/helpers.js';

const MiB = 1024 * 1024;

let s: TestServer;
let work: string;
let tus = false;

beforeAll(async () => {
  s = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'cb-client-tus-'));
  const res = await fetch(`${s.url}/uploads/`, { method: 'OPTIONS', headers: s.auth('alice') });
  tus = (res.headers.get('tus-version') ?? '').split(',').map((v) => v.trim()).includes('1.0.0');
});

afterAll(async () => {
  await s.stop();
  await rm(work, { recursive: true, force: true });
});

/** The tus upload URL the client stored for `path`, read without disturbing the client. */
function storedUploadUrl(statePath: string, path: string): string | undefined {
  let db: Database.Database | undefined;
  try {
    db = new Database(statePath, { readonly: true, fileMustExist: true });
    const row = db.prepare('SELECT url FROM uploads WHERE path = ?').get(path) as { url: string } | undefined;
    return row?.url;
  } catch {
    return undefined; // not created yet
  } finally {
    db?.close();
  }
}

async function serverOffset(url: string): Promise<number> {
  const res = await fetch(url, { method: 'HEAD', headers: { ...s.auth('alice'), 'Tus-Resumable': '1.0.0' } });
  expect(res.status).toBe(200);
  return Number(res.headers.get('upload-offset'));
}

describe('resumable upload of big files (tus)', () => {
  it('a client killed mid-upload resumes from the server offset on the next run', async (ctx) => {
    if (!tus) ctx.skip('the server does not offer tus at /uploads/ (OPTIONS without Tus-Version 1.0.0)');
    const folder = join(work, 'Videos');
    await mkdir(folder);
    const state = join(work, 'state.sqlite');
    const size = 40 * MiB;
    const sha = await writeRandomFile(join(folder, 'holiday.mp4'), size);
    await age(join(folder, 'holiday.mp4'));

    // First run: a separate process, slowed down so that it can be killed half way.
    const child = spawnClient([folder, '--once', '--state', state, '--limit-rate', '8M', '--server', s.url, '--token', s.tokens.alice]);
    let offsetAtKill: number;
    try {
      const url = await waitForValue('the upload URL in the state DB', () => storedUploadUrl(state, 'holiday.mp4'), 30_000, 50);
      expect(url).toMatch(/\/uploads\/[A-Za-z0-9_-]+$/);
      // Every HEAD takes the upload over from the running PATCH (the server's rule: the newest
      // request wins), so ask rarely; the client simply continues with its next PATCH.
      offsetAtKill = await waitForValue('8 MiB at the server', async () => {
        const o = await serverOffset(url);
        return o >= 8 * MiB ? o : undefined;
      }, 60_000, 500).catch((err: Error) => {
        throw new Error(`${err.message}\nclient output:\n${child.output()}`);
      });
      expect(offsetAtKill).toBeLessThan(size);
    } finally {
      child.child.kill('SIGKILL');
      await child.exited;
    }
    expect((await serverFile(s, 'alice/Videos/holiday.mp4')).status).toBe(404);

    // The server keeps what arrived before the kill (HEAD takes over from the dead PATCH).
    const url = storedUploadUrl(state, 'holiday.mp4') as string;
    const offsetBefore = await serverOffset(url);
    expect(offsetBefore).toBeGreaterThan(0);
    expect(offsetBefore).toBeGreaterThanOrEqual(offsetAtKill);

    // Second run, in-process to count exactly what it sends.
    const cap = captureOutput();
    const r = await runOnce(clientConfig(folder, s, s.tokens.alice, state), { out: cap.out });
    expect(r.exitCode).toBe(0);
    expect(r.summary).toMatchObject({ uploaded: 1, failed: 0 });
    expect(r.summary?.bytesSent).toBe(size - offsetBefore);
    expect(cap.text()).toMatch(/resume {4}holiday\.mp4 from byte \d+ of 41943040/);
    expect(cap.text()).toMatch(/uploaded {2}holiday\.mp4 \(40\.0 MiB, resumed at /);

    expect(await serverFile(s, 'alice/Videos/holiday.mp4')).toMatchObject({ status: 200, sha256: sha, size });
    const db = new StateDb(state);
    try {
      expect(db.getFile('holiday.mp4')).toMatchObject({ sha256: sha, via: 'tus', size });
      expect(db.getUpload('holiday.mp4')).toBeUndefined();
    } finally {
      db.close();
    }
  }, CHILD_TEST_MS);

  it('keeps going while its connection is cut again and again (the upload still advances)', async (ctx) => {
    if (!tus) ctx.skip('the server does not offer tus at /uploads/');
    const folder = join(work, 'Flaky');
    await mkdir(folder);
    const state = join(work, 'flaky-state.sqlite');
    const size = 12 * MiB;
    const sha = await writeRandomFile(join(folder, 'backup.tar'), size);
    await age(join(folder, 'backup.tar'));
    const cap = captureOutput();
    const client = new BackupClient(clientConfig(folder, s, s.tokens.alice, state, ['--limit-rate', '8M']), {
      out: cap.out,
      // More cuts below than these attempts: only the reset on progress gets the file through.
      uploadRetry: { attempts: 3, baseMs: 50, maxMs: 100 },
    });
    try {
      await client.connect({ attempts: 3, baseMs: 50, maxMs: 100 });
      let finished = false;
      const pass = client.fullPass().finally(() => (finished = true));
      // Another request on the same upload takes it over and cuts the running PATCH (the server's
      // rule). Cut each time the server received another 512 KiB (read from its blob store, which
      // does not disturb the upload), so that every cut follows real progress.
      let cuts = 0;
      let receivedAtCut = 0;
      while (!finished) {
        await new Promise((r) => setTimeout(r, 20));
        const url = storedUploadUrl(state, 'backup.tar');
        const received = url ? await s.server.blobs.parts.size(url.slice(url.lastIndexOf('/') + 1)).catch(() => 0) : 0;
        if (url && !finished && received - receivedAtCut >= 512 * 1024) {
          receivedAtCut = received;
          const res = await fetch(url, { method: 'HEAD', headers: { ...s.auth('alice'), 'Tus-Resumable': '1.0.0' } });
          await res.body?.cancel();
          if (res.status === 200) cuts++;
        }
      }
      const summary = await pass;
      expect(summary, cap.text()).toMatchObject({ uploaded: 1, failed: 0 });
      expect(cuts).toBeGreaterThan(3);
      expect(await serverFile(s, 'alice/Flaky/backup.tar')).toMatchObject({ status: 200, sha256: sha, size });
    } finally {
      client.close();
    }
  });

  it('a big file changed since its interrupted upload starts a new upload with the new content', async (ctx) => {
    if (!tus) ctx.skip('the server does not offer tus at /uploads/');
    const folder = join(work, 'Changed');
    await mkdir(folder);
    const state = join(work, 'changed-state.sqlite');
    const abs = join(folder, 'disk.img');
    await writeRandomFile(abs, 12 * MiB);
    await age(abs, 120);
    // Leave an interrupted upload behind: a small tus chunk, then cancel after the first PATCH.
    const controller = new AbortController();
    const pending = runOnce(clientConfig(folder, s, s.tokens.alice, state, ['--limit-rate', '4M']), {
      out: captureOutput().out,
      tusChunk: 1 * MiB,
      signal: controller.signal,
    });
    const url = await waitForValue('the upload URL in the state DB', () => storedUploadUrl(state, 'disk.img'), 30_000, 50);
    await waitFor('1 MiB at the server', async () => (await serverOffset(url)) >= MiB, 30_000, 50);
    controller.abort();
    await pending;

    const newSha = await writeRandomFile(abs, 12 * MiB);
    await age(abs, 60);
    const cap = captureOutput();
    const r = await runOnce(clientConfig(folder, s, s.tokens.alice, state), { out: cap.out });
    expect(r.exitCode).toBe(0);
    expect(r.summary?.bytesSent).toBe(12 * MiB);
    expect(cap.text()).not.toMatch(/resume/);
    expect(await serverFile(s, 'alice/Changed/disk.img')).toMatchObject({ status: 200, sha256: newSha });
    // The stale upload was terminated on the server.
    const gone = await fetch(url, { method: 'HEAD', headers: { ...s.auth('alice'), 'Tus-Resumable': '1.0.0' } });
    expect([404, 410]).toContain(gone.status);
  });
});
