import { appendFile, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { commitFile, commitFiles } from '../../core/commit.js';
import type { AppDeps } from '../../core/deps.js';
import type { TempBlob } from '../../storage/blobs/blob-store.js';
import { createClient } from '../../adapters/node/tokens.js';
import { DiskBlobStore } from '../../storage/blobs/disk/disk-blob-store.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { KeyedMutex } from '../../storage/locks/keyed-mutex.js';
import { encodePath } from '../../shared/wire.js';
import { sha256 } from '../helpers/bytes.js';
import { fsckCli } from '../helpers/fsck.js';
import { Prng } from '../helpers/prng.js';
import { makeDataDir, startTestServer } from '../helpers/server.js';

/** One blob's bytes as an async iterable, as a batch hands them to writeTemp. */
async function* bodyOf(data: Uint8Array): AsyncGenerator<Uint8Array> {
  yield data;
}

/**
 * A data dir as a power cut finds it right after a batch of small files was answered: the batch
 * went through the blob log and the catalog exactly as POST /api/batch commits it, but the
 * log's checkpoint never ran, so the files' own bytes were never synced. Returns the files and
 * carol's token (her namespace holds them).
 */
async function batchBeforeCheckpoint(dataDir: string, count: number): Promise<{ files: { path: string; data: Buffer }[]; token: string; uncommitted: string }> {
  const blobs = new DiskBlobStore({ root: dataDir, durable: true, log: { checkpointMs: Infinity } });
  await blobs.init();
  const catalog = new SqliteCatalog({ file: join(dataDir, 'catalog.sqlite'), durable: true });
  try {
    const token = await createClient(catalog, 'carol');
    const prng = new Prng(16);
    const files = Array.from({ length: count }, (_, i) => ({
      path: `carol/docs/f${i}.bin`,
      data: Buffer.from(Array.from({ length: prng.int(1, 6000) }, () => prng.int(0, 255))),
    }));
    // The last five as PUT commits them, one at a time (its small bodies go through the log too).
    const batched = files.slice(0, -5);
    const temps: TempBlob[] = [];
    for (const f of batched) temps.push(await blobs.writeTemp(bodyOf(f.data), { deferSync: true, maxBytes: f.data.length }));
    // A later batch whose catalog commit the power cut stopped: its record is in the log, no row names it.
    const stray = Buffer.from('a batch the power cut stopped before its commit');
    const strayTemp = await blobs.writeTemp(bodyOf(stray), { deferSync: true });
    await blobs.syncTemps([...temps, strayTemp]);
    const deps = { blobs, catalog, locks: new KeyedMutex(), clock: Date.now, log: () => {} } as unknown as AppDeps;
    const results = await commitFiles(
      deps,
      batched.map((f, i) => ({ path: f.path, temp: temps[i]!, mtime: null })),
    );
    expect(results.every((r) => 'entry' in r)).toBe(true);
    for (const f of files.slice(-5)) {
      const temp = await blobs.writeTemp(bodyOf(f.data), { deferSync: true, maxBytes: f.data.length });
      await commitFile(deps, { path: f.path, temp, mtime: null });
    }
    return { files, token, uncommitted: sha256(stray) };
  } finally {
    // The catalog's commits are durable (its WAL was synced); the store is not closed: a close
    // would checkpoint the log.
    await catalog.close();
  }
}

describe('blob log: a power cut after a batch of small files loses none of them (issue 16, sixth round)', () => {
  it('start-up puts back every file the catalog names whose own bytes the power cut took, from the log, and nothing else', async () => {
    const dataDir = await makeDataDir();
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
    const { files, token, uncommitted } = await batchBeforeCheckpoint(dataDir, 40);
    const logDir = join(dataDir, 'blob-log');
    const segments = await readdir(logDir);
    expect(segments).toHaveLength(1);
    // What a power cut can leave of files never synced: gone, empty, or torn; some survive.
    const store = new DiskBlobStore({ root: dataDir });
    const plain = (f: { data: Buffer }) => store.plainPath(sha256(f.data));
    // The first ten and the five PUT wrote: gone.
    for (const f of [...files.slice(0, 10), ...files.slice(-5)]) await rm(plain(f));
    for (const f of files.slice(10, 20)) await truncate(plain(f), 0);
    for (const f of files.slice(20, 30)) await writeFile(plain(f), Buffer.concat([f.data.subarray(0, f.data.length >> 1), Buffer.alloc(7)]));
    // A whole blob folder lost (its new `ab/cd` entry was not synced either).
    await rm(join(plain(files[30]!), '..'), { recursive: true, force: true });
    const alsoGone = files.filter((f) => store.dirOf(sha256(f.data)) === store.dirOf(sha256(files[30]!.data)));
    // A record torn mid-append by the power cut (a later batch): the replay stops before it.
    await appendFile(join(logDir, segments[0]!), Buffer.from('CBL1\0\0\x10\0partial'));

    const s = await startTestServer({}, { dataDir, keepData: true });
    try {
      const expected = new Set([...files.slice(0, 31), ...alsoGone, ...files.slice(-5)].map((f) => f.path)).size;
      expect(s.logs.join('\n')).toContain(`put back ${expected} small file(s) from the blob log`);
      for (const f of files) {
        const r = await fetch(`${s.url}/files/${encodePath(f.path)}`, { headers: { Authorization: `Bearer ${token}` } });
        expect(r.status, f.path).toBe(200);
        expect(sha256(Buffer.from(await r.arrayBuffer())), f.path).toBe(sha256(f.data));
      }
      // The replayed segment is gone; the record no row names was not turned into an orphan.
      expect(await readdir(logDir)).toEqual([]);
      await expect(readFile(store.plainPath(uncommitted))).rejects.toThrow(/ENOENT/);
    } finally {
      await s.stop();
    }
    const fsck = await fsckCli(dataDir);
    expect(fsck.findings).toEqual([]);
    expect(fsck.code).toBe(0);
  });

  it('fsck reports a log a crash left; --repair replays it first, so no file is reported or dropped as lost', async () => {
    const dataDir = await makeDataDir();
    onTestFinished(() => rm(dataDir, { recursive: true, force: true }));
    const { files } = await batchBeforeCheckpoint(dataDir, 12);
    const store = new DiskBlobStore({ root: dataDir });
    for (const f of files.slice(0, 6)) await rm(store.plainPath(sha256(f.data)));

    const check = await fsckCli(dataDir);
    expect(check.findings.map((f) => f.kind)).toContain('unreplayed-log');
    const repair = await fsckCli(dataDir, ['--repair']);
    expect(repair.lost).toEqual([]);
    expect(repair.findings.map((f) => f.kind)).toEqual(['unreplayed-log']);
    expect(repair.code).toBe(0);
    for (const f of files) expect(sha256(await readFile(store.plainPath(sha256(f.data))))).toBe(sha256(f.data));
    expect(await readdir(join(dataDir, 'blob-log'))).toEqual([]);
    expect((await fsckCli(dataDir)).findings).toEqual([]);
  });
});
