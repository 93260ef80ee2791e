/**
 * fsck on stores that are healthy, or made healthy by the next upload (issue 14.11): finished
 * resumable uploads are no missing-part, and a crash between the catalog and the byte steps of
 * deleting a cold file, followed by a re-upload of that content, leaves a catalog that names
 * the form actually stored.
 */
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { catalogFile } from '../../adapters/node/server.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { fsckCli } from '../helpers/fsck.js';
import { waitFor } from '../helpers/wait.js';
import { makeDataDir, startTestServer } from '../helpers/server.js';

const blobPath = (dataDir: string, sha: string) => join(dataDir, 'blobs', sha.slice(0, 2), sha.slice(2, 4), sha);
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('fsck on a healthy store', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('finished tus uploads (kept as receipts) and one in progress: no findings, exit 0', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const s = await startTestServer({}, { dataDir, keepData: true });
    const tus = { ...s.auth('alice'), 'Tus-Resumable': '1.0.0' };
    for (const [path, body] of [['alice/t/one.bin', 'first upload'], ['alice/t/empty.bin', '']] as const) {
      const r = await fetch(`${s.url}/uploads/`, {
        method: 'POST',
        headers: { ...tus, 'Upload-Length': String(body.length), 'Upload-Metadata': `path ${b64(path)}`, 'Content-Type': 'application/offset+octet-stream' },
        body,
      });
      expect(r.status).toBe(201);
      expect(r.headers.get('upload-offset')).toBe(String(body.length));
    }
    const open = await fetch(`${s.url}/uploads/`, { method: 'POST', headers: { ...tus, 'Upload-Length': '100', 'Upload-Metadata': `path ${b64('alice/t/later.bin')}` } });
    expect(open.status).toBe(201);
    await s.stop();
    const check = await fsckCli(dataDir);
    expect(check.findings).toEqual([]);
    expect(check.code).toBe(0);
  });

  it('a cold file deleted by a crash half-way, then uploaded again: the catalog names the compressed form', async () => {
    const dataDir = await makeDataDir();
    dirs.push(dataDir);
    const text = Buffer.from('words that compress well, again and again\n'.repeat(5000));
    const sha = sha256(text);
    let s = await startTestServer({ hotTimeMs: 300, sweepIntervalMs: 100 }, { dataDir, keepData: true });
    expect((await fetch(`${s.url}/files/alice/c/a.txt`, { method: 'PUT', headers: s.auth('alice'), body: new Uint8Array(text) })).status).toBe(201);
    await waitFor('cold', async () => (await s.server.catalog.getBlob(sha))?.state === 'cold');
    await s.stop();

    // The catalog step of freeing the blob ran, the byte step did not (a crash in between).
    const catalog = new SqliteCatalog({ file: catalogFile(dataDir) });
    expect((await catalog.purge('alice/c/a.txt')).orphans).toEqual([sha]);
    expect(await catalog.deleteBlobIfUnreferenced(sha)).toBe(true);
    await catalog.close();
    expect((await stat(`${blobPath(dataDir, sha)}.gz`)).isFile()).toBe(true);

    s = await startTestServer({}, { dataDir, keepData: true });
    expect((await fetch(`${s.url}/files/alice/c/again.txt`, { method: 'PUT', headers: s.auth('alice'), body: new Uint8Array(text) })).status).toBe(201);
    await s.stop();
    const check = await fsckCli(dataDir);
    expect(check.findings).toEqual([]);
    expect(check.code).toBe(0);
    s = await startTestServer({}, { dataDir, keepData: true });
    const got = await fetch(`${s.url}/files/alice/c/again.txt`, { headers: s.auth('alice') });
    expect(await sha256Body(got)).toEqual({ sha256: sha, size: text.length });
    await s.stop();
  });
});
