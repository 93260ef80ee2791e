import { readFileSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * `<data>/server.pid` says which process serves a data dir, so that `admin fsck --repair` does
 * not delete a blob a running server is just committing. It holds the pid and, on Linux, the
 * process start time, so a stale file whose pid was reused (after a crash or reboot) is not
 * mistaken for a live server.
 */
export function pidFile(dataDir: string): string {
  return join(dataDir, 'server.pid');
}

/** Start time of a process in clock ticks since boot (Linux), or '' where /proc is absent. */
function startTimeOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces, so count from its closing ')'.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? '';
  } catch {
    return '';
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Records this process as the data dir's server; returns the function that removes the record. */
export async function claimPidFile(dataDir: string): Promise<() => Promise<void>> {
  const content = `${process.pid} ${startTimeOf(process.pid)}\n`;
  await writeFile(pidFile(dataDir), content);
  return async () => {
    // Only our own record: a server started later on the same dir may have replaced it.
    if ((await readFile(pidFile(dataDir), 'utf8').catch(() => '')) === content) await rm(pidFile(dataDir), { force: true });
  };
}

/** The pid of a live server on this data dir, or undefined (none, or a stale record). */
export async function liveServerPid(dataDir: string): Promise<number | undefined> {
  const text = await readFile(pidFile(dataDir), 'utf8').catch(() => '');
  const [pidText, started = ''] = text.trim().split(' ');
  const pid = Number(pidText);
  if (!Number.isSafeInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  if (started !== '' && startTimeOf(pid) !== '' && startTimeOf(pid) !== started) return undefined;
  return pid;
}
