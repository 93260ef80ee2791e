import { closeSync, openSync, readSync } from 'node:fs';
import ignore, { type Ignore } from 'ignore';
import { READ_NONBLOCKING } from './hashing.js';

/** The per-folder ignore file, gitignore syntax. */
export const IGNORE_FILE = '.cbignore';
/** An ignore file bigger than this is a mistake, not a list of rules: only its start is read. */
const MAX_IGNORE_FILE = 256 * 1024;

/** One layer of rules: the patterns of one folder (or --exclude at the top), relative to it. */
interface Layer {
  depth: number;
  rules: Ignore;
}

/** The rules that apply inside one folder: its ancestors' layers and its own. */
export type RuleChain = readonly Layer[];

/** Compiles gitignore patterns (lines); undefined when there are none. */
export function compileRules(lines: readonly string[]): Ignore | undefined {
  const patterns = lines.filter((l) => l.trim() !== '' && !l.startsWith('#'));
  return patterns.length > 0 ? ignore({ allowRelativePaths: true }).add(patterns as string[]) : undefined;
}

/** The chain for a folder at `depth` that adds `rules` (its .cbignore) to its parent's chain. */
export function extendChain(parent: RuleChain, depth: number, rules: Ignore | undefined): RuleChain {
  return rules ? [...parent, { depth, rules }] : parent;
}

/**
 * Gitignore semantics for nested files: the deepest layer with a verdict (a match, or a `!`
 * re-include) wins; a folder that is excluded is not entered, so nothing below it comes back.
 */
export function isExcluded(chain: RuleChain, segments: readonly string[], isDir: boolean): boolean {
  let excluded = false;
  for (const layer of chain) {
    const rel = segments.slice(layer.depth).join('/');
    if (rel === '') continue;
    const r = layer.rules.test(isDir ? `${rel}/` : rel);
    if (r.ignored) excluded = true;
    else if (r.unignored) excluded = false;
  }
  return excluded;
}

/**
 * The lines of the folder's .cbignore, or [] when it has none (or it cannot be read). Synchronous:
 * the walk asks once per folder, and a missing file is one failed open (a FIFO does not block it).
 */
export function readIgnoreFile(dirAbs: string, join: (a: string, b: string) => string): string[] {
  let fd: number;
  try {
    fd = openSync(join(dirAbs, IGNORE_FILE), READ_NONBLOCKING);
  } catch {
    return [];
  }
  try {
    const buf = Buffer.alloc(MAX_IGNORE_FILE);
    const bytesRead = readSync(fd, buf, 0, MAX_IGNORE_FILE, 0);
    return buf.subarray(0, bytesRead).toString('utf8').split(/\r?\n/);
  } catch {
    return [];
  } finally {
    closeSync(fd);
  }
}
