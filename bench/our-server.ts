/** Our server as a child process (the compiled `dist/adapters/node/main.js`), as `npm run serve:node` runs it. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { catalogFile } from '../adapters/node/server.js';
import { createClient } from '../adapters/node/tokens.js';
import { SqliteCatalog } from '../storage/sqlite-catalog.js';
import { DIST } from '../scripts/ensure-build.js';
import { startChild, stopChild } from './children.js';

export const ROOT = resolve(import.meta.dirname, '..');

export interface OurServer {
  url: string;
  pid: number;
  dataDir: string;
  /** The benchmark client's name: it writes to `${client}/...`. */
  client: string;
  token: string;
  /** A curl header file (`-H @file`), so that the token stays out of `ps`. */
  authFile: string;
  /** Milliseconds from spawning node to the listening line. */
  startMs: number;
  output(): string;
  stop(): Promise<void>;
}

export interface OurServerOptions {
  dataDir: string;
  /** Server flags, e.g. ['--durable', 'false']. */
  args?: string[];
  /** Extra node flags, e.g. ['--cpu-prof'] (BENCH_NODE_ARGS adds to them). */
  nodeArgs?: string[];
  client?: string;
  /** The client's token when the data dir already has it (a restart); otherwise it is added. */
  token?: string;
  /** 'dist' (default): the compiled build; 'tsx': the sources through tsx, as before the build existed. */
  runtime?: 'dist' | 'tsx';
}

/** Adds the client to the data dir's catalog (as `npm run admin -- add-client` does). */
export async function addClient(dataDir: string, name: string): Promise<string> {
  const catalog = new SqliteCatalog({ file: catalogFile(dataDir) });
  try {
    return await createClient(catalog, name);
  } finally {
    await catalog.close();
  }
}

/** Every bench client connects from 127.0.0.1: lift the per-address cap above the 1000-client row. */
const BENCH_ARGS = ['--max-connections-per-address', '4096'];

export async function startOurServer(o: OurServerOptions): Promise<OurServer> {
  const client = o.client ?? 'bench';
  await mkdir(o.dataDir, { recursive: true });
  const token = o.token ?? (await addClient(o.dataDir, client));
  const authFile = join(o.dataDir, '..', `${client}-${Date.now()}.auth`);
  await writeFile(authFile, `Authorization: Bearer ${token}\n`, { mode: 0o600 });
  await chmod(authFile, 0o600);
  const envArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const entry = o.runtime === 'tsx' ? ['--import', 'tsx', join(ROOT, 'adapters/node/main.ts')] : [join(DIST, 'adapters/node/main.js')];
  const t0 = performance.now();
  const child = startChild(
    process.execPath,
    [...(o.nodeArgs ?? []), ...envArgs, ...entry, '--host', '127.0.0.1', '--port', '0', '--data', o.dataDir, ...BENCH_ARGS, ...(o.args ?? [])],
    { cwd: ROOT },
  );
  let out = '';
  const keep = (d: Buffer) => {
    out = (out + d.toString()).slice(-65_536);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const port = await new Promise<number>((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`our server did not start within 60 s:\n${out}`)), 60_000);
    const onData = () => {
      const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        res(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      rej(new Error(`our server exited with ${code}:\n${out}`));
    });
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    startMs: performance.now() - t0,
    dataDir: o.dataDir,
    client,
    token,
    authFile,
    output: () => out,
    stop: () => stopChild(child, 'SIGTERM', 15_000),
  };
}
