import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Finding, FsckSummary } from '../../storage/fsck/fsck.js';
import { fsckCommand } from '../../adapters/node/fsck-command.js';
import { loadConfig } from '../../adapters/node/config.js';
import { catalogFile } from '../../adapters/node/server.js';
import type { SqlCatalog } from '../../storage/catalog/sql-catalog.js';
import { PgCatalog } from '../../storage/catalog/pg/pg-catalog.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { ROOT } from './server.js';

const run = promisify(execFile);

export interface FsckResult {
  code: number;
  stdout: string;
  summary: FsckSummary;
  findings: Finding[];
  lost: { path: string; sha256: string }[];
}

/**
 * Runs `admin fsck --json [args]` on a data dir: by default in this process (the same command
 * code, without a process start), with `cli` as a child process exactly as an operator would.
 * `env` picks other storage (CB_STORAGE=s3 and CB_S3_*, CB_DATABASE_URL) as for a server.
 */
export async function fsckCli(dataDir: string, args: string[] = [], options: { cli?: boolean; env?: Record<string, string> } = {}): Promise<FsckResult> {
  const env = options.env ?? {};
  if (!options.cli) return fsckInProcess(dataDir, args, env);
  const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'adapters/node/admin.ts'), 'fsck', '--json', '--data', dataDir, ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  }).catch(
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
  const code = 'code' in r && typeof r.code === 'number' ? r.code : 0;
  const last = r.stdout.trim().split('\n').pop() ?? '';
  const parsed = last.startsWith('{') ? (JSON.parse(last) as Omit<FsckResult, 'code' | 'stdout'>) : undefined;
  return {
    code,
    stdout: r.stdout + ('stderr' in r ? r.stderr : ''),
    summary: parsed?.summary ?? { errors: -1, warnings: -1, repaired: -1, remaining: -1 },
    findings: parsed?.findings ?? [],
    lost: parsed?.lost ?? [],
  };
}

async function fsckInProcess(dataDir: string, args: string[], env: Record<string, string>): Promise<FsckResult> {
  const lines: string[] = [];
  const config = loadConfig(['--data', dataDir], env);
  const catalog: SqlCatalog = config.databaseUrl ? await PgCatalog.open({ url: config.databaseUrl }) : new SqliteCatalog({ file: catalogFile(dataDir) });
  let code: number;
  try {
    const flags = { repair: args.includes('--repair'), quick: args.includes('--quick'), force: args.includes('--force'), json: true };
    code = await fsckCommand(config, catalog, flags, (line) => lines.push(line));
  } finally {
    await catalog.close();
  }
  const last = lines[lines.length - 1] ?? '';
  const parsed = last.startsWith('{') ? (JSON.parse(last) as Omit<FsckResult, 'code' | 'stdout'>) : undefined;
  return {
    code,
    stdout: lines.join('\n'),
    summary: parsed?.summary ?? { errors: -1, warnings: -1, repaired: -1, remaining: -1 },
    findings: parsed?.findings ?? [],
    lost: parsed?.lost ?? [],
  };
}

/** The kinds of the findings, sorted, for compact assertions. */
export function kinds(r: FsckResult): string[] {
  return r.findings.map((f) => f.kind).sort();
}
