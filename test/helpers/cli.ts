import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ROOT } from './server.js';

const execFileP = promisify(execFile);

export interface Exit {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs one of our entry points with tsx and returns its exit code and output (failures included). */
export async function runEntry(entry: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<Exit> {
  try {
    const r = await execFileP(process.execPath, ['--import', 'tsx', join(ROOT, entry), ...args], { cwd: ROOT, env: { ...process.env, ...env } });
    return { code: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
