import { stat } from 'node:fs/promises';
import type { SqlCatalog } from '../../storage/catalog/sql-catalog.js';
import { SqlIntegrity } from '../../storage/catalog/sql-integrity.js';
import { DiskSpaceReserve } from '../../storage/space/disk-space-reserve.js';
import type { Finding } from '../../storage/fsck/fsck.js';
import { FINDINGS_KEPT, runFsck } from '../../storage/fsck/fsck-run.js';
import { openBlobStore } from './backends.js';
import { redactUrl } from './redact-url.js';
import type { ServerConfig } from './config.js';
import { liveServerPid } from './pid-file.js';
import { claimForRepair } from '../../storage/locks/pg-presence.js';

export interface FsckFlags {
  repair: boolean;
  /** Skip re-hashing (existence and sizes only). */
  quick: boolean;
  json: boolean;
  /** Repair even though a server seems to run on the data dir. */
  force: boolean;
}

/** The server's space reserve in `dataDir`, if one is there (its size is the server's setting). */
async function heldReserve(dataDir: string): Promise<DiskSpaceReserve | undefined> {
  const size = await stat(new DiskSpaceReserve(dataDir, 0).file).then((st) => st.size, () => 0);
  return size > 0 ? new DiskSpaceReserve(dataDir, size) : undefined;
}

/**
 * `npm run admin -- fsck [--repair] [--quick] [--json]` on the storage `config` names (disk or
 * S3 blobs, the SQLite or PostgreSQL `catalog`). Exit code 0: nothing wrong (or all of it
 * repaired); 1: problems remain; 2: refused (a server is running and --repair was asked).
 *
 * Running servers are seen through server.pid in the data dir and, with a PostgreSQL catalog,
 * through its serving lock (storage/locks/pg-presence.ts), which --repair holds exclusively while it
 * works, so that no server starts meanwhile.
 */
export async function fsckCommand(
  config: ServerConfig,
  catalog: SqlCatalog,
  flags: FsckFlags,
  print: (line: string) => void = console.log,
): Promise<number> {
  const dataDir = config.dataDir;
  const pid = await liveServerPid(dataDir);
  if (flags.repair && pid !== undefined && !flags.force) {
    print(`fsck: a server (pid ${pid}) is running on ${dataDir}: stop it before --repair (a check alone is fine while it runs)`);
    return 2;
  }
  const exclusive = flags.repair && !flags.force;
  const claim = config.databaseUrl ? await claimForRepair(config.databaseUrl, exclusive) : undefined;
  if (claim && exclusive && !claim.held) {
    const who = claim.servers > 0 ? `${claim.servers} server(s) use` : 'another fsck --repair holds';
    print(`fsck: ${who} the PostgreSQL catalog ${redactUrl(config.databaseUrl)}: stop them before --repair (a check alone is fine while they run)`);
    return 2;
  }
  try {
    return await checkAndRepair(config, catalog, flags, print, pid, claim?.servers ?? 0);
  } finally {
    await claim?.release();
  }
}

async function checkAndRepair(config: ServerConfig, catalog: SqlCatalog, flags: FsckFlags, print: (line: string) => void, pid: number | undefined, others: number): Promise<number> {
  const dataDir = config.dataDir;
  const shared = config.storage === 's3' || config.databaseUrl !== '';
  const running = pid !== undefined ? ` while server pid ${pid} runs (in-flight writes are spared)` : others > 0 ? ` while ${others} server(s) use the catalog (in-flight writes are spared)` : '';
  const human = flags.json ? () => {} : print;
  const store = await openBlobStore(config);
  const target = shared ? `blobs in ${store.where}, catalog in ${config.databaseUrl ? redactUrl(config.databaseUrl) : dataDir}` : dataDir;
  human(
    `fsck: checking ${target}${flags.quick ? ' (quick: no re-hashing)' : ', re-hashing every stored blob'}` +
      `${running}${flags.repair ? ', repairing' : ''}`,
  );
  const lost: { path: string; sha256: string }[] = [];
  // A repair on a full disk needs room for its catalog writes: it gets the server's reserve,
  // which is taken back afterwards if there is room (else by the server, once space returns).
  const reserve = flags.repair ? await heldReserve(dataDir) : undefined;
  if (reserve) await reserve.release();
  const report = await runFsck({
    catalog,
    integrity: new SqlIntegrity(catalog.driver),
    blobs: store.blobs,
    verify: !flags.quick,
    repair: flags.repair,
    live: (pid !== undefined || others > 0) && !flags.force,
    onFinding: (f: Finding, outcome) => {
      const state = outcome === 'found' ? (f.repair ? 'repairable' : 'not repairable') : outcome === 'repaired' ? 'REPAIRED' : `repair failed: ${outcome.failed}`;
      human(`${f.severity.padEnd(7)} ${f.kind.padEnd(17)} ${f.subject}: ${f.message} [${state}]`);
    },
    onLost: (path, sha256) => {
      if (lost.length < FINDINGS_KEPT) lost.push({ path, sha256 });
      // Loud on purpose: this file's content was already gone; now the catalog says so too.
      human(`LOST    ${path}: its content (${sha256}) is missing or corrupt; removed from the catalog, upload it again`);
    },
  }).finally(() => store.close());
  if (reserve) await reserve.restore().catch(() => false);
  const s = report.summary;
  if (flags.json) print(JSON.stringify({ ...report, lost }));
  else {
    human(
      `fsck: ${report.blobs} blob(s), ${report.hashedBytes} byte(s) re-hashed; ${s.errors} error(s), ${s.warnings} warning(s); ` +
        `${s.repaired} repaired, ${s.remaining} remaining${s.remaining > 0 && !flags.repair ? ' (run with --repair to fix what can be fixed without losing data)' : ''}`,
    );
  }
  return s.remaining === 0 ? 0 : 1;
}
