import { randomBytes } from 'node:crypto';
import { mkdir, open, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { fsckCli, kinds } from '../helpers/fsck.js';
import { waitFor } from '../helpers/wait.js';
import { makeDataDir, startTestServer } from '../helpers/server.js';

const blobPath = (dataDir: string, sha: string) => join(dataDir, 'blobs', sha.slice(0, 2), sha.slice(2, 4), sha);

describe('admin fsck', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('finds every kind of damage, repairs without touching good files, and is clean afterwards', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const s = await startTestServer({}, { dataDir, keepData: true });
    const good = {
      'alice/keep/a.txt': Buffer.from('aaa'),
      'alice/keep/b.bin': randomBytes(1 << 20),
      'alice/x/y/deep.txt': Buffer.from('deep'),
    };
    const gone = Buffer.from('this content will vanish');
    const corrupt = randomBytes(64 * 1024);
    const uploads: [string, Buffer][] = [...Object.entries(good), ['alice/lost/gone.txt', gone], ['alice/lost/same.txt', gone], ['alice/bad/corrupt.bin', corrupt]];
    for (const [path, body] of uploads) {
      expect((await fetch(`${s.url}/files/${path}`, { method: 'PUT', headers: s.auth('alice'), body: new Uint8Array(body) })).status).toBe(201);
    }
    await s.stop();

    expect((await fsckCli(dataDir)).code).toBe(0);

    // Damage, one kind at a time.
    await rm(blobPath(dataDir, sha256(gone)));
    const fh = await open(blobPath(dataDir, sha256(corrupt)), 'r+');
    await fh.write(Buffer.from([0xff ^ (corrupt[100] as number)]), 0, 1, 100);
    await fh.close();
    const orphan = Buffer.from('an orphan blob');
    await mkdir(join(blobPath(dataDir, sha256(orphan)), '..'), { recursive: true });
    await writeFile(blobPath(dataDir, sha256(orphan)), orphan);
    await writeFile(join(dataDir, 'blobs', 'notes.txt'), 'stray');
    await mkdir(join(dataDir, 'tmp'), { recursive: true });
    await writeFile(join(dataDir, 'tmp', 'half-upload'), 'partial');
    await mkdir(join(dataDir, 'uploads'), { recursive: true });
    await writeFile(join(dataDir, 'uploads', 'nobodys-part'), 'part');
    const unref = Buffer.from('unreferenced');
    await mkdir(join(blobPath(dataDir, sha256(unref)), '..'), { recursive: true });
    await writeFile(blobPath(dataDir, sha256(unref)), unref);
    const db = new Database(join(dataDir, 'catalog.sqlite'));
    db.prepare('insert into blobs (sha256, size, state, stored_size, last_access, created_at) values (?, ?, ?, ?, 0, 0)').run(sha256(unref), unref.length, 'hot', unref.length);
    db.prepare("insert into dirs (path, parent, name) values ('alice/empty', 'alice', 'empty')").run();
    db.prepare("delete from dirs where path = 'alice/x/y'").run();
    db.prepare('update blobs set stored_size = 1 where sha256 = ?').run(sha256(good['alice/keep/a.txt']));
    db.prepare("update clients set used_bytes = 12345 where name = 'bob'").run();
    db.close();

    const check = await fsckCli(dataDir, [], { cli: true });
    expect(check.code).toBe(1);
    expect(kinds(check)).toEqual(
      [
        'corrupt-blob',
        'missing-blob',
        'missing-blob',
        'missing-dir',
        'orphan-blob',
        'orphan-part',
        'stale-dir',
        'stored-size',
        'stray-file',
        'temp-leftover',
        'unreferenced-blob',
        'usage-drift',
      ].sort(),
    );
    expect(check.summary).toMatchObject({ errors: 4, warnings: 8, repaired: 0, remaining: 12 });
    // A check changes nothing.
    expect(await readdir(join(dataDir, 'tmp'))).toEqual(['half-upload']);

    const quick = await fsckCli(dataDir, ['--quick']);
    expect(kinds(quick)).not.toContain('corrupt-blob');

    const repair = await fsckCli(dataDir, ['--repair'], { cli: true });
    expect(repair.code).toBe(0);
    expect(repair.summary).toMatchObject({ repaired: 12, remaining: 0 });
    expect(repair.lost.map((l) => l.path).sort()).toEqual(['alice/bad/corrupt.bin', 'alice/lost/gone.txt', 'alice/lost/same.txt']);

    const after = await fsckCli(dataDir);
    expect(after.findings).toEqual([]);
    expect(after.code).toBe(0);
    // Corrupt and unknown bytes are moved aside, never deleted.
    expect((await readdir(join(dataDir, 'quarantine'))).map((n) => n.replace(/^\d+-/, '')).sort()).toEqual([sha256(corrupt), 'notes.txt'].sort());

    const s2 = await startTestServer({}, { dataDir, keepData: true });
    try {
      for (const [path, body] of Object.entries(good)) {
        const r = await fetch(`${s2.url}/files/${path}`, { headers: s2.auth('alice') });
        expect(await sha256Body(r)).toEqual({ sha256: sha256(body), size: body.length });
      }
      for (const path of repair.lost.map((l) => l.path)) {
        expect((await fetch(`${s2.url}/files/${path}`, { headers: s2.auth('alice') })).status).toBe(404);
      }
      expect(await s2.server.catalog.dirExists('alice/x/y')).toBe(true);
      expect(await s2.server.catalog.dirExists('alice/empty')).toBe(false);
      for (const ns of ['alice', 'bob']) expect((await s2.server.catalog.quotaUsage(ns)).usedBytes).toBe((await s2.server.catalog.stats(ns)).usedBytes);
    } finally {
      await s2.stop();
    }
  });

  it('knows cold (compressed) forms: verifies them by decompressing, repairs interrupted swaps', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const s = await startTestServer({ hotTimeMs: 500, sweepIntervalMs: 200 }, { dataDir, keepData: true });
    const texts = [0, 1, 2].map((i) => Buffer.from(`line ${i}: the same words again and again\n`.repeat(4000)));
    for (const [i, body] of texts.entries()) {
      expect((await fetch(`${s.url}/files/alice/cold/${i}.txt`, { method: 'PUT', headers: s.auth('alice'), body: new Uint8Array(body) })).status).toBe(201);
    }
    const coldForm = (b: Buffer) => `${blobPath(dataDir, sha256(b))}.gz`;
    await waitFor('all three cold', async () => (await Promise.all(texts.map((b) => stat(coldForm(b)).then(() => true, () => false)))).every(Boolean));
    await s.stop();
    expect((await fsckCli(dataDir)).findings).toEqual([]);

    // 0: a leftover plain copy next to its cold form, with the journal mark of the interrupted swap.
    await writeFile(blobPath(dataDir, sha256(texts[0] as Buffer)), texts[0] as Buffer);
    await mkdir(join(dataDir, 'swaps'), { recursive: true });
    await writeFile(join(dataDir, 'swaps', sha256(texts[0] as Buffer)), '');
    // 1: the compressed bytes rot.
    const rot = await open(coldForm(texts[1] as Buffer), 'r+');
    await rot.write(Buffer.from('garbage!'), 0, 8, 200);
    await rot.close();
    // 2: a plain leftover, no journal mark (fsck alone finds it).
    await writeFile(blobPath(dataDir, sha256(texts[2] as Buffer)), texts[2] as Buffer);

    const check = await fsckCli(dataDir);
    expect(kinds(check)).toEqual(['corrupt-blob', 'missing-blob', 'redundant-form', 'redundant-form', 'unfinished-swap']);
    const repair = await fsckCli(dataDir, ['--repair']);
    expect(repair.code).toBe(0);
    expect(repair.lost.map((l) => l.path)).toEqual(['alice/cold/1.txt']);
    expect((await fsckCli(dataDir)).findings).toEqual([]);

    const s2 = await startTestServer({}, { dataDir, keepData: true });
    try {
      for (const i of [0, 2]) {
        const r = await fetch(`${s2.url}/files/alice/cold/${i}.txt`, { headers: s2.auth('alice') });
        expect(await sha256Body(r)).toEqual({ sha256: sha256(texts[i] as Buffer), size: (texts[i] as Buffer).length });
      }
    } finally {
      await s2.stop();
    }
  });

  it('refuses --repair while a server runs on the data dir, but checks', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const s = await startTestServer({}, { dataDir, keepData: true });
    try {
      await fetch(`${s.url}/files/alice/a.txt`, { method: 'PUT', headers: s.auth('alice'), body: 'a' });
      const refused = await fsckCli(dataDir, ['--repair']);
      expect(refused.code).toBe(2);
      expect(refused.stdout).toMatch(/stop it before --repair/);
      const check = await fsckCli(dataDir);
      expect(check.code).toBe(0);
    } finally {
      await s.stop();
    }
    // After a clean stop the record is gone and repair may run.
    expect((await fsckCli(dataDir, ['--repair'])).code).toBe(0);
  });
});
