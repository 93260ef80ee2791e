import { createHash } from 'node:crypto';
import { appendFile, mkdir, readdir, rm, truncate, writeFile } from 'node:fs/promises';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, onTestFinished } from 'vitest';
import { BlobLog, syncFilesystem, type BlobLogOptions, type LogRecord } from '../../storage/blobs/disk/blob-log.js';

const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'cb-blob-log-'));
  onTestFinished(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A log in a temp folder with its syncs counted; checkpoints only when asked unless `checkpointMs` is given. */
async function logIn(options: Partial<BlobLogOptions> = {}) {
  const root = tempDir();
  const calls = { filesystem: 0, files: [] as string[], dirs: [] as string[] };
  const log = new BlobLog({
    dir: join(root, 'blob-log'),
    blobDir: join(root, 'blobs'),
    checkpointMs: Infinity,
    syncDir: async (d) => void calls.dirs.push(d),
    syncFile: async (f) => void calls.files.push(f),
    syncFilesystem: async () => void calls.filesystem++,
    ...options,
  });
  await log.init();
  return { root, log, calls };
}

async function all(log: BlobLog, segment: string): Promise<LogRecord[]> {
  const out: LogRecord[] = [];
  for await (const r of log.records(segment)) out.push(r);
  return out;
}

const blobs = Array.from({ length: 5 }, (_, i) => Buffer.alloc(100 * i + 1, i + 1));

describe('BlobLog (issue 16, sixth round)', () => {
  it('a record reads back whole; reading stops at a torn record, a bad header or content that does not hash to its name', async () => {
    const { log } = await logIn();
    const tickets = blobs.map((b) => log.append(sha(b), [b.subarray(0, 10), b.subarray(10)], b.length));
    // Gathered until a sync (or WRITE_BATCH_BYTES) writes them.
    const [segment] = await log.segmentFiles();
    expect(await all(log, segment!)).toEqual([]);
    await log.sync(tickets);
    expect((await all(log, segment!)).map((r) => [r.sha256, Buffer.from(r.bytes).toString('hex')])).toEqual(blobs.map((b) => [sha(b), b.toString('hex')]));
    const empty = Buffer.alloc(0);
    await log.sync([log.append(sha(empty), [], 0)]);
    expect(await all(log, segment!)).toHaveLength(6);
    // Torn in the middle of the last record's header: the five before it are read.
    const sizes = blobs.reduce((n, b) => n + 40 + b.length, 0);
    await truncate(segment!, sizes + 20);
    expect(await all(log, segment!)).toHaveLength(5);
    // Torn in the middle of a record's content.
    await truncate(segment!, sizes - 5);
    expect(await all(log, segment!)).toHaveLength(4);
    // Garbage that does not start with the record's mark.
    await truncate(segment!, sizes - blobs[4]!.length - 40);
    await appendFile(segment!, Buffer.alloc(60, 0x55));
    expect(await all(log, segment!)).toHaveLength(4);
    // A whole record whose content does not hash to its name.
    const other = join(log.dir, 'other.log');
    const header = Buffer.alloc(40);
    header.write('CBL1', 0);
    header.writeUInt32BE(3, 4);
    header.write(sha(Buffer.from('abc')), 8, 'hex');
    await writeFile(other, Buffer.concat([header, Buffer.from('abd')]));
    expect(await all(log, other)).toEqual([]);
  });

  it('one fdatasync makes every record so far durable, and the new segment\'s folder entry is synced with it', async () => {
    const { log, calls } = await logIn();
    const tickets = blobs.map((b) => log.append(sha(b), [b], b.length));
    await log.sync(tickets);
    await log.sync(tickets.slice(0, 2));
    expect(calls.dirs).toEqual([log.dir]);
    // Over a second segment: its own folder sync.
    await log.checkpoint();
    const t = log.append(sha(blobs[0]!), [blobs[0]!], blobs[0]!.length);
    await log.sync([t]);
    expect(calls.dirs).toEqual([log.dir, log.dir]);
  });

  it('a segment is checkpointed (one filesystem flush) and deleted only once every record in it is settled', async () => {
    const { log, calls } = await logIn();
    const tickets = blobs.map((b) => log.append(sha(b), [b], b.length));
    await log.sync(tickets);
    for (const t of tickets.slice(0, 4)) log.settle(t, `/placed/${t.end}`);
    await log.checkpoint();
    // One record is not settled (its blob not yet renamed into place): the segment stays.
    expect(await log.segmentFiles()).toHaveLength(1);
    expect(calls.filesystem).toBe(0);
    expect(log.pendingSegments).toBe(1);
    // Settled as given up (discarded): the checkpoint runs by itself.
    log.settle(tickets[4]!);
    await log.checkpoint();
    expect(await log.segmentFiles()).toEqual([]);
    expect(calls.filesystem).toBe(1);
    expect(log.pendingSegments).toBe(0);
    // A segment whose records were all given up needs no flush.
    const t = log.append(sha(blobs[1]!), [blobs[1]!], blobs[1]!.length);
    log.settle(t);
    await log.checkpoint();
    expect(calls.filesystem).toBe(1);
    expect(await log.segmentFiles()).toEqual([]);
  });

  it('where syncfs fails, the checkpoint fsyncs each placed file and its folders instead (said once), skipping files deleted since', async () => {
    const lines: string[] = [];
    const files: string[] = [];
    const syncFile = async (f: string) => {
      if (f.endsWith('gone')) throw Object.assign(new Error(`ENOENT: ${f}`), { code: 'ENOENT' });
      files.push(f);
    };
    const { root, log, calls } = await logIn({ syncFilesystem: async () => Promise.reject(new Error('spawn sync ENOENT')), syncFile, log: (l) => lines.push(l) });
    const placed = [join(root, 'blobs/ab/cd/one'), join(root, 'blobs/ab/ef/two')];
    for (const [i, p] of placed.entries()) {
      const t = log.append(sha(blobs[i]!), [blobs[i]!], blobs[i]!.length);
      await log.sync([t]);
      log.settle(t, p);
    }
    await log.checkpoint();
    expect(files.sort()).toEqual(placed.sort());
    expect(new Set(calls.dirs)).toEqual(new Set([log.dir, join(root, 'blobs/ab/cd'), join(root, 'blobs/ab/ef'), join(root, 'blobs/ab'), join(root, 'blobs')]));
    expect(await log.segmentFiles()).toEqual([]);
    const t = log.append(sha(blobs[2]!), [blobs[2]!], blobs[2]!.length);
    log.settle(t, join(root, 'blobs/gone'));
    await log.checkpoint();
    expect(await log.segmentFiles()).toEqual([]);
    expect(lines.filter((l) => l.includes('syncfs is not available'))).toHaveLength(1);
  });

  it('a checkpoint that cannot flush keeps the segment and says so; the next one deletes it', async () => {
    let fail = true;
    const lines: string[] = [];
    const failing = async () => {
      if (fail) throw new Error('EIO');
    };
    const { log } = await logIn({ syncFilesystem: failing, syncFile: failing, log: (l) => lines.push(l) });
    const t = log.append(sha(blobs[0]!), [blobs[0]!], blobs[0]!.length);
    log.settle(t, '/placed/x');
    await log.checkpoint();
    expect(await log.segmentFiles()).toHaveLength(1);
    expect(lines.some((l) => l.includes('checkpoint failed'))).toBe(true);
    fail = false;
    await log.checkpoint();
    expect(await log.segmentFiles()).toEqual([]);
  });

  it('leftover segments are listed oldest first, and retired after one flush', async () => {
    const { log, calls } = await logIn();
    await mkdir(log.dir, { recursive: true });
    for (const n of ['b.log', 'a.log', 'notes.txt']) await writeFile(join(log.dir, n), '');
    const left = await log.segmentFiles();
    expect(left).toEqual([join(log.dir, 'a.log'), join(log.dir, 'b.log')]);
    await log.retire(left);
    expect(calls.filesystem).toBe(1);
    expect(await readdir(log.dir)).toEqual(['notes.txt']);
  });

  it.runIf(process.platform === 'linux')('syncFilesystem runs sync -f (syncfs) on a folder, and fails for one that is not there', async () => {
    const root = tempDir();
    await expect(syncFilesystem(root)).resolves.toBeUndefined();
    await expect(syncFilesystem(join(root, 'missing'))).rejects.toThrow(/sync -f exited with 1/);
  });
});
