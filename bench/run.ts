/**
 * `npm run bench`: our server next to real peers (nginx, rclone) measured in the same run on
 * the same machine, printed as one Markdown table. Everything runs on 127.0.0.1 in a temp dir
 * that is removed at the end; nothing is installed.
 *
 *   npm run bench -- [--quick] [--out FILE.json] [--only transfer,listing,startup,...]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { FULL, QUICK, type BenchContext, type RowGroup } from './context.js';
import { describeMachine, machineInfo } from './machine.js';
import { INSTALL_HINT, nginxAvailable, startNginx } from './nginx.js';
import { hasCommand } from './proc.js';
import { concurrencyRows } from './rows/concurrency.js';
import { durableRows } from './rows/durable.js';
import { historyRows } from './rows/history.js';
import { hotColdRows } from './rows/hotcold.js';
import { listingRows } from './rows/listing.js';
import { memoryRows } from './rows/memory.js';
import { smallFileRows } from './rows/small-files.js';
import { startupRows } from './rows/startup.js';
import { transferRows } from './rows/transfer.js';
import { markdownTable, notesOf, type BenchRow } from './table.js';
import { ensureFreshBuild } from '../scripts/ensure-build.js';
import { deleteDiscarded } from './discard.js';

const GROUPS: Record<string, RowGroup> = {
  transfer: transferRows,
  small: smallFileRows,
  durable: durableRows,
  listing: listingRows,
  concurrency: concurrencyRows,
  memory: memoryRows,
  hotcold: hotColdRows,
  startup: startupRows,
  history: historyRows,
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      only: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(`usage: npm run bench -- [--quick] [--out FILE.json] [--only ${Object.keys(GROUPS).join(',')}]`);
    return 0;
  }
  const only = values.only ? values.only.split(',') : Object.keys(GROUPS);
  const unknown = only.filter((g) => !(g in GROUPS));
  if (unknown.length) {
    console.error(`unknown row group(s): ${unknown.join(', ')}; known: ${Object.keys(GROUPS).join(', ')}`);
    return 2;
  }

  // Our server and client run compiled, as `npm run serve:node` and `npm run client` do.
  ensureFreshBuild();
  const machine = machineInfo();
  const started = Date.now();
  const tmp = mkdtempSync(join(tmpdir(), 'cb-bench-'));
  const cleanup = () => {
    deleteDiscarded();
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig: NodeJS.Signals) => {
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const log = (line: string) => console.error(`[${((Date.now() - started) / 1000).toFixed(0).padStart(3)} s] ${line}`);
  const missing = ['nginx', 'rclone', 'curl'].filter((c) => (c === 'nginx' ? !nginxAvailable() : !hasCommand(c)));
  if (missing.includes('curl')) {
    console.error('curl is needed for the transfer rows: apt-get install curl');
    return 2;
  }
  if (missing.length) log(`missing ${missing.join(', ')}: their reference figures are skipped. To get them: ${INSTALL_HINT}`);

  const rows: BenchRow[] = [];
  const failures: string[] = [];
  const ctx: BenchContext = {
    tmp,
    sizes: values.quick ? QUICK : FULL,
    quick: values.quick ?? false,
    nginx: null,
    hasRclone: !missing.includes('rclone'),
    log,
  };
  try {
    if (!missing.includes('nginx')) ctx.nginx = await startNginx(join(tmp, 'nginx'));
    for (const g of only) {
      log(`--- ${g}`);
      try {
        rows.push(...(await (GROUPS[g] as RowGroup)(ctx)));
      } catch (err) {
        failures.push(`${g}: ${(err as Error).stack ?? String(err)}`);
        log(`${g} failed: ${(err as Error).message}`);
      }
    }
  } finally {
    await ctx.nginx?.stop();
    cleanup();
  }

  const seconds = (Date.now() - started) / 1000;
  const notes = notesOf(rows);
  const text = [
    `## cloud-backup benchmark (${ctx.quick ? 'quick' : 'full'} run, ${seconds.toFixed(0)} s)`,
    '',
    `Machine: ${describeMachine(machine)}`,
    '',
    markdownTable(rows),
    '',
    'ratio = ours / reference; ↑ higher is better, ↓ lower is better.',
    ...(notes.length ? ['', ...notes] : []),
    ...(failures.length ? ['', 'Failed row groups:', ...failures.map((f) => `- ${f.split('\n')[0]}`)] : []),
  ].join('\n');
  console.log(text);
  if (values.out) {
    await writeFile(values.out, JSON.stringify({ machine, quick: ctx.quick, seconds, rows, failures }, null, 2) + '\n');
    log(`wrote ${values.out}`);
  }
  return failures.length ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
