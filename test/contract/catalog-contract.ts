import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { PASSES_KEPT, type Catalog, type ClientRecord, type DirSort, type PassInput, type UploadRecord } from '../../storage/catalog/catalog.js';
import { BadRequestError, ConflictError, QuotaExceededError } from '../../core/errors.js';

export interface CatalogFixture {
  catalog: Catalog;
  close(): Promise<void>;
}

const SHA = (i: number) => i.toString(16).padStart(64, '0');

function client(name: string, extra: Partial<ClientRecord> = {}): ClientRecord {
  return { name, tokenId: `id-${name}`, tokenHash: `hash-${name}`, admin: false, createdAt: 1000, revokedAt: null, quotaBytes: null, lastSeen: null, ...extra };
}

function upload(id: string, expiresAt: number): UploadRecord {
  return { id, owner: 'alice', path: `alice/${id}.bin`, length: 5_000_000_000, offset: 0, sha256: null, mtime: 7, metadata: 'path YQ==', createdAt: 1, expiresAt };
}

/**
 * The behaviour every Catalog must have (SQLite and PostgreSQL alike). Register it from a test
 * file with a factory that opens a fresh, empty catalog per test.
 */
export function catalogContract(name: string, open: () => Promise<CatalogFixture>): void {
  describe(`Catalog contract: ${name}`, () => {
    let fx: CatalogFixture;
    let catalog: Catalog;
    beforeEach(async () => {
      fx = await open();
      catalog = fx.catalog;
    });
    afterEach(async () => {
      await fx.close();
    });

    const put = (path: string, i: number, size = 10, now = 100, mtime: number | null = null) =>
      catalog.putFile({ path, sha256: SHA(i), size, mtime, now });

    describe('clients', () => {
      it('adds, finds by name and token id, lists in name order', async () => {
        await catalog.addClient(client('bob'));
        await catalog.addClient(client('alice', { admin: true }));
        expect(await catalog.getClient('alice')).toEqual(client('alice', { admin: true }));
        expect(await catalog.getClientByTokenId('id-bob')).toEqual(client('bob'));
        expect(await catalog.getClient('carol')).toBeUndefined();
        expect(await catalog.getClientByTokenId('nope')).toBeUndefined();
        expect((await catalog.listClients()).map((c) => c.name)).toEqual(['alice', 'bob']);
      });

      it('refuses an active duplicate, allows re-adding a revoked name', async () => {
        await catalog.addClient(client('alice'));
        await expect(catalog.addClient(client('alice', { tokenId: 'other' }))).rejects.toBeInstanceOf(ConflictError);
        expect(await catalog.revokeClient('alice', 2000)).toBe(true);
        expect(await catalog.revokeClient('alice', 3000)).toBe(false);
        expect(await catalog.revokeClient('nobody', 3000)).toBe(false);
        expect((await catalog.getClient('alice'))?.revokedAt).toBe(2000);
        await catalog.addClient(client('alice', { tokenId: 'new-id', createdAt: 4000 }));
        expect(await catalog.getClient('alice')).toEqual(client('alice', { tokenId: 'new-id', createdAt: 4000 }));
        expect(await catalog.getClientByTokenId('id-alice')).toBeUndefined();
      });
    });

    describe('files', () => {
      it('putFile creates, then replaces with a new version; the same content and mtime again is no change', async () => {
        const a = await put('alice/docs/a.txt', 1, 10, 100, 50);
        expect(a).toMatchObject({ created: true, changed: true });
        expect(a.entry).toEqual({
          path: 'alice/docs/a.txt',
          namespace: 'alice',
          dir: 'alice/docs',
          name: 'a.txt',
          sha256: SHA(1),
          size: 10,
          mtime: 50,
          uploadedAt: 100,
          version: a.entry.version,
          state: 'hot',
          codec: null,
          storedSize: 10,
          lastAccess: 100,
        });
        const b = await put('alice/docs/a.txt', 2, 20, 200);
        expect(b).toMatchObject({ created: false, changed: true, entry: { sha256: SHA(2), size: 20, mtime: null, uploadedAt: 200 } });
        expect(b.entry.version).not.toBe(a.entry.version);
        expect(await catalog.getFile('alice/docs/a.txt')).toEqual(b.entry);
        const again = await put('alice/docs/a.txt', 2, 20, 300);
        expect(again).toMatchObject({ created: false, changed: false, entry: { version: b.entry.version, uploadedAt: 200 } });
        // The old content is still referenced (by its version), so it is not freed.
        expect(await catalog.blobRefCount(SHA(1))).toBe(1);
        expect(await catalog.deleteBlobIfUnreferenced(SHA(1))).toBe(false);
      });

      it('putFiles records many paths in one transaction, results in input order; all or nothing', async () => {
        await put('alice/b/z.txt', 1, 10, 100);
        const results = await catalog.putFiles([
          { path: 'alice/b/z.txt', sha256: SHA(2), size: 20, mtime: 5, now: 200 },
          { path: 'alice/b/a.txt', sha256: SHA(3), size: 30, mtime: null, now: 200 },
          { path: 'alice/c/d/e.txt', sha256: SHA(3), size: 30, mtime: 7, now: 200 },
        ]);
        expect(results.map((r) => ('entry' in r ? [r.entry.path, r.created, r.changed, r.entry.sha256] : r))).toEqual([
          ['alice/b/z.txt', false, true, SHA(2)],
          ['alice/b/a.txt', true, true, SHA(3)],
          ['alice/c/d/e.txt', true, true, SHA(3)],
        ]);
        expect((await catalog.listVersions({ path: 'alice/b/z.txt', limit: 10 })).map((v) => v.sha256)).toEqual([SHA(2), SHA(1)]);
        expect((await catalog.listDir({ dir: 'alice/c', limit: 10 })).folders).toEqual(['d']);
        expect(await catalog.blobRefCount(SHA(3))).toBe(2);
        // A path twice is refused before anything is written.
        await expect(
          catalog.putFiles([
            { path: 'alice/n/1', sha256: SHA(4), size: 1, mtime: null, now: 300 },
            { path: 'alice/n/1', sha256: SHA(5), size: 1, mtime: null, now: 300 },
          ]),
        ).rejects.toThrow(/twice/);
        expect(await catalog.getFile('alice/n/1')).toBeUndefined();
        expect(await catalog.getBlob(SHA(4))).toBeUndefined();
      });

      it('putFiles of more paths than one IN list takes (1000, in any order), one of them back from the trash', async () => {
        await put('alice/many/0007', 1, 10, 100);
        expect(await catalog.deleteFile('alice/many/0007', 150)).toBe(true);
        const inputs = Array.from({ length: 1000 }, (_, i) => ({ path: `alice/many/${String((i * 7919) % 1000).padStart(4, '0')}`, sha256: SHA(2 + (i % 3)), size: 5, mtime: i, now: 200 }));
        const results = await catalog.putFiles(inputs);
        expect(results.map((r) => ('entry' in r ? [r.entry.path, r.entry.mtime, r.created] : r))).toEqual(inputs.map((p) => [p.path, p.mtime, true]));
        expect(await catalog.listDeleted({ prefix: 'alice/many/', limit: 10 })).toEqual([]);
        expect((await catalog.listDir({ dir: 'alice/many', limit: 2000 })).files).toHaveLength(1000);
      });

      it('overlapping batches and single puts of one namespace at once all go through (no lock cycle)', async () => {
        await catalog.addClient(client('alice', { quotaBytes: 1_000_000 }));
        for (let round = 0; round < 15; round++) {
          const sha = (k: number) => SHA(1000 + round * 10 + k);
          const at = 1000 + round;
          const p = (name: string, k: number) => ({ path: `alice/o/${name}`, sha256: sha(k), size: 10, mtime: null, now: at });
          await Promise.all([
            catalog.putFiles([p('a', 1), p('b', 2)]),
            catalog.putFiles([p('b', 3), p('c', 4)]),
            catalog.putFile(p('b', 5)),
            catalog.putFile(p('c', 6)),
          ]);
        }
        expect((await catalog.quotaUsage('alice')).usedBytes).toBe(15 * 6 * 10);
      });

      it('putFiles refuses a path past the quota alone; the others are recorded', async () => {
        await catalog.addClient(client('alice'));
        await catalog.setQuota('alice', 100);
        const results = await catalog.putFiles([
          { path: 'alice/q/1', sha256: SHA(1), size: 60, mtime: null, now: 100 },
          { path: 'alice/q/2', sha256: SHA(2), size: 60, mtime: null, now: 100 },
          { path: 'alice/q/3', sha256: SHA(3), size: 40, mtime: null, now: 100 },
        ]);
        expect(results.map((r) => ('entry' in r ? r.entry.path : r.constructor.name))).toEqual(['alice/q/1', 'QuotaExceededError', 'alice/q/3']);
        expect(await catalog.getFile('alice/q/2')).toBeUndefined();
        expect(await catalog.getBlob(SHA(2))).toBeUndefined();
        expect((await catalog.quotaUsage('alice')).usedBytes).toBe(100);
      });

      it('deleteFile adds a deletion, prunes empty folders, false when missing; the history keeps the content', async () => {
        await put('alice/x/y/z.txt', 1);
        await put('alice/x/keep.txt', 2);
        await put('alice/x/y/same.txt', 2);
        expect(await catalog.deleteFile('alice/x/y/z.txt', 200)).toBe(true);
        expect(await catalog.dirExists('alice/x/y')).toBe(true);
        expect(await catalog.deleteFile('alice/x/y/same.txt', 200)).toBe(true);
        expect(await catalog.dirExists('alice/x/y')).toBe(false);
        expect(await catalog.dirExists('alice/x')).toBe(true);
        expect(await catalog.deleteFile('alice/x/y/same.txt', 300)).toBe(false);
        expect(await catalog.getFile('alice/x/y/z.txt')).toBeUndefined();
        expect(await catalog.deleteFile('alice/x/keep.txt', 200)).toBe(true);
        expect(await catalog.dirExists('alice/x')).toBe(false);
        expect(await catalog.dirExists('alice')).toBe(false);
        expect(await catalog.blobRefCount(SHA(1))).toBe(1);
        expect(await catalog.deleteBlobIfUnreferenced(SHA(1))).toBe(false);
      });

      it('listFiles: raw prefix with LIKE wildcards taken literally, byte order, paging by path', async () => {
        const paths = ['alice/a_b', 'alice/axb', 'alice/a%c', 'alice/B', 'alice/b', 'alice/é', 'bob/a_b'];
        for (const [i, p] of paths.entries()) await put(p, i + 1);
        const all = (await catalog.listFiles({ prefix: '', limit: 100 })).map((e) => e.path);
        expect(all).toEqual(['alice/B', 'alice/a%c', 'alice/a_b', 'alice/axb', 'alice/b', 'alice/é', 'bob/a_b']);
        expect((await catalog.listFiles({ prefix: 'alice/a_', limit: 100 })).map((e) => e.path)).toEqual(['alice/a_b']);
        expect((await catalog.listFiles({ prefix: 'alice/a%', limit: 100 })).map((e) => e.path)).toEqual(['alice/a%c']);
        const page1 = await catalog.listFiles({ prefix: 'alice/', limit: 2 });
        const page2 = await catalog.listFiles({ prefix: 'alice/', limit: 2, after: page1[1]?.path });
        expect([...page1, ...page2].map((e) => e.path)).toEqual(['alice/B', 'alice/a%c', 'alice/a_b', 'alice/axb']);
      });

      it('listPathHashes: the current files of a prefix, path and hash, in UTF-8 byte order, paged; deletions left out', async () => {
        // U+FFFD sorts before U+1F600 in UTF-8 bytes (and code points), after it in UTF-16 units.
        const paths = ['alice/d/\u{1F600}', 'alice/d/\uFFFD', 'alice/d/B', 'alice/d/a', 'alice/d/gone', 'alice/dx', 'bob/d/a'];
        for (const [i, p] of paths.entries()) await put(p, i + 1);
        expect(await catalog.deleteFile('alice/d/gone', 500)).toBe(true);
        const expected = [
          { path: 'alice/d/B', sha256: SHA(3) },
          { path: 'alice/d/a', sha256: SHA(4) },
          { path: 'alice/d/\uFFFD', sha256: SHA(2) },
          { path: 'alice/d/\u{1F600}', sha256: SHA(1) },
        ];
        expect(await catalog.listPathHashes({ prefix: 'alice/d/', limit: 100 })).toEqual(expected);
        const page1 = await catalog.listPathHashes({ prefix: 'alice/d/', limit: 3 });
        const page2 = await catalog.listPathHashes({ prefix: 'alice/d/', limit: 3, after: page1[2]?.path });
        expect([...page1, ...page2]).toEqual(expected);
        expect(await catalog.listPathHashes({ prefix: 'carol/', limit: 10 })).toEqual([]);
      });

      it('listDir: folders then files, every sort, paged by one cursor, name filter', async () => {
        let i = 1;
        for (const d of ['b_dir', 'A dir', 'c%dir']) await put(`alice/docs/${d}/x.txt`, i++);
        const specs: [string, number, number, number | null][] = [
          ['report.txt', 30, 400, 3],
          ['REPORT-2.txt', 10, 300, null],
          ['a_b.txt', 20, 200, 1],
          ['a%b.txt', 50, 100, 9],
          ['z.bin', 40, 500, 2],
        ];
        for (const [n, size, now, mtime] of specs) await put(`alice/docs/${n}`, i++, size, now, mtime);
        async function walk(limit: number, opts: { sort?: DirSort; descending?: boolean; q?: string } = {}) {
          const folders: string[] = [];
          const names: string[] = [];
          let cursor: string | undefined;
          for (let pages = 0; ; pages++) {
            if (pages > 50) throw new Error('paging does not end');
            const page = await catalog.listDir({ dir: 'alice/docs', limit, cursor, ...opts });
            expect(page.folders.length + page.files.length).toBeLessThanOrEqual(limit);
            folders.push(...page.folders);
            names.push(...page.files.map((f) => f.name));
            if (!page.nextCursor) return { folders, names };
            cursor = page.nextCursor;
          }
        }
        const byName = ['REPORT-2.txt', 'a%b.txt', 'a_b.txt', 'report.txt', 'z.bin'];
        for (const limit of [1, 2, 3, 4, 100]) {
          expect(await walk(limit)).toEqual({ folders: ['A dir', 'b_dir', 'c%dir'], names: byName });
        }
        expect((await walk(2, { descending: true })).names).toEqual([...byName].reverse());
        expect((await walk(2, { descending: true })).folders).toEqual(['c%dir', 'b_dir', 'A dir']);
        expect((await walk(2, { sort: 'size' })).names).toEqual(['REPORT-2.txt', 'a_b.txt', 'report.txt', 'z.bin', 'a%b.txt']);
        expect((await walk(3, { sort: 'uploaded', descending: true })).names).toEqual(['z.bin', 'report.txt', 'REPORT-2.txt', 'a_b.txt', 'a%b.txt']);
        // mtime falls back to the upload time when the client sent none.
        expect((await walk(2, { sort: 'mtime' })).names).toEqual(['a_b.txt', 'z.bin', 'report.txt', 'a%b.txt', 'REPORT-2.txt']);
        expect(await walk(10, { q: 'report' })).toEqual({ folders: [], names: ['REPORT-2.txt', 'report.txt'] });
        expect(await walk(10, { q: '_' })).toEqual({ folders: ['b_dir'], names: ['a_b.txt'] });
        expect(await walk(10, { q: '%' })).toEqual({ folders: ['c%dir'], names: ['a%b.txt'] });
        expect(await walk(10, { q: 'DIR' })).toEqual({ folders: ['A dir', 'b_dir', 'c%dir'], names: [] });
        const top = await catalog.listDir({ dir: '', limit: 10 });
        expect(top).toEqual({ folders: ['alice'], files: [], nextCursor: null });
      });

      it('listDir refuses a forged cursor', async () => {
        await put('alice/a', 1);
        await expect(catalog.listDir({ dir: 'alice', limit: 5, cursor: 'not-a-cursor' })).rejects.toBeInstanceOf(BadRequestError);
      });

      it('namespaceHasBlob and stats, overall and per namespace', async () => {
        await put('alice/a', 1, 100);
        await put('alice/b', 1, 100);
        await put('bob/c', 2, 5_000_000_000);
        await catalog.updateBlob(SHA(2), { state: 'cold', codec: 'gzip', storedSize: 1_000_000_000 });
        expect(await catalog.namespaceHasBlob('alice', SHA(1))).toBe(true);
        expect(await catalog.namespaceHasBlob('alice', SHA(2))).toBe(false);
        expect(await catalog.stats()).toEqual({
          files: 3,
          versions: 3,
          historyBytes: 0,
          usedBytes: 5_000_000_200,
          quotaBytes: null,
          deleted: 0,
          blobs: 2,
          logicalBytes: 5_000_000_200,
          blobBytes: 5_000_000_100,
          storedBytes: 1_000_000_100,
          hot: 1,
          cold: 1,
        });
        expect(await catalog.stats('alice')).toEqual({ files: 2, versions: 2, historyBytes: 0, usedBytes: 200, quotaBytes: null, deleted: 0, blobs: 1, logicalBytes: 200, blobBytes: 100, storedBytes: 100, hot: 1, cold: 0 });
        expect(await catalog.stats('carol')).toEqual({ files: 0, versions: 0, historyBytes: 0, usedBytes: 0, quotaBytes: null, deleted: 0, blobs: 0, logicalBytes: 0, blobBytes: 0, storedBytes: 0, hot: 0, cold: 0 });
      });
    });

    describe('blobs', () => {
      it('getBlobs answers the rows of many contents at once, as getBlob does each; unknown ones are left out', async () => {
        await put('alice/a', 1, 10, 100);
        await put('alice/b', 2, 20, 200);
        const many = Array.from({ length: 1000 }, (_, i) => SHA(1000 + i));
        const rows = await catalog.getBlobs([SHA(2), SHA(9), SHA(1), SHA(2), ...many]);
        expect([...rows.keys()].sort()).toEqual([SHA(1), SHA(2)]);
        expect(rows.get(SHA(1))).toEqual(await catalog.getBlob(SHA(1)));
        expect(rows.get(SHA(2))).toEqual(await catalog.getBlob(SHA(2)));
        expect((await catalog.getBlobs([])).size).toBe(0);
      });

      it('getBlob, refcounts and deleteBlobIfUnreferenced', async () => {
        await put('alice/a', 1, 10, 100);
        await put('alice/b', 1, 10, 200);
        expect(await catalog.getBlob(SHA(1))).toEqual({
          sha256: SHA(1),
          size: 10,
          state: 'hot',
          codec: null,
          storedSize: 10,
          incompressible: false,
          lastAccess: 100,
          createdAt: 100,
        });
        expect(await catalog.blobRefCount(SHA(1))).toBe(2);
        expect(await catalog.deleteBlobIfUnreferenced(SHA(1))).toBe(false);
        await catalog.deleteFile('alice/a', 300);
        await catalog.deleteFile('alice/b', 300);
        // Deleted files keep their content in the history until retention or purge.
        expect(await catalog.blobRefCount(SHA(1))).toBe(2);
        expect(await catalog.deleteBlobIfUnreferenced(SHA(1))).toBe(false);
        expect((await catalog.purge('alice/')).orphans).toEqual([SHA(1)]);
        expect(await catalog.blobRefCount(SHA(1))).toBe(0);
        expect(await catalog.deleteBlobIfUnreferenced(SHA(1))).toBe(true);
        expect(await catalog.deleteBlobIfUnreferenced(SHA(1))).toBe(false);
        expect(await catalog.getBlob(SHA(1))).toBeUndefined();
      });

      it('touchBlobs keeps the latest access; updateBlob changes only what it is given', async () => {
        await put('alice/a', 1, 10, 100);
        await put('alice/b', 2, 10, 100);
        await catalog.touchBlobs(new Map([[SHA(1), 5_000_000_000_000], [SHA(2), 50], [SHA(9), 7]]));
        await catalog.touchBlobs(new Map());
        expect((await catalog.getBlob(SHA(1)))?.lastAccess).toBe(5_000_000_000_000);
        expect((await catalog.getBlob(SHA(2)))?.lastAccess).toBe(100);
        expect(await catalog.getBlob(SHA(9))).toBeUndefined();
        await catalog.updateBlob(SHA(2), { incompressible: true });
        await catalog.updateBlob(SHA(2), {});
        expect(await catalog.getBlob(SHA(2))).toMatchObject({ incompressible: true, state: 'hot', storedSize: 10 });
      });

      it('touchVersions moves one file\'s last access only, never the blob\'s or another path\'s', async () => {
        const a = (await put('alice/a', 1, 5000, 100)).entry;
        const b = (await put('bob/a', 1, 5000, 200)).entry;
        await catalog.touchVersions(new Map([[a.version, 900], ['nonsense', 5], ['999999', 7]]));
        await catalog.touchVersions(new Map([[a.version, 400]]));
        expect((await catalog.getFile('alice/a'))?.lastAccess).toBe(900);
        expect((await catalog.getFile('bob/a'))?.lastAccess).toBe(200);
        expect((await catalog.listFiles({ prefix: 'bob/', limit: 10 }))[0]?.lastAccess).toBe(200);
        expect((await catalog.getVersion('alice/a', a.version))?.lastAccess).toBe(900);
        expect((await catalog.listDir({ dir: 'bob', limit: 10 })).files[0]?.lastAccess).toBe(200);
        expect((await catalog.getBlob(SHA(1)))?.lastAccess).toBe(100);
        expect(b.lastAccess).toBe(200);
        // Heat by the file's own access: alice's read at 900, bob's upload at 200.
        expect(await catalog.countFileHeat('alice', 500, 4096)).toEqual({ hot: 1, cold: 0 });
        expect(await catalog.countFileHeat('bob', 500, 4096)).toEqual({ hot: 0, cold: 1 });
        expect(await catalog.countFileHeat('bob', 500, 8192)).toEqual({ hot: 1, cold: 0 });
      });

      it('listCompressionCandidates: hot, big enough, compressible, unread since the cutoff; oldest first, paged', async () => {
        await put('alice/old', 1, 1000, 100);
        await put('alice/older', 2, 1000, 50);
        await put('alice/tiny', 3, 10, 10);
        await put('alice/fresh', 4, 1000, 900);
        await put('alice/cold', 5, 1000, 20);
        await put('alice/noshrink', 6, 1000, 30);
        await put('alice/tie', 7, 1000, 100);
        await catalog.updateBlob(SHA(5), { state: 'cold', codec: 'gzip', storedSize: 100 });
        await catalog.updateBlob(SHA(6), { incompressible: true });
        const all = await catalog.listCompressionCandidates({ cutoff: 500, minSize: 100, limit: 10 });
        expect(all.map((b) => b.sha256)).toEqual([SHA(2), SHA(1), SHA(7)]);
        const first = await catalog.listCompressionCandidates({ cutoff: 500, minSize: 100, limit: 2 });
        const last = first[1] as { lastAccess: number; sha256: string };
        const rest = await catalog.listCompressionCandidates({ cutoff: 500, minSize: 100, limit: 2, after: { lastAccess: last.lastAccess, sha256: last.sha256 } });
        expect([...first, ...rest].map((b) => b.sha256)).toEqual([SHA(2), SHA(1), SHA(7)]);
      });

      it('listBlobs pages in SHA order', async () => {
        for (const i of [5, 1, 3, 2, 4]) await put(`alice/${i}`, i);
        const first = await catalog.listBlobs({ limit: 2 });
        const rest = await catalog.listBlobs({ limit: 10, after: first[1]?.sha256 });
        expect([...first, ...rest].map((b) => b.sha256)).toEqual([1, 2, 3, 4, 5].map(SHA));
      });
    });

    describe('resumable uploads', () => {
      it('create, get, set offset, list expired, delete', async () => {
        await catalog.createUpload(upload('u1', 1000));
        await catalog.createUpload(upload('u2', 3000));
        await catalog.createUpload(upload('u3', 2000));
        expect(await catalog.getUpload('u1')).toEqual(upload('u1', 1000));
        await catalog.setUploadOffset('u1', 4_500_000_000);
        expect((await catalog.getUpload('u1'))?.offset).toBe(4_500_000_000);
        expect((await catalog.listExpiredUploads(2500, 10)).map((u) => u.id)).toEqual(['u1', 'u3']);
        expect((await catalog.listExpiredUploads(2500, 1)).map((u) => u.id)).toEqual(['u1']);
        await catalog.deleteUpload('u1');
        await catalog.deleteUpload('u1');
        expect(await catalog.getUpload('u1')).toBeUndefined();
      });

      it('setUploadOffset with an expiry slides it (tus activity keeps an upload alive)', async () => {
        await catalog.createUpload(upload('u4', 1000));
        await catalog.setUploadOffset('u4', 10, 9000);
        expect(await catalog.getUpload('u4')).toMatchObject({ offset: 10, expiresAt: 9000 });
        expect((await catalog.listExpiredUploads(2500, 10)).map((u) => u.id)).not.toContain('u4');
        await catalog.setUploadOffset('u4', 20);
        expect(await catalog.getUpload('u4')).toMatchObject({ offset: 20, expiresAt: 9000 });
      });
    });

    it('concurrent puts into one folder and deletes keep folders and refcounts right', async () => {
      await Promise.all(Array.from({ length: 12 }, (_, i) => put(`alice/f/${i}.txt`, 100 + (i % 3))));
      await Promise.all(Array.from({ length: 6 }, (_, i) => catalog.deleteFile(`alice/f/${i}.txt`, 200)));
      const listing = await catalog.listDir({ dir: 'alice/f', limit: 100 });
      expect(listing.files.map((f) => f.name).sort()).toEqual(['10.txt', '11.txt', '6.txt', '7.txt', '8.txt', '9.txt']);
      expect(await catalog.dirExists('alice/f')).toBe(true);
      expect(await catalog.blobRefCount(SHA(100))).toBe(4);
      expect((await catalog.stats()).deleted).toBe(6);
    });

    describe('history', () => {
      const versionsOf = async (path: string) => (await catalog.listVersions({ path, limit: 100 })).map((v) => [v.sha256, v.uploadedAt, v.deleted]);

      it('every change is a version, newest first, paged; deletions have no content', async () => {
        await put('alice/a.txt', 1, 10, 100, 1);
        await put('alice/a.txt', 2, 20, 200, 2);
        await catalog.deleteFile('alice/a.txt', 300);
        await put('alice/a.txt', 3, 30, 400, 3);
        expect(await versionsOf('alice/a.txt')).toEqual([
          [SHA(3), 400, false],
          [null, 300, true],
          [SHA(2), 200, false],
          [SHA(1), 100, false],
        ]);
        const first = await catalog.listVersions({ path: 'alice/a.txt', limit: 2 });
        const rest = await catalog.listVersions({ path: 'alice/a.txt', limit: 10, before: first[1]?.version });
        expect([...first, ...rest].map((v) => v.uploadedAt)).toEqual([400, 300, 200, 100]);
        expect(await catalog.listVersions({ path: 'alice/none', limit: 10 })).toEqual([]);
        // A version's content, by id and path only.
        const old = rest[1];
        expect(await catalog.getVersion('alice/a.txt', old?.version ?? '')).toMatchObject({ sha256: SHA(1), size: 10, mtime: 1, uploadedAt: 100 });
        expect(await catalog.getVersion('alice/other.txt', old?.version ?? '')).toBeUndefined();
        expect(await catalog.getVersion('alice/a.txt', first[1]?.version ?? '')).toBeUndefined(); // a deletion
        expect(await catalog.getVersion('alice/a.txt', 'x1')).toBeUndefined();
      });

      it('upload times never go back within a path (the clock stepping back keeps one order)', async () => {
        await put('alice/t', 1, 10, 500);
        const b = await put('alice/t', 2, 10, 400);
        expect(b.entry.uploadedAt).toBe(500);
        expect((await catalog.listVersions({ path: 'alice/t', limit: 10 })).map((v) => v.sha256)).toEqual([SHA(2), SHA(1)]);
      });

      it('listFiles at a time: each path as it was, deletions left out, paged by path', async () => {
        await put('alice/d/a', 1, 10, 100);
        await put('alice/d/b', 2, 10, 100);
        await put('alice/d/a', 3, 10, 200);
        await catalog.deleteFile('alice/d/b', 250);
        await put('alice/d/c', 4, 10, 300);
        await put('alice/other', 5, 10, 50);
        const at = async (t: number, limit = 100) => (await catalog.listFiles({ prefix: 'alice/d/', limit, at: t })).map((f) => [f.path, f.sha256]);
        expect(await at(99)).toEqual([]);
        expect(await at(150)).toEqual([
          ['alice/d/a', SHA(1)],
          ['alice/d/b', SHA(2)],
        ]);
        expect(await at(260)).toEqual([['alice/d/a', SHA(3)]]);
        expect(await at(1000)).toEqual([
          ['alice/d/a', SHA(3)],
          ['alice/d/c', SHA(4)],
        ]);
        const page1 = await catalog.listFiles({ prefix: 'alice/d/', limit: 1, at: 150 });
        const page2 = await catalog.listFiles({ prefix: 'alice/d/', limit: 5, at: 150, after: page1[0]?.path });
        expect([...page1, ...page2].map((f) => f.path)).toEqual(['alice/d/a', 'alice/d/b']);
        expect(page1[0]?.version).toBeTruthy();
      });

      it('the trash lists deleted paths with their last content; a new upload takes a path out', async () => {
        await put('alice/t/a', 1, 11, 100, 7);
        await put('alice/t/b', 2, 12, 100);
        await catalog.deleteFile('alice/t/a', 200);
        await catalog.deleteFile('alice/t/b', 210);
        const trash = await catalog.listDeleted({ prefix: 'alice/t/', limit: 10 });
        expect(trash.map((d) => [d.path, d.sha256, d.size, d.mtime, d.deletedAt])).toEqual([
          ['alice/t/a', SHA(1), 11, 7, 200],
          ['alice/t/b', SHA(2), 12, null, 210],
        ]);
        expect(await catalog.getVersion('alice/t/a', trash[0]?.version ?? '')).toMatchObject({ sha256: SHA(1) });
        await put('alice/t/a', 3, 10, 300);
        expect((await catalog.listDeleted({ prefix: 'alice/', limit: 10 })).map((d) => d.path)).toEqual(['alice/t/b']);
        expect(await catalog.stats('alice')).toMatchObject({ files: 1, deleted: 1, versions: 5, historyBytes: 11 + 12 });
      });

      it('deleteVersions never removes current content and frees blobs no version holds', async () => {
        await put('alice/v', 1, 10, 100);
        await put('alice/v', 2, 10, 200);
        const c = await put('alice/v', 3, 10, 300);
        const all = await catalog.listVersions({ path: 'alice/v', limit: 10 });
        const r = await catalog.deleteVersions('alice/v', all.map((v) => v.version));
        expect(r).toEqual({ removed: 2, orphans: [SHA(2), SHA(1)].sort() });
        expect((await catalog.listVersions({ path: 'alice/v', limit: 10 })).map((v) => v.version)).toEqual([c.entry.version]);
        expect((await catalog.listHistory({ limit: 10 })).map((h) => h.path)).toEqual([]);
      });

      it('a deleted path whose whole history goes leaves the trash', async () => {
        await put('alice/gone', 1, 10, 100);
        await catalog.deleteFile('alice/gone', 200);
        const [h] = await catalog.listHistory({ limit: 10 });
        expect(h?.versions.map((v) => v.deleted)).toEqual([false, true]);
        expect(await catalog.deleteVersions('alice/gone', h?.versions.map((v) => v.version) ?? [])).toEqual({ removed: 2, orphans: [SHA(1)] });
        expect(await catalog.listDeleted({ prefix: '', limit: 10 })).toEqual([]);
      });

      it('purge removes every version of a path or a prefix, current files too', async () => {
        await put('alice/p/a', 1);
        await put('alice/p/a', 2, 10, 200);
        await put('alice/p/b', 2);
        await put('alice/q', 3);
        const r = await catalog.purge('alice/p/');
        expect(r).toEqual({ paths: 2, versions: 3, orphans: [SHA(1), SHA(2)] });
        expect(await catalog.getFile('alice/p/a')).toBeUndefined();
        expect(await catalog.dirExists('alice/p')).toBe(false);
        expect(await catalog.getFile('alice/q')).toBeDefined();
        expect(await catalog.purge('alice/q')).toEqual({ paths: 1, versions: 1, orphans: [SHA(3)] });
      });

      it('dropLostBlob: versions holding lost bytes go; a current file gets a deletion, older content stays restorable', async () => {
        await put('alice/l', 1, 10, 100);
        await put('alice/l', 2, 10, 200);
        await put('alice/m', 2, 10, 200);
        expect(await catalog.dropLostBlob(SHA(2), 300)).toEqual(['alice/l', 'alice/m']);
        expect(await catalog.getFile('alice/l')).toBeUndefined();
        expect(await catalog.blobRefCount(SHA(2))).toBe(0);
        expect((await catalog.listDeleted({ prefix: 'alice/', limit: 10 })).map((d) => [d.path, d.sha256])).toEqual([['alice/l', SHA(1)]]);
        expect(await catalog.listVersions({ path: 'alice/m', limit: 10 })).toEqual([]);
      });

      it('recentChanges counts replaced or deleted paths; prune holds are kept until resumed', async () => {
        for (let i = 0; i < 4; i++) await put(`alice/r/${i}`, i + 1, 10, 100);
        await put('alice/r/0', 9, 10, 500);
        await put('alice/r/1', 9, 10, 510);
        await catalog.deleteFile('alice/r/2', 520);
        await put('alice/r/new', 8, 10, 530);
        expect(await catalog.recentChanges('alice', 400)).toEqual({ changed: 3, total: 4 + 1 });
        expect(await catalog.recentChanges('alice', 515)).toEqual({ changed: 1, total: 4 + 1 });
        expect(await catalog.getPruneHold('alice')).toBeUndefined();
        await catalog.holdPruning('alice', 600, 'test');
        expect(await catalog.getPruneHold('alice')).toEqual({ namespace: 'alice', heldSince: 600, reason: 'test', resumedAt: null });
        expect(await catalog.resumePruning('alice', 700)).toBe(true);
        expect(await catalog.resumePruning('alice', 800)).toBe(false);
        expect(await catalog.listPruneHolds()).toEqual([{ namespace: 'alice', heldSince: null, reason: 'test', resumedAt: 700 }]);
      });
    });

    describe('quotas', () => {
      /** The running count agrees with a fresh sum of the versions (what stats reports). */
      const usage = async (ns: string) => {
        const u = await catalog.quotaUsage(ns);
        expect(u.usedBytes, `${ns}: counted vs summed`).toBe((await catalog.stats(ns)).usedBytes);
        return u;
      };

      it('a quota is set at creation or later, shown with the client, and removed with null', async () => {
        await catalog.addClient(client('alice', { quotaBytes: 1000 }));
        await catalog.addClient(client('bob'));
        expect((await catalog.getClient('alice'))?.quotaBytes).toBe(1000);
        expect(await usage('alice')).toEqual({ quotaBytes: 1000, usedBytes: 0 });
        expect(await catalog.setQuota('bob', 50 * 1024 ** 3)).toBe(true);
        expect((await catalog.getClientByTokenId('id-bob'))?.quotaBytes).toBe(50 * 1024 ** 3);
        expect((await catalog.stats('bob')).quotaBytes).toBe(50 * 1024 ** 3);
        expect(await catalog.setQuota('alice', null)).toBe(true);
        expect(await catalog.quotaUsage('alice')).toEqual({ quotaBytes: null, usedBytes: 0 });
        expect(await catalog.setQuota('nobody', 5)).toBe(false);
        expect(await catalog.quotaUsage('nobody')).toEqual({ quotaBytes: null, usedBytes: 0 });
      });

      it('current and history bytes count; a version past the quota is refused and leaves nothing', async () => {
        await catalog.addClient(client('alice', { quotaBytes: 100 }));
        await put('alice/a', 1, 40, 100);
        await put('alice/a', 2, 40, 200); // the first content stays in the history
        expect(await usage('alice')).toEqual({ quotaBytes: 100, usedBytes: 80 });
        const err = await put('alice/b', 3, 21, 300).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(QuotaExceededError);
        expect(err).toMatchObject({ namespace: 'alice', usedBytes: 80, quotaBytes: 100, neededBytes: 21 });
        expect((err as Error).message).toMatch(/quota/);
        expect(await catalog.getFile('alice/b')).toBeUndefined();
        expect(await catalog.listVersions({ path: 'alice/b', limit: 10 })).toEqual([]);
        expect((await usage('alice')).usedBytes).toBe(80);
        // Exactly full is allowed; the same content and mtime again adds nothing, so it passes.
        await put('alice/b', 3, 20, 300);
        expect((await put('alice/b', 3, 20, 400)).changed).toBe(false);
        expect((await usage('alice')).usedBytes).toBe(100);
        // Restores are exempt; a deletion adds nothing.
        await catalog.putFile({ path: 'alice/c', sha256: SHA(1), size: 40, mtime: null, now: 500, quota: 'exempt' });
        expect(await catalog.deleteFile('alice/c', 600)).toBe(true);
        expect((await usage('alice')).usedBytes).toBe(140);
      });

      it('content another namespace holds still counts in full (logical bytes, not disk)', async () => {
        await catalog.addClient(client('alice', { quotaBytes: 100 }));
        await catalog.addClient(client('bob'));
        await put('bob/big', 7, 90, 100);
        await put('alice/same', 7, 90, 200);
        await expect(put('alice/again', 7, 90, 300)).rejects.toBeInstanceOf(QuotaExceededError);
        expect(await usage('alice')).toEqual({ quotaBytes: 100, usedBytes: 90 });
        expect((await usage('bob')).usedBytes).toBe(90);
      });

      it('usage follows retention, purge, a lost blob and a re-added name', async () => {
        await catalog.addClient(client('alice', { quotaBytes: 1000 }));
        for (const [i, now] of [[1, 100], [2, 200], [3, 300]] as const) await put('alice/a', i, 10 * i, now);
        await put('alice/d/x', 4, 100, 400);
        await put('alice/d/y', 5, 200, 500);
        await put('alice/lost', 6, 7, 600);
        expect((await usage('alice')).usedBytes).toBe(10 + 20 + 30 + 100 + 200 + 7);
        const [oldest] = (await catalog.listVersions({ path: 'alice/a', limit: 10 })).reverse();
        expect((await catalog.deleteVersions('alice/a', [oldest?.version ?? ''])).removed).toBe(1);
        expect((await usage('alice')).usedBytes).toBe(20 + 30 + 100 + 200 + 7);
        expect((await catalog.purge('alice/d/')).paths).toBe(2);
        expect((await usage('alice')).usedBytes).toBe(20 + 30 + 7);
        expect(await catalog.dropLostBlob(SHA(6), 700)).toEqual(['alice/lost']);
        expect((await usage('alice')).usedBytes).toBe(20 + 30);
        expect(await catalog.revokeClient('alice', 800)).toBe(true);
        await catalog.addClient(client('alice', { tokenId: 'new', quotaBytes: 60 }));
        expect(await usage('alice')).toEqual({ quotaBytes: 60, usedBytes: 50 });
      });

      it('two concurrent writes never both pass a quota only one of them fits', async () => {
        await catalog.addClient(client('alice', { quotaBytes: 100 }));
        const results = await Promise.allSettled([1, 2, 3, 4].map((i) => put(`alice/p${i}`, i, 60, 100)));
        expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
        for (const r of results) if (r.status === 'rejected') expect(r.reason).toBeInstanceOf(QuotaExceededError);
        expect((await usage('alice')).usedBytes).toBe(60);
      });
    });

    describe('clients seen and backup passes', () => {
      const pass = (root: string, receivedAt: number, extra: Partial<PassInput> = {}): PassInput => ({
        namespace: root.split('/')[0] as string,
        root,
        host: 'laptop',
        folder: '/home/u/docs',
        startedAt: receivedAt - 50,
        endedAt: receivedAt - 1,
        receivedAt,
        scanned: 10,
        uploaded: 2,
        failed: 0,
        deleted: 1,
        bytes: 5_000_000_000,
        stopped: false,
        ...extra,
      });

      it('touchClients records the latest request; an earlier time never moves it back; re-adding a name forgets it', async () => {
        await catalog.addClient(client('alice'));
        await catalog.addClient(client('bob'));
        await catalog.touchClients(new Map([['alice', 5000], ['nobody', 1]]));
        await catalog.touchClients(new Map([['alice', 4000], ['bob', 6000]]));
        expect((await catalog.listClients()).map((c) => [c.name, c.lastSeen])).toEqual([['alice', 5000], ['bob', 6000]]);
        await catalog.revokeClient('alice', 7000);
        await catalog.addClient(client('alice', { tokenId: 'new', createdAt: 8000 }));
        expect((await catalog.getClient('alice'))?.lastSeen).toBeNull();
      });

      it('recordPass keeps every field; listPasses pages newest first, per namespace or all', async () => {
        const a = await catalog.recordPass(pass('alice/docs', 1000));
        const b = await catalog.recordPass(pass('bob/x', 2000, { failed: 3, stopped: true }));
        const c = await catalog.recordPass(pass('alice/photos', 3000));
        expect(a).toEqual({ ...pass('alice/docs', 1000), id: a.id });
        expect(await catalog.listPasses({ limit: 10 })).toEqual([c, b, a]);
        expect(await catalog.listPasses({ namespace: 'alice', limit: 1 })).toEqual([c]);
        expect(await catalog.listPasses({ namespace: 'alice', limit: 5, before: c.id })).toEqual([a]);
        expect(await catalog.listPasses({ limit: 5, before: 'x' })).toEqual([]);
      });

      it('sourcePasses: per root the newest pass and the newest successful one (failed or stopped ones are not)', async () => {
        const ok = await catalog.recordPass(pass('alice/docs', 1000));
        await catalog.recordPass(pass('alice/docs', 2000, { stopped: true }));
        const failing = await catalog.recordPass(pass('alice/docs', 3000, { failed: 2 }));
        const never = await catalog.recordPass(pass('alice/photos', 1500, { failed: 1 }));
        await catalog.recordPass(pass('bob/docs', 9000));
        expect(await catalog.sourcePasses('alice')).toEqual([
          { root: 'alice/docs', last: failing, lastSuccess: ok },
          { root: 'alice/photos', last: never, lastSuccess: null },
        ]);
        expect(await catalog.sourcePasses('carol')).toEqual([]);
        expect(await catalog.lastSuccessfulPasses()).toEqual(new Map([['alice', 1000], ['bob', 9000]]));
      });

      it(`keeps the newest ${PASSES_KEPT} passes of a namespace, and each root's newest successful one however old`, async () => {
        const first = await catalog.recordPass(pass('alice/docs', 1));
        for (let i = 0; i < PASSES_KEPT + 5; i++) await catalog.recordPass(pass('alice/docs', 10 + i, { failed: 1 }));
        await catalog.recordPass(pass('bob/docs', 5));
        const kept = await catalog.listPasses({ namespace: 'alice', limit: 1000 });
        expect(kept).toHaveLength(PASSES_KEPT + 1);
        expect(kept[kept.length - 1]).toEqual(first);
        expect((await catalog.sourcePasses('alice'))[0]?.lastSuccess).toEqual(first);
        expect(await catalog.listPasses({ namespace: 'bob', limit: 10 })).toHaveLength(1);
      });
    });

    describe('backup roots', () => {
      const claim = (path: string, sourceId: string, now: number, adopt = false) =>
        catalog.claimRoot({ path, sourceId, host: `host-${sourceId}`, folder: `/home/u/${sourceId}/docs`, adopt, now });

      it('a free root is created; the same source again is accepted and seen; another source is refused', async () => {
        const first = await claim('alice/docs', 'A', 100);
        const record = { path: 'alice/docs', namespace: 'alice', sourceId: 'A', host: 'host-A', folder: '/home/u/A/docs', createdAt: 100, claimedAt: 100, lastSeen: 100 };
        expect(first).toEqual({ outcome: 'created', root: record });
        expect(await claim('alice/docs', 'A', 200)).toEqual({ outcome: 'same', root: { ...record, lastSeen: 200 } });
        expect(await claim('alice/docs', 'B', 300)).toEqual({ outcome: 'taken', other: { ...record, lastSeen: 200 } });
        // The refusal changed nothing.
        expect(await catalog.listRoots('alice')).toEqual([{ ...record, lastSeen: 200 }]);
      });

      it('adopt takes an exact root over (claimedAt moves, createdAt stays); the old source is then refused', async () => {
        await claim('alice/docs', 'A', 100);
        const adopted = await claim('alice/docs', 'B', 300, true);
        expect(adopted).toMatchObject({ outcome: 'adopted', root: { sourceId: 'B', host: 'host-B', createdAt: 100, claimedAt: 300, lastSeen: 300 }, previous: { sourceId: 'A' } });
        expect(await claim('alice/docs', 'A', 400)).toMatchObject({ outcome: 'taken', other: { sourceId: 'B' } });
        // Adopting what is already ours is just a claim.
        expect(await claim('alice/docs', 'B', 500, true)).toMatchObject({ outcome: 'same', root: { claimedAt: 300, lastSeen: 500 } });
      });

      it('roots never nest, whoever asks and whatever adopt says; other namespaces and look-alike names are apart', async () => {
        await claim('alice/docs', 'A', 100);
        expect(await claim('alice/docs/old', 'B', 200, true)).toMatchObject({ outcome: 'nested', other: { path: 'alice/docs' } });
        expect(await claim('alice/docs/old', 'A', 200)).toMatchObject({ outcome: 'nested', other: { path: 'alice/docs' } });
        expect(await claim('alice', 'B', 200, true)).toMatchObject({ outcome: 'nested', other: { path: 'alice/docs' } });
        // Siblings, a longer name, a name with LIKE wildcards, another namespace: all free.
        for (const path of ['alice/docs2', 'alice/doc_', 'alice/docs%', 'bob/docs', 'bob/docs/old']) {
          const expected = path === 'bob/docs/old' ? 'nested' : 'created';
          expect((await claim(path, 'B', 300)).outcome, path).toBe(expected);
        }
        expect((await catalog.listRoots()).map((r) => r.path)).toEqual(['alice/doc_', 'alice/docs', 'alice/docs%', 'alice/docs2', 'bob/docs'].sort());
        expect((await catalog.listRoots('bob')).map((r) => r.path)).toEqual(['bob/docs']);
      });

      it('concurrent claims of one root by two sources: exactly one wins', async () => {
        const results = await Promise.all([claim('alice/x', 'A', 100), claim('alice/x', 'B', 100), claim('alice/x/y', 'C', 100)]);
        const outcomes = results.map((r) => r.outcome).sort();
        expect(outcomes.filter((o) => o === 'created')).toHaveLength(1);
        expect(outcomes.filter((o) => o === 'created' || o === 'same' || o === 'adopted')).toHaveLength(1);
      });

      it('releaseRoot forgets a root, so it (or one nested in its place) can be claimed afresh', async () => {
        await claim('alice/docs', 'A', 100);
        expect(await catalog.releaseRoot('alice/docs')).toBe(true);
        expect(await catalog.releaseRoot('alice/docs')).toBe(false);
        expect((await claim('alice/docs/sub', 'B', 200)).outcome).toBe('created');
      });
    });
  });
}
