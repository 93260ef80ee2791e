import type { Output } from './progress.js';

/**
 * stdout with the writes of one event-loop turn gathered into one: to a pipe or a file each write
 * is a synchronous system call, and a backup of 10,000 small files prints 10,000 lines (one
 * write each cost the client ~0.3 s of CPU here). Order is kept; what is gathered is written when
 * the process exits.
 */
export function gatheredOutput(out: { write(text: string): unknown } = process.stdout): Output {
  let pending: string[] = [];
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    if (pending.length === 0) return;
    const text = pending.join('');
    pending = [];
    out.write(text);
  };
  process.once('exit', flush);
  return {
    write(text: string) {
      pending.push(text);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
      return true;
    },
  };
}

let stdout: Output | undefined;

/** The one gathered stdout of this process (every reporter shares it, so order is kept across them). */
export function gatheredStdout(): Output {
  stdout ??= gatheredOutput(process.stdout);
  return stdout;
}
