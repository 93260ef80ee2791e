import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { loadConfig, type ServerConfig } from '../../adapters/node/config.js';
import { addClientToDataDir, listeningPort } from '../../scripts/server-child.js';
import { startServer, type RunningServer } from '../../adapters/node/server.js';
import { createClient } from '../../adapters/node/tokens.js';
import type { Catalog } from '../../storage/catalog/catalog.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');

export interface TestServer {
  url: string;
  dataDir: string;
  server: RunningServer;
  /** Tokens of the clients every test server starts with: alice, bob, and root (admin). */
  tokens: { alice: string; bob: string; root: string };
  logs: string[];
  /** `Authorization` header for one of the built-in clients. */
  auth(who: 'alice' | 'bob' | 'root'): Record<string, string>;
  stop(): Promise<void>;
}

export async function makeDataDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'cb-test-'));
}

/** Starts the real server in-process on 127.0.0.1 with a fresh temp data dir. */
export async function startTestServer(
  overrides: Partial<ServerConfig> = {},
  options: { dataDir?: string; keepData?: boolean } = {},
): Promise<TestServer> {
  const dataDir = options.dataDir ?? (await makeDataDir());
  // A small space reserve: every test server writes one at start-up.
  const config: ServerConfig = { ...loadConfig([], {}), host: '127.0.0.1', port: 0, dataDir, diskReserveBytes: 1 << 20, ...overrides };
  const logs: string[] = [];
  const server = await startServer(config, (line) => logs.push(line));
  const catalogId = config.databaseUrl || join(dataDir, 'catalog.sqlite');
  const tokens = {
    alice: await ensureClient(server.catalog, catalogId, 'alice'),
    bob: await ensureClient(server.catalog, catalogId, 'bob'),
    root: await ensureClient(server.catalog, catalogId, 'root', true),
  };
  return {
    url: server.url,
    dataDir,
    server,
    tokens,
    logs,
    auth: (who) => ({ Authorization: `Bearer ${tokens[who]}` }),
    async stop() {
      await server.close(2000);
      if (!options.keepData) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

const tokenCache = new Map<string, string>();

/** Creates a client once per catalog (file or database URL); later calls return the same token. */
async function ensureClient(catalog: Catalog, catalogId: string, name: string, admin = false): Promise<string> {
  const key = `${catalogId}:${name}`;
  const known = tokenCache.get(key);
  if (known && (await catalog.getClient(name))) return known;
  const token = await createClient(catalog, name, admin);
  tokenCache.set(key, token);
  return token;
}

export interface ChildServer {
  url: string;
  port: number;
  child: ChildProcess;
  output: () => string;
  /** SIGKILL, as a crash would. */
  kill(): Promise<void>;
  /** SIGTERM and wait for the exit code. */
  stop(): Promise<number | null>;
}

/**
 * Starts `adapters/node/main.ts` as a separate process (for crash tests and memory readings)
 * with the given data dir; resolves once it listens.
 */
export async function spawnServer(dataDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<ChildServer> {
  return awaitListening(spawnEntry('adapters/node/main.ts', dataDir, args, env, 'ignore'));
}

/** `entry` through tsx on 127.0.0.1, a free port and `dataDir`, then `args` (a later flag wins). */
function spawnEntry(entry: string, dataDir: string, args: string[], env: NodeJS.ProcessEnv, stdin: 'ignore' | 'pipe'): ChildProcess {
  return spawn(process.execPath, ['--import', 'tsx', join(ROOT, entry), '--host', '127.0.0.1', '--port', '0', '--data', dataDir, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: [stdin, 'pipe', 'pipe'],
  });
}

/**
 * A server process for `dataDir` with its code loaded but not started (test/helpers/server-on-cue.ts):
 * `start()` lets it open the data dir and listen, and resolves once it does. For a restart under
 * a running client whose retries would give up if the new process took a tsx compile on a busy
 * machine to come back: preload it first, kill the old one, then start this one.
 */
export async function preloadServer(dataDir: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<{ start(): Promise<ChildServer>; kill(): void }> {
  const child = spawnEntry('test/helpers/server-on-cue.ts', dataDir, args, env, 'pipe');
  let early = '';
  const collect = (d: Buffer) => (early += d.toString());
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`the preloaded server did not load within 90 s:\n${early}`)), 90_000);
    const onData = () => {
      if (/^loaded$/m.test(early)) done();
    };
    const onExit = (code: number | null) => done(new Error(`the preloaded server exited with ${code}:\n${early}`));
    function done(err?: Error) {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      if (err) {
        child.kill('SIGKILL');
        reject(err);
      } else resolve();
    }
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
  child.stdout?.off('data', collect);
  child.stderr?.off('data', collect);
  return {
    start() {
      const listening = awaitListening(child);
      child.stdin?.write('go\n');
      return listening;
    },
    /** Not needed after start() (the ChildServer stops it then). */
    kill() {
      child.kill('SIGKILL');
    },
  };
}

/** Collects a server process's output and resolves once it prints its listening line. */
export async function awaitListening(child: ChildProcess): Promise<ChildServer> {
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  const port = await listeningPort(child, () => out, 90_000);
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    child,
    output: () => out,
    async kill() {
      child.kill('SIGKILL');
      await exited;
    },
    async stop() {
      child.kill('SIGTERM');
      return exited;
    },
  };
}

export { addClientToDataDir };
