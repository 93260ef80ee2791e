/**
 * Every process the benchmark starts, so that none outlives it: each is stopped by its own
 * handle at the end of its row, and whatever is left is killed when the benchmark exits.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';

const live = new Set<ChildProcess>();

process.once('exit', () => {
  for (const c of live) c.kill('SIGKILL');
});

export function startChild(cmd: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves with the exit code once the child is gone. */
export function exited(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

/** Sends `signal`, waits up to `graceMs`, then SIGKILL. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = exited(child);
  child.kill(signal);
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await gone;
  clearTimeout(timer);
}

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  timedOut: boolean;
}

/** Runs a command to completion, killed after `timeoutMs`; keeps the last 64 KiB of each output. */
export async function run(cmd: string, args: readonly string[], timeoutMs: number, options: SpawnOptions = {}): Promise<RunResult> {
  const t0 = process.hrtime.bigint();
  const child = startChild(cmd, args, options);
  let stdout = '';
  let stderr = '';
  const keep = (s: string) => (s.length > 65_536 ? s.slice(-65_536) : s);
  child.stdout?.on('data', (d: Buffer) => (stdout = keep(stdout + d.toString())));
  child.stderr?.on('data', (d: Buffer) => (stderr = keep(stderr + d.toString())));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  const code = await new Promise<number | null>((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (c) => resolve(c));
  });
  clearTimeout(timer);
  return { code, stdout, stderr, seconds: Number(process.hrtime.bigint() - t0) / 1e9, timedOut };
}
