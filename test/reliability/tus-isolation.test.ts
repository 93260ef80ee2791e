/**
 * Resumable uploads between clients (issue 14.7): another client's request never interrupts an
 * owner's running PATCH, an upload of a client revoked meanwhile does not commit, and one client
 * cannot hold more than its share of unfinished uploads.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { addClientToDataDir, startTestServer, type TestServer } from '../helpers/server.js';

const OFFSET_STREAM = 'application/offset+octet-stream';
const MIB = 1 << 20;
const b64 = (s: string) => Buffer.from(s).toString('base64');

let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ maxUploadBytes: 8 * MIB, maxOpenUploads: 3, maxUploadReserveBytes: 10 * MIB });
});
afterAll(async () => {
  await s.stop();
});

const tus = (token: string, extra: Record<string, string> = {}) => ({ Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', ...extra });

async function create(token: string, path: string, length: number): Promise<Response> {
  return fetch(`${s.url}/uploads/`, { method: 'POST', headers: tus(token, { 'Upload-Length': String(length), 'Upload-Metadata': `path ${b64(path)}` }) });
}

async function createOk(token: string, path: string, length: number): Promise<string> {
  const r = await create(token, path, length);
  expect(r.status).toBe(201);
  return new URL(r.headers.get('location') ?? '', `${s.url}/uploads/`).href;
}

/** A PATCH whose body is sent in two halves: the second only when `release` is called. */
function heldPatch(token: string, url: string, data: Buffer) {
  let release!: () => void;
  const gate = new Promise<void>((r) => (release = r));
  const half = Math.floor(data.length / 2);
  const body = new ReadableStream<Uint8Array>({
    async start(c) {
      c.enqueue(new Uint8Array(data.subarray(0, half)));
      await gate;
      c.enqueue(new Uint8Array(data.subarray(half)));
      c.close();
    },
  });
  const response = fetch(url, {
    method: 'PATCH',
    headers: tus(token, { 'Upload-Offset': '0', 'Content-Type': OFFSET_STREAM, 'Content-Length': String(data.length) }),
    body,
    duplex: 'half',
  } as RequestInit);
  return { response, release, half };
}

/** Waits until the server has written `bytes` of the upload's part (the PATCH is running). */
async function partReaches(url: string, bytes: number): Promise<void> {
  const file = join(s.dataDir, 'uploads', url.split('/').pop() ?? '');
  await waitFor(`${bytes} bytes of the upload's part`, async () => (await stat(file).then((st) => st.size, () => 0)) >= bytes, 30_000, 10);
}

describe('a running PATCH belongs to its owner', () => {
  it("another client's HEAD, PATCH and DELETE are 404 and do not cut the owner's PATCH short", async () => {
    const data = Buffer.alloc(2 * MIB, 5);
    const url = await createOk(s.tokens.alice, 'alice/held.bin', data.length);
    const p = heldPatch(s.tokens.alice, url, data);
    await partReaches(url, p.half);
    expect((await fetch(url, { method: 'HEAD', headers: tus(s.tokens.bob) })).status).toBe(404);
    expect((await fetch(url, { method: 'PATCH', headers: tus(s.tokens.bob, { 'Upload-Offset': '0', 'Content-Type': OFFSET_STREAM }), body: 'x' })).status).toBe(404);
    expect((await fetch(url, { method: 'DELETE', headers: tus(s.tokens.bob) })).status).toBe(404);
    p.release();
    const r = await p.response;
    expect(r.status).toBe(204);
    expect(r.headers.get('upload-offset')).toBe(String(data.length));
    const got = await fetch(`${s.url}/files/alice/held.bin`, { headers: s.auth('alice') });
    expect(await sha256Body(got)).toEqual({ sha256: sha256(data), size: data.length });
  });

  it('an upload of a client revoked while its last PATCH runs is not committed', async () => {
    const token = await addClientToDataDir(s.dataDir, 'erin');
    const data = Buffer.alloc(2 * MIB, 6);
    const url = await createOk(token, 'erin/late.bin', data.length);
    const p = heldPatch(token, url, data);
    await partReaches(url, p.half);
    expect(await s.server.catalog.revokeClient('erin', Date.now())).toBe(true);
    p.release();
    const r = await p.response;
    expect(r.status).toBe(401);
    expect((await r.json()).error).toMatch(/revoked/);
    expect((await fetch(`${s.url}/files/erin/late.bin`, { headers: s.auth('root') })).status).toBe(404);
  });
});

describe('unfinished uploads per client are capped (3 uploads, 10 MiB here)', () => {
  it('refuses the fourth open upload with 429 and a JSON error, per client, until one is finished or deleted', async () => {
    const token = await addClientToDataDir(s.dataDir, 'frank');
    const urls = [await createOk(token, 'frank/a', 10), await createOk(token, 'frank/b', 10), await createOk(token, 'frank/c', 10)];
    const refused = await create(token, 'frank/d', 10);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toMatch(/^\d+$/);
    expect((await refused.json()).error).toMatch(/unfinished uploads/);
    // Another client is not affected.
    await createOk(s.tokens.bob, 'bob/own', 10);
    // Deleting one frees a place.
    expect((await fetch(urls[0] as string, { method: 'DELETE', headers: tus(token) })).status).toBe(204);
    await createOk(token, 'frank/d', 10);
    expect((await create(token, 'frank/e', 10)).status).toBe(429);
    // So does finishing one.
    const done = await fetch(urls[1] as string, { method: 'PATCH', headers: tus(token, { 'Upload-Offset': '0', 'Content-Type': OFFSET_STREAM }), body: '0123456789' });
    expect(done.status).toBe(204);
    await createOk(token, 'frank/e', 10);
  });

  it('refuses an upload that would reserve more than the byte limit', async () => {
    const token = await addClientToDataDir(s.dataDir, 'gina');
    await createOk(token, 'gina/big', 6 * MIB);
    const refused = await create(token, 'gina/bigger', 5 * MIB);
    expect(refused.status).toBe(429);
    expect((await refused.json()).error).toMatch(/reserve more than/);
    await createOk(token, 'gina/fits', 4 * MIB);
  });
});
