/**
 * What the tests and the benchmarks both need of our server as a child process: the port from
 * its listening line, and a client added to a data dir before it starts. One copy for both
 * (test/helpers/server.ts spawns the sources through tsx, bench/our-server.ts the build).
 */
import type { ChildProcess } from 'node:child_process';
import { catalogFile } from '../adapters/node/backends.js';
import { createClient } from '../adapters/node/tokens.js';
import { SqliteCatalog } from '../storage/catalog/sqlite/sqlite-catalog.js';

/** The port of `child`'s `listening on http://host:PORT` line; rejects (with its output) if it exits or stays silent. */
export function listeningPort(child: ChildProcess, output: () => string, timeoutMs: number): Promise<number> {
  return new Promise<number>((res, rej) => {
    const done = () => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    const onData = () => {
      const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(output());
      if (m) {
        done();
        res(Number(m[1]));
      }
    };
    const onExit = (code: number | null) => {
      done();
      rej(new Error(`the server exited with ${code} before listening:\n${output()}`));
    };
    const timer = setTimeout(() => {
      done();
      rej(new Error(`the server did not start within ${timeoutMs / 1000} s:\n${output()}`));
    }, timeoutMs);
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    onData();
  });
}

/** Adds a client to a data dir's SQLite catalog directly (as `npm run admin -- add-client` does); returns its token. */
export async function addClientToDataDir(dataDir: string, name: string, admin = false): Promise<string> {
  const catalog = new SqliteCatalog({ file: catalogFile(dataDir) });
  try {
    return await createClient(catalog, name, admin);
  } finally {
    await catalog.close();
  }
}
