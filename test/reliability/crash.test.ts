/**
 * SIGKILL the server at the worst moments and check, after a restart, that every committed file
 * downloads with its SHA-256, nothing partial is visible, tmp/ is empty and fsck finds no error
 * (and, after --repair of harmless leftovers, nothing at all).
 *
 * Kills mid-PATCH (tus) and mid-compression / mid-promotion (hot/cold) have their own tests in
 * test/integration/tus-protocol.test.ts and hot-cold-crash.test.ts (which also run fsck); the
 * random rounds below mix tus uploads and cold reads with everything else.
 */
import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { fsckCli } from '../helpers/fsck.js';
import { waitFor } from '../helpers/wait.js';
import { Prng } from '../helpers/prng.js';
import { addClientToDataDir, makeDataDir, spawnServer, type ChildServer } from '../helpers/server.js';

const MB = 1024 * 1024;
/** What a crash may leave behind that is harmless and reclaimed by fsck --repair. */
const LEFTOVERS = new Set(['orphan-blob', 'unreferenced-blob', 'orphan-part', 'missing-part']);

interface Env {
  dataDir: string;
  token: string;
  auth: Record<string, string>;
}

/** A fresh data dir with client alice for the enclosing describe block. */
function useEnv(): () => Env {
  let env: Env | undefined;
  beforeAll(async () => {
    const dataDir = await makeDataDir();
    const token = await addClientToDataDir(dataDir, 'alice');
    env = { dataDir, token, auth: { Authorization: `Bearer ${token}` } };
  });
  afterAll(async () => {
    if (env) await rm(env.dataDir, { recursive: true, force: true });
  });
  return () => env as Env;
}

/** Every file the server lists for alice, with its SHA-256 (all pages). */
async function listed(srv: ChildServer, env: Env): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  let cursor = '';
  for (;;) {
    const r = await fetch(`${srv.url}/api/files?prefix=alice/&limit=1000${cursor ? `&cursor=${cursor}` : ''}`, { headers: env.auth });
    expect(r.status).toBe(200);
    const page = (await r.json()) as { items: { path: string; sha256: string }[]; nextCursor: string | null };
    for (const i of page.items) out.set(i.path, i.sha256);
    if (!page.nextCursor) return out;
    cursor = encodeURIComponent(page.nextCursor);
  }
}

/** Downloads every listed file and checks its bytes against the SHA-256 it is listed with. */
async function downloadAll(srv: ChildServer, env: Env, files: Map<string, string>): Promise<void> {
  for (const [path, sha] of files) {
    const r = await fetch(`${srv.url}/files/${path.split('/').map(encodeURIComponent).join('/')}`, { headers: env.auth });
    expect(r.status, path).toBe(200);
    expect((await sha256Body(r)).sha256, path).toBe(sha);
  }
}

async function tmpEntries(dataDir: string): Promise<{ name: string; size: number }[]> {
  const names = await readdir(join(dataDir, 'tmp')).catch(() => [] as string[]);
  const out = [];
  for (const name of names) {
    const st = await stat(join(dataDir, 'tmp', name)).catch(() => undefined);
    if (st) out.push({ name, size: st.size });
  }
  return out;
}

/** After a crash: start again and check that tmp/ was cleared of what the crash left. */
async function restartAndCheck(env: Env, args: string[] = []): Promise<ChildServer> {
  const leftovers = new Set((await tmpEntries(env.dataDir)).map((e) => e.name));
  const srv = await spawnServer(env.dataDir, args);
  // Whatever the crash left in tmp/ is gone (the new server's own sweeper may already write there).
  expect((await tmpEntries(env.dataDir)).filter((e) => leftovers.has(e.name))).toEqual([]);
  return srv;
}

/** After a clean stop: fsck finds no error; harmless leftovers are repaired, then nothing is left. */
async function fsckAfterStop(env: Env): Promise<void> {
  const check = await fsckCli(env.dataDir);
  expect(check.findings.filter((f) => f.severity === 'error')).toEqual([]);
  expect(check.findings.filter((f) => !LEFTOVERS.has(f.kind))).toEqual([]);
  if (check.findings.length > 0) expect((await fsckCli(env.dataDir, ['--repair'])).code).toBe(0);
  expect((await fsckCli(env.dataDir)).findings).toEqual([]);
}

/** A streamed body of `size` bytes, made as it is sent (never whole in memory). */
function generatedBody(size: number): ReadableStream<Uint8Array> {
  const seed = randomBytes(64);
  let sent = 0;
  let n = 0;
  return new ReadableStream<Uint8Array>({
    pull(c) {
      if (sent >= size) return c.close();
      const len = Math.min(MB, size - sent);
      // Cheap to make (no randomBytes per MiB) yet distinct per chunk and per run.
      const chunk = Buffer.alloc(len, seed);
      chunk.writeUInt32LE(n++, 0);
      sent += chunk.byteLength;
      c.enqueue(chunk);
    },
  });
}

async function put(srv: ChildServer, env: Env, path: string, body: BodyInit | ReadableStream<Uint8Array>): Promise<Response> {
  return fetch(`${srv.url}/files/${path}`, { method: 'PUT', headers: env.auth, body, duplex: 'half' } as RequestInit);
}

describe('SIGKILL during a large PUT', () => {
  const current = useEnv();

  it('keeps every committed file, shows nothing of the torn upload, and the old content of a file being replaced', { timeout: 300_000 }, async () => {
    const env = current();
    let srv = await spawnServer(env.dataDir);
    const committed = new Map<string, string>();
    for (let i = 0; i < 5; i++) {
      const body = randomBytes(i * 300_000 + 1);
      expect((await put(srv, env, `alice/before/${i}.bin`, new Uint8Array(body))).status).toBe(201);
      committed.set(`alice/before/${i}.bin`, sha256(body));
    }
    const old = randomBytes(100_000);
    expect((await put(srv, env, 'alice/replaced.bin', new Uint8Array(old))).status).toBe(201);
    committed.set('alice/replaced.bin', sha256(old));

    for (const target of ['alice/new-big.bin', 'alice/replaced.bin']) {
      const upload = put(srv, env, target, generatedBody(512 * MB)).catch(() => undefined);
      // Killed once a good part of the body sits in tmp/.
      await waitFor('a large upload in tmp/', async () => (await tmpEntries(env.dataDir)).some((e) => e.size > 20 * MB));
      await srv.kill();
      expect(await upload).toBeUndefined();
      srv = await restartAndCheck(env);
      const files = await listed(srv, env);
      expect(files).toEqual(committed);
      await downloadAll(srv, env, files);
      expect((await fetch(`${srv.url}/files/alice/new-big.bin`, { headers: env.auth })).status).toBe(404);
      await srv.stop();
      await fsckAfterStop(env);
      srv = await spawnServer(env.dataDir);
    }
    await srv.stop();
  });
});

describe('SIGKILL during deletes', () => {
  const current = useEnv();

  it.each([5, 20, 60])('each file is either whole or gone after a kill %i ms into 150 concurrent deletes', { timeout: 180_000 }, async (delayMs) => {
    const env = current();
    let srv = await spawnServer(env.dataDir);
    const shared = randomBytes(50_000);
    const expected = new Map<string, string>();
    for (let i = 0; i < 200; i++) {
      // Every fifth file shares its content with others (deduplicated blobs).
      const body = i % 5 === 0 ? shared : randomBytes(20_000 + i);
      const p = `alice/del-${delayMs}/${i % 7}/f${i}.bin`;
      expect((await put(srv, env, p, new Uint8Array(body))).status).toBe(201);
      expected.set(p, sha256(body));
    }
    const doomed = [...expected.keys()].slice(0, 150);
    const deletes = doomed.map((p) => fetch(`${srv.url}/files/${p}`, { method: 'DELETE', headers: env.auth }).then((r) => r.status, () => 0));
    await new Promise((r) => setTimeout(r, delayMs));
    await srv.kill();
    const statuses = await Promise.all(deletes);
    srv = await restartAndCheck(env);
    const files = await listed(srv, env);
    for (const [p, s] of expected) {
      const confirmedGone = statuses[doomed.indexOf(p)] === 204;
      if (confirmedGone) expect(files.has(p), p).toBe(false);
      else if (!doomed.includes(p)) expect(files.get(p), p).toBe(s);
      if (files.has(p)) expect(files.get(p)).toBe(s);
    }
    await downloadAll(srv, env, files);
    // Clean up for the next round.
    for (const p of files.keys()) await fetch(`${srv.url}/files/${p}`, { method: 'DELETE', headers: env.auth });
    await srv.stop();
    await fsckAfterStop(env);
  });
});

describe('SIGKILL at random moments of a mixed workload', () => {
  const current = useEnv();

  it('4 seeded rounds of PUT, tus, DELETE and reads of cold files; every file whole or in its earlier state', { timeout: 300_000 }, async () => {
    const env = current();
    const rng = new Prng(0x5eed);
    const args = ['--hot-time', '500ms', '--sweep-interval', '100ms'];
    /** Per path, the content the server confirmed last (absent: not there). */
    const confirmed = new Map<string, string>();
    const tusHeaders = { 'Tus-Resumable': '1.0.0' };
    let done = 0;
    let interrupted = 0;
    for (let round = 0; round < 4; round++) {
      const srv = await spawnServer(env.dataDir, args);
      /** Per path, the content an unanswered request may have left instead (null: deleted). */
      const maybe = new Map<string, string | null>();
      const failures: string[] = [];
      let killed = false;
      const busy = new Set<string>();
      const ops: Promise<void>[] = [];
      // Killed after a random number of completed requests (not a fixed time: a loaded machine is slow).
      const target = done + rng.int(10, 40);
      const worker = async (w: number) => {
        for (let n = 0; !killed; n++) {
          const existing = [...confirmed.keys()].filter((p) => !busy.has(p));
          const wanted = rng.pick(['put', 'put', 'tus', 'delete', 'read'] as const);
          const kind = existing.length === 0 && (wanted === 'delete' || wanted === 'read') ? 'put' : wanted;
          const path = kind === 'delete' || kind === 'read' ? rng.pick(existing) : `alice/r${round}/w${w}/${n}.${rng.pick(['txt', 'bin'])}`;
          if (busy.has(path)) continue;
          busy.add(path);
          try {
            if (kind === 'delete') {
              maybe.set(path, null);
              const r = await fetch(`${srv.url}/files/${path}`, { method: 'DELETE', headers: env.auth });
              expect(r.status).toBe(204);
              confirmed.delete(path);
            } else if (kind === 'read') {
              const r = await fetch(`${srv.url}/files/${path}`, { headers: env.auth });
              expect((await sha256Body(r)).sha256).toBe(confirmed.get(path));
            } else {
              const size = rng.int(0, 7) === 0 ? rng.int(1, 2 * MB) : rng.int(0, 64 * 1024);
              const body = path.endsWith('.txt') ? Buffer.from(`${path} `.repeat(Math.ceil(size / path.length) + 1)).subarray(0, size) : randomBytes(size);
              expect(body.length).toBe(size);
              maybe.set(path, sha256(body));
              if (kind === 'put') {
                expect((await put(srv, env, path, new Uint8Array(body))).status).toBe(201);
              } else {
                const meta = `path ${Buffer.from(path).toString('base64')}`;
                const created = await fetch(`${srv.url}/uploads/`, {
                  method: 'POST',
                  headers: { ...env.auth, ...tusHeaders, 'Upload-Length': String(size), 'Upload-Metadata': meta },
                });
                expect(created.status).toBe(201);
                const url = new URL(created.headers.get('location') as string, `${srv.url}/uploads/`).href;
                const half = Math.floor(size / 2);
                for (const [from, to] of [
                  [0, half],
                  [half, size],
                ] as const) {
                  if (to === from && size > 0) continue;
                  const r = await fetch(url, {
                    method: 'PATCH',
                    headers: { ...env.auth, ...tusHeaders, 'Upload-Offset': String(from), 'Content-Type': 'application/offset+octet-stream' },
                    body: new Uint8Array(body.subarray(from, to)),
                  });
                  expect(r.status).toBe(204);
                  expect(r.headers.get('upload-offset')).toBe(String(to));
                }
              }
              confirmed.set(path, sha256(body));
            }
            maybe.delete(path);
            busy.delete(path);
            done++;
          } catch (err) {
            // The kill: this request's outcome is unknown; keep the path busy so nothing else touches it.
            if (!killed) failures.push(`${kind} ${path}: ${(err as Error).stack ?? String(err)}`);
            return;
          }
        }
      };
      for (let w = 0; w < 8; w++) ops.push(worker(w));
      await waitFor('requests to complete', () => done >= target || failures.length > 0, 120_000, 1);
      await new Promise((r) => setTimeout(r, rng.int(0, 30)));
      killed = true;
      interrupted += busy.size;
      await srv.kill();
      await Promise.all(ops);
      expect(failures).toEqual([]);

      const again = await restartAndCheck(env, args);
      const files = await listed(again, env);
      for (const [p, s] of files) {
        const allowed = [confirmed.get(p), maybe.get(p)];
        expect(allowed, `${p} round ${round}`).toContain(s);
      }
      for (const [p, s] of confirmed) {
        if (!maybe.has(p)) expect(files.get(p), `${p} round ${round}`).toBe(s);
      }
      await downloadAll(again, env, files);
      confirmed.clear();
      for (const [p, s] of files) confirmed.set(p, s);
      await again.stop();
      await fsckAfterStop(env);
    }
    // The rounds did real work, and the kills did land in the middle of requests.
    expect(done).toBeGreaterThan(20);
    expect(interrupted).toBeGreaterThan(4);
  });
});
