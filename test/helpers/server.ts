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
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'adapters/node/main.ts'), '--host', '127.0.0.1', '--port', '0', '--data', dataDir, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  return awaitListening(child);
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
