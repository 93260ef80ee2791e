import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BATCH_CONTENT_TYPE, BATCH_FILE_MAX_BYTES, BATCH_MAX_BYTES, BATCH_MAX_FILES } from '../../handlers/files/batch.js';
import { sha256 } from '../helpers/bytes.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { apiFor } from '../helpers/api.js';
import { encodePath } from '../../shared/wire.js';

type Who = 'alice' | 'bob' | 'root';

interface Entry {
  path: unknown;
  data: Buffer;
  mtime?: unknown;
  /** Defaults to the data's hash. */
  sha256?: unknown;
  /** Defaults to the data's length; a different one breaks the frame on purpose. */
  size?: unknown;
}

/** The documented framing: per file a JSON header line, then exactly `size` bytes. */
function frame(entries: Entry[]): Buffer {
  const parts: Buffer[] = [];
  for (const e of entries) {
    const header = { path: e.path, size: e.size ?? e.data.length, mtime: e.mtime ?? null, sha256: e.sha256 ?? sha256(e.data) };
    parts.push(Buffer.from(`${JSON.stringify(header)}\n`), e.data);
  }
  return Buffer.concat(parts);
}

interface Result {
  path: unknown;
  status: number;
  error?: string;
  sha256?: string;
  size?: number;
  mtime?: number | null;
  changed?: boolean;
  version?: string;
}

describe('POST /api/batch', () => {
  let s: TestServer;

  const post = (who: Who, body: Buffer | string, type = BATCH_CONTENT_TYPE) =>
    fetch(`${s.url}/api/batch`, { method: 'POST', headers: { ...s.auth(who), 'Content-Type': type }, body: typeof body === 'string' ? body : new Uint8Array(body) });
  const batch = async (who: Who, entries: Entry[]) => {
    const r = await post(who, frame(entries));
    expect(r.status).toBe(200);
    return (await r.json()) as { stored: number; refused: number; results: Result[] };
  };
  const get = (who: Who, path: string) => apiFor(s, who).get(encodePath(path));
  const bytesOf = async (who: Who, path: string) => {
    const r = await get(who, path);
    return r.status === 200 ? Buffer.from(await r.arrayBuffer()) : r.status;
  };
  const versions = async (path: string) =>
    ((await (await fetch(`${s.url}/api/versions?path=${encodeURIComponent(path)}`, { headers: s.auth('root') })).json()) as { items: { sha256: string }[] }).items;
  const stats = async () => (await (await fetch(`${s.url}/api/stats`, { headers: s.auth('root') })).json()) as { files: number; blobs: number };
  const tmpFiles = async () => (await readdir(join(s.dataDir, 'tmp'))).length;

  beforeAll(async () => {
    s = await startTestServer();
  });
  afterAll(async () => {
    await s.stop();
  });

  it('stores every file with its bytes, hash and mtime, and records a version for each', async () => {
    const files = [
      { path: 'alice/b1/a.txt', data: Buffer.from('hello batch\n'), mtime: 1_700_000_000_123 },
      { path: 'alice/b1/sub/ünïcödé €.bin', data: randomBytes(70_000), mtime: 1_700_000_000_456 },
      { path: 'alice/b1/empty', data: Buffer.alloc(0) },
      { path: 'alice/b1/max.bin', data: randomBytes(BATCH_FILE_MAX_BYTES) },
    ];
    const out = await batch('alice', files);
    expect(out).toMatchObject({ stored: 4, refused: 0 });
    expect(out.results.map((r) => [r.path, r.status, r.changed])).toEqual(files.map((f) => [f.path, 201, true]));
    for (const [i, f] of files.entries()) {
      const got = await bytesOf('alice', f.path);
      expect(Buffer.isBuffer(got) && sha256(got)).toBe(sha256(f.data));
      expect(out.results[i]).toMatchObject({ sha256: sha256(f.data), size: f.data.length, mtime: f.mtime ?? null });
      expect((await versions(f.path)).map((v) => v.sha256)).toEqual([sha256(f.data)]);
    }
    expect(await tmpFiles()).toBe(0);
  });

  it('the same batch again changes nothing; new content replaces and keeps the old version', async () => {
    const a = { path: 'alice/b2/a.txt', data: Buffer.from('one'), mtime: 1 };
    const b = { path: 'alice/b2/b.txt', data: Buffer.from('two'), mtime: 2 };
    await batch('alice', [a, b]);
    const again = await batch('alice', [a, b]);
    expect(again.results.map((r) => [r.status, r.changed])).toEqual([
      [200, false],
      [200, false],
    ]);
    expect(await versions(a.path)).toHaveLength(1);
    const next = await batch('alice', [{ ...a, data: Buffer.from('one, edited') }]);
    expect(next.results[0]).toMatchObject({ status: 200, changed: true });
    expect((await versions(a.path)).map((v) => v.sha256)).toEqual([sha256('one, edited'), sha256('one')]);
    expect(await bytesOf('alice', a.path)).toEqual(Buffer.from('one, edited'));
  });

  it('identical content in one batch is stored once', async () => {
    const before = await stats();
    const data = randomBytes(5000);
    const out = await batch('alice', [
      { path: 'alice/b3/x', data },
      { path: 'alice/b3/y', data },
    ]);
    expect(out.stored).toBe(2);
    const after = await stats();
    expect([after.files - before.files, after.blobs - before.blobs]).toEqual([2, 1]);
    expect(await bytesOf('alice', 'alice/b3/y')).toEqual(data);
  });

  it('a bad sha256, a bad path, another namespace, a repeated path or an oversize file is refused alone', async () => {
    const good1 = { path: 'alice/b4/good1', data: randomBytes(1000) };
    const good2 = { path: 'alice/b4/good2', data: randomBytes(1000) };
    const out = await batch('alice', [
      { path: 'alice/b4/badsha', data: Buffer.from('actual bytes'), sha256: sha256('other bytes') },
      good1,
      { path: 'bob/b4/planted', data: Buffer.from('x') },
      { path: 'alice/../bob/x', data: Buffer.from('x') },
      { path: 42, data: Buffer.from('x') },
      { path: 'alice/b4/nosha', data: Buffer.from('x'), sha256: 'abc' },
      { path: 'alice/b4/mtime', data: Buffer.from('x'), mtime: 'yesterday' },
      { path: 'alice/b4/big', data: randomBytes(BATCH_FILE_MAX_BYTES + 1) },
      { path: 'alice/b4/good1', data: Buffer.from('twice') },
      good2,
    ]);
    expect(out.results.map((r) => r.status)).toEqual([400, 201, 403, 400, 400, 400, 400, 413, 400, 201]);
    expect(out).toMatchObject({ stored: 2, refused: 8 });
    expect(out.results[0]?.error).toMatch(/does not match its sha256/);
    expect(out.results[8]?.error).toMatch(/twice/);
    expect(out.results[7]?.error).toMatch(/PUT/);
    expect(await bytesOf('alice', good1.path)).toEqual(good1.data);
    expect(await bytesOf('alice', good2.path)).toEqual(good2.data);
    for (const p of ['alice/b4/badsha', 'alice/b4/big', 'alice/b4/nosha']) expect(await bytesOf('alice', p)).toBe(404);
    expect(await bytesOf('root', 'bob/b4/planted')).toBe(404);
    expect(await tmpFiles()).toBe(0);
  });

  it('a file past the quota is refused alone (507), its bytes are not kept', async () => {
    await s.server.catalog.setQuota('bob', 10_000);
    const before = await stats();
    const out = await batch('bob', [
      { path: 'bob/q/a', data: randomBytes(6000) },
      { path: 'bob/q/b', data: randomBytes(6000) },
      { path: 'bob/q/c', data: randomBytes(4000) },
    ]);
    expect(out.results.map((r) => r.status)).toEqual([201, 507, 201]);
    expect(out.results[1]?.error).toMatch(/quota exceeded/);
    expect(await bytesOf('bob', 'bob/q/b')).toBe(404);
    const after = await stats();
    expect([after.files - before.files, after.blobs - before.blobs]).toEqual([2, 2]);
    await s.server.catalog.setQuota('bob', null);
  });

  it('a truncated or unframed body commits nothing, not even the whole files before the break', async () => {
    const before = await stats();
    const good = { path: 'alice/b5/good', data: randomBytes(2000) };
    const cases: [string, Buffer][] = [
      ['truncated file', Buffer.concat([frame([good]), frame([{ path: 'alice/b5/cut', data: randomBytes(100), size: 500 }])])],
      ['header not JSON', Buffer.concat([frame([good]), Buffer.from('this is not json\nxyz')])],
      ['no size', Buffer.concat([frame([good]), Buffer.from(`${JSON.stringify({ path: 'alice/b5/n', sha256: sha256('') })}\n`)])],
      ['cut inside a header', Buffer.concat([frame([good]), Buffer.from('{"path": "alice/b5/h", "si')])],
    ];
    for (const [name, body] of cases) {
      const r = await post('alice', body);
      expect([name, r.status]).toEqual([name, 400]);
      expect(((await r.json()) as { error: string }).error).toMatch(/broken batch stream: .*nothing was stored/);
    }
    expect(await bytesOf('alice', good.path)).toBe(404);
    expect((await stats()).files).toBe(before.files);
    expect(await tmpFiles()).toBe(0);
  });

  it('a client that goes away mid-body leaves nothing behind', async () => {
    const before = await stats();
    const body = frame([{ path: 'alice/b6/a', data: randomBytes(3000) }, { path: 'alice/b6/b', data: randomBytes(3000) }]);
    const head = `POST /api/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.alice}\r\nContent-Type: ${BATCH_CONTENT_TYPE}\r\nContent-Length: ${body.length}\r\n\r\n`;
    await rawRequest(s.url, Buffer.concat([Buffer.from(head), body.subarray(0, 4000)]), 2000, { halfClose: true });
    expect((await stats()).files).toBe(before.files);
    expect(await bytesOf('alice', 'alice/b6/a')).toBe(404);
  });

  it('over the batch limits: 413 with a clear error, nothing stored', async () => {
    const before = await stats();
    const many = Array.from({ length: BATCH_MAX_FILES + 1 }, (_, i) => ({ path: `alice/b7/f${i}`, data: Buffer.alloc(0) }));
    const r = await post('alice', frame(many));
    expect(r.status).toBe(413);
    expect(((await r.json()) as { error: string }).error).toMatch(new RegExp(`more than ${BATCH_MAX_FILES} files`));
    // Declared past what the server would drain after answering: the 413 comes at once.
    const head = `POST /api/batch HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.alice}\r\nContent-Type: ${BATCH_CONTENT_TYPE}\r\nContent-Length: ${2 * BATCH_MAX_BYTES + 1}\r\n\r\n`;
    const big = await rawRequest(s.url, head, 5000);
    expect(big.status).toBe(413);
    expect(big.raw).toMatch(/over the limit/);
    // No Content-Length: counted as it streams.
    const file = randomBytes(BATCH_FILE_MAX_BYTES);
    const entry = Buffer.concat([Buffer.from(`${JSON.stringify({ path: 'alice/b7/big', size: file.length, sha256: sha256(file) })}\n`), file]);
    let sent = 0;
    const streamed = await fetch(`${s.url}/api/batch`, {
      method: 'POST',
      headers: { ...s.auth('alice'), 'Content-Type': BATCH_CONTENT_TYPE },
      body: new ReadableStream({
        pull(c) {
          if (sent++ > BATCH_MAX_BYTES / BATCH_FILE_MAX_BYTES) return c.close();
          c.enqueue(new Uint8Array(entry));
        },
      }),
      duplex: 'half',
    } as RequestInit);
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: string }).error).toMatch(/over .* bytes: nothing was stored/);
    expect((await stats()).files).toBe(before.files);
    expect(await tmpFiles()).toBe(0);
  });

  it('needs its own content type (415) and at least one file (400)', async () => {
    const body = frame([{ path: 'alice/b8/x', data: Buffer.from('x') }]);
    for (const type of ['text/plain', 'multipart/form-data; boundary=x', 'application/octet-stream']) expect((await post('alice', body, type)).status).toBe(415);
    expect((await post('alice', '')).status).toBe(400);
    expect(await bytesOf('alice', 'alice/b8/x')).toBe(404);
  });
});
