import { spawn, type ChildProcess } from 'node:child_process';
import { utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseClientArgs, type ClientConfig } from '../../client/args.js';
import { encodeRemotePath } from '../../client/remote-path.js';
import { sha256Body } from '../helpers/bytes.js';
import { ROOT, type TestServer } from '../helpers/server.js';

/** Fast retries for tests: the production policies wait seconds. */
export const QUICK = { connectRetry: { attempts: 3, baseMs: 50, maxMs: 100 }, uploadRetry: { attempts: 3, baseMs: 50, maxMs: 100 } };

/** A real ClientConfig from command-line flags, as main.ts builds it. */
export function clientConfig(folder: string, server: { url: string }, token: string, statePath: string, extra: string[] = []): ClientConfig {
  const parsed = parseClientArgs([folder, '--server', server.url, '--token', token, '--state', statePath, ...extra], {
    env: {},
    cwd: tmpdir(),
    homedir: tmpdir(),
    platform: process.platform,
  });
  if (parsed.help) throw new Error('unexpected --help');
  return parsed.config;
}

/** Collects the client's output lines. */
export function captureOutput(): { out: { write(t: string): void }; text(): string; lines(): string[] } {
  let text = '';
  return {
    out: { write: (t: string) => void (text += t) },
    text: () => text,
    lines: () => text.split('\n').filter(Boolean),
  };
}

/** A file as the server has it: status, and the SHA-256 and size of what GET returns. */
export async function serverFile(s: TestServer, remote: string, who: 'alice' | 'bob' = 'alice') {
  const res = await fetch(`${s.url}/files/${encodeRemotePath(remote)}`, { headers: s.auth(who) });
  if (res.status !== 200) {
    await res.body?.cancel();
    return { status: res.status, sha256: undefined, size: undefined };
  }
  return { status: res.status, ...(await sha256Body(res)) };
}

/** Everything the server lists under a prefix (all pages). */
export async function listServer(s: TestServer, prefix: string, who: 'alice' | 'bob' = 'alice') {
  const items: { path: string; sha256: string; size: number; uploadedAt: number; mtime: number | null }[] = [];
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ prefix, limit: '1000', ...(cursor ? { cursor } : {}) });
    const res = await fetch(`${s.url}/api/files?${q}`, { headers: s.auth(who) });
    const body = (await res.json()) as { items: typeof items; nextCursor: string | null };
    items.push(...body.items);
    cursor = body.nextCursor;
  } while (cursor);
  return items;
}

/** Pretends a file was last written a while ago (so --settle does not hold it back). */
export async function age(path: string, secondsAgo = 60): Promise<void> {
  const t = new Date(Date.now() - secondsAgo * 1000);
  await utimes(path, t, t);
}

/** Timeout of tests that start the client as its own process (tsx compiles it first): slow on a busy CI box. */
export const CHILD_TEST_MS = 180_000;

export interface ChildClient {
  child: ChildProcess;
  output(): string;
  exited: Promise<number | null>;
}

/** Runs `client/main.ts` as its own process, as `npm run client` would. */
export function spawnClient(args: string[], env: NodeJS.ProcessEnv = {}): ChildClient {
  return spawnEntry('client/main.ts', args, env);
}

/** Runs `client/restore-main.ts` as its own process, as `npm run restore` would. */
export function spawnRestore(args: string[], env: NodeJS.ProcessEnv = {}): ChildClient {
  return spawnEntry('client/restore-main.ts', args, env);
}

function spawnEntry(entry: string, args: string[], env: NodeJS.ProcessEnv): ChildClient {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry), ...args], {
    cwd: ROOT,
    env: { ...process.env, CB_SERVER: undefined, CB_TOKEN: undefined, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  return { child, output: () => out, exited };
}

/** Runs the client (or `spawn`'s other entry) to completion (bounded), returning exit code and output. */
export async function runClient(args: string[], env: NodeJS.ProcessEnv = {}, timeoutMs = 60_000, start = spawnClient): Promise<{ code: number | null; output: string }> {
  const c = start(args, env);
  const timer = setTimeout(() => c.child.kill('SIGKILL'), timeoutMs);
  const code = await c.exited;
  clearTimeout(timer);
  return { code, output: c.output() };
}

