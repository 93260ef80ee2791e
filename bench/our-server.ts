/** Our server as a child process (the compiled `dist/adapters/node/main.js`), as `npm run serve:node` runs it. */
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { DIST } from '../scripts/ensure-build.js';
import { addClientToDataDir, listeningPort } from '../scripts/server-child.js';
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

/** Every bench client connects from 127.0.0.1: lift the per-address cap above the 1000-client row. */
const BENCH_ARGS = ['--max-connections-per-address', '4096'];

export async function startOurServer(o: OurServerOptions): Promise<OurServer> {
  const client = o.client ?? 'bench';
  await mkdir(o.dataDir, { recursive: true });
  const token = o.token ?? (await addClientToDataDir(o.dataDir, client));
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
  const port = await listeningPort(child, () => out, 60_000);
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
