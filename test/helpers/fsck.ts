import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Finding, FsckSummary } from '../../storage/fsck.js';
import { ROOT } from './server.js';

const run = promisify(execFile);

export interface FsckResult {
  code: number;
  stdout: string;
  summary: FsckSummary;
  findings: Finding[];
  lost: { path: string; sha256: string }[];
}

/** Runs `npm run admin -- fsck --json [args]` on a data dir, as an operator would. */
export async function fsckCli(dataDir: string, args: string[] = []): Promise<FsckResult> {
  const r = await run(process.execPath, ['--import', 'tsx', join(ROOT, 'adapters/node/admin.ts'), 'fsck', '--json', '--data', dataDir, ...args], { cwd: ROOT }).catch(
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

/** The kinds of the findings, sorted, for compact assertions. */
export function kinds(r: FsckResult): string[] {
  return r.findings.map((f) => f.kind).sort();
}
