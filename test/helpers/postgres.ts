import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { chown, mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';

const run = promisify(execFile);

export interface TestPostgres {
  /** postgres://postgres@127.0.0.1:PORT/postgres (trust authentication, loopback only). */
  adminUrl: string;
  port: number;
  /** Creates a fresh empty database and returns its URL. */
  createDatabase(name?: string): Promise<string>;
  stop(): Promise<void>;
}

/** Folder with initdb / pg_ctl: Debian's /usr/lib/postgresql/<major>/bin, else PATH. */
export function findPostgresBin(): string | undefined {
  const base = '/usr/lib/postgresql';
  if (existsSync(base)) {
    const majors = readdirSync(base).filter((d) => /^\d+$/.test(d)).sort((a, b) => Number(b) - Number(a));
    for (const m of majors) if (existsSync(join(base, m, 'bin', 'pg_ctl'))) return join(base, m, 'bin');
  }
  for (const dir of (process.env.PATH ?? '').split(':')) if (dir && existsSync(join(dir, 'pg_ctl')) && existsSync(join(dir, 'initdb'))) return dir;
  return undefined;
}

/**
 * Why PostgreSQL tests cannot run here, or undefined when they can. Under CI (CI set, as
 * .ci/run does) a missing PostgreSQL is an error, not a skip: a green CI run covers both catalogs.
 */
export function postgresUnavailable(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (findPostgresBin()) return undefined;
  const reason = 'PostgreSQL binaries (initdb, pg_ctl) not found: apt-get install -y postgresql';
  if (env.CI && env.CI !== 'false' && env.CI !== '0') throw new Error(`${reason} (CI is set: the PostgreSQL tests must run, not be skipped)`);
  return reason;
}

async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => res(port));
    });
  });
}

/** PostgreSQL refuses to run as root: as root, run its tools as the `postgres` user. */
async function runAs(): Promise<{ uid: number; gid: number } | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

let dbCounter = 0;

/**
 * Starts a throwaway PostgreSQL cluster: initdb into a temp dir, then the server on 127.0.0.1
 * (a free port, unix socket in the same dir, fsync off since the data is thrown away).
 */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = findPostgresBin();
  if (!bin) throw new Error(postgresUnavailable());
  const dir = await mkdtemp(join(tmpdir(), 'cb-pg-'));
  const user = await runAs();
  if (user) await chown(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const opts = { ...(user ?? {}), env: { ...process.env, LC_ALL: 'C' } };
  await run(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '-N'], opts);
  let port = 0;
  for (let attempt = 0; ; attempt++) {
    port = await freePort();
    try {
      await run(
        join(bin, 'pg_ctl'),
        ['-D', data, '-l', join(dir, 'log'), '-w', '-t', '30', 'start', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=60`],
        opts,
      );
      break;
    } catch (err) {
      // Someone may have taken the port between our probe and the server's bind.
      if (attempt >= 2) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
    }
  }
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  return {
    adminUrl,
    port,
    async createDatabase(name = `cb_${process.pid}_${++dbCounter}`) {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      try {
        // A locale whose order is not byte order (ICU en-US: 'a' < 'B'), so that tests notice a
        // query that forgets the catalog's COLLATE "C"; plain when this build has no ICU.
        await client
          .query(`create database "${name}" template template0 locale_provider icu icu_locale 'en-US'`)
          .catch(() => client.query(`create database "${name}"`));
      } finally {
        await client.end();
      }
      return `postgres://postgres@127.0.0.1:${port}/${name}`;
    },
    async stop() {
      await new Promise<void>((res) => {
        const p = spawn(join(bin, 'pg_ctl'), ['-D', data, '-m', 'immediate', '-w', 'stop'], { ...opts, stdio: 'ignore' });
        p.once('exit', () => res());
        p.once('error', () => res());
      });
      await rm(dir, { recursive: true, force: true });
    },
  };
}
