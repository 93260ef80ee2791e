import { stat } from 'node:fs/promises';
import { DiskBlobStore } from '../../storage/disk-blob-store.js';
import { DiskSpaceReserve } from '../../storage/disk-space-reserve.js';
import type { Finding } from '../../storage/fsck.js';
import { FINDINGS_KEPT, runFsck } from '../../storage/fsck-run.js';
import type { SqliteCatalog } from '../../storage/sqlite-catalog.js';
import { SqliteIntegrity } from '../../storage/sqlite-integrity.js';
import { liveServerPid } from './pid-file.js';

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
 * `npm run admin -- fsck [--repair] [--quick] [--json]`. Exit code 0: nothing wrong (or all of
 * it repaired); 1: problems remain; 2: refused (a server is running and --repair was asked).
 */
export async function fsckCommand(
  dataDir: string,
  catalog: SqliteCatalog,
  flags: FsckFlags,
  print: (line: string) => void = console.log,
): Promise<number> {
  const pid = await liveServerPid(dataDir);
  if (flags.repair && pid !== undefined && !flags.force) {
    print(`fsck: a server (pid ${pid}) is running on ${dataDir}: stop it before --repair (a check alone is fine while it runs)`);
    return 2;
  }
  const human = flags.json ? () => {} : print;
  human(
    `fsck: checking ${dataDir}${flags.quick ? ' (quick: no re-hashing)' : ', re-hashing every stored blob'}` +
      `${pid !== undefined ? ` while server pid ${pid} runs (in-flight writes are spared)` : ''}${flags.repair ? ', repairing' : ''}`,
  );
  const blobs = new DiskBlobStore({ root: dataDir });
  const lost: { path: string; sha256: string }[] = [];
  // A repair on a full disk needs room for its catalog writes: it gets the server's reserve,
  // which is taken back afterwards if there is room (else by the server, once space returns).
  const reserve = flags.repair ? await heldReserve(dataDir) : undefined;
  if (reserve) await reserve.release();
  const report = await runFsck({
    root: dataDir,
    catalog,
    integrity: new SqliteIntegrity(catalog),
    blobs,
    verify: !flags.quick,
    repair: flags.repair,
    live: pid !== undefined && !flags.force,
    onFinding: (f: Finding, outcome) => {
      const state = outcome === 'found' ? (f.repair ? 'repairable' : 'not repairable') : outcome === 'repaired' ? 'REPAIRED' : `repair failed: ${outcome.failed}`;
      human(`${f.severity.padEnd(7)} ${f.kind.padEnd(17)} ${f.subject}: ${f.message} [${state}]`);
    },
    onLost: (path, sha256) => {
      if (lost.length < FINDINGS_KEPT) lost.push({ path, sha256 });
      // Loud on purpose: this file's content was already gone; now the catalog says so too.
      human(`LOST    ${path}: its content (${sha256}) is missing or corrupt; removed from the catalog, upload it again`);
    },
  });
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
