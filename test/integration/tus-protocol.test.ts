import { randomBytes } from 'node:crypto';
import { readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../helpers/wait.js';
import { reclaimExpiredUploads } from '../../handlers/tus/expire.js';
import { sha256 } from '../helpers/bytes.js';
import { addClientToDataDir, makeDataDir, spawnServer, startTestServer, type TestServer } from '../helpers/server.js';

type Who = 'alice' | 'bob' | 'root';
const OFFSET_STREAM = 'application/offset+octet-stream';
const HOUR = 3600_000;
const b64 = (s: string) => Buffer.from(s).toString('base64');

describe('tus protocol at /uploads/ (plain fetch)', () => {
  let s: TestServer;
  const tus = (who: Who, extra: Record<string, string> = {}) => ({ ...s.auth(who), 'Tus-Resumable': '1.0.0', ...extra });
  const partsDir = () => join(s.dataDir, 'uploads');
  const parts = async () => readdir(partsDir()).catch(() => [] as string[]);

  async function create(
    who: Who,
    o: { length: number; path: string; sha256?: string; mtime?: number; body?: BodyInit },
  ): Promise<{ url: string; id: string; res: Response }> {
    const meta = [`path ${b64(o.path)}`, `filename ${b64(o.path.split('/').pop() ?? '')}`];
    if (o.sha256) meta.push(`sha256 ${b64(o.sha256)}`);
    if (o.mtime !== undefined) meta.push(`mtime ${b64(String(o.mtime))}`);
    const headers: Record<string, string> = tus(who, { 'Upload-Length': String(o.length), 'Upload-Metadata': meta.join(',') });
    if (o.body !== undefined) headers['Content-Type'] = OFFSET_STREAM;
    const res = await fetch(`${s.url}/uploads/`, { method: 'POST', headers, body: o.body });
    const location = res.headers.get('location') ?? '';
    const url = new URL(location, `${s.url}/uploads/`).toString();
    return { url, id: url.split('/').pop() ?? '', res };
  }

  function patch(who: Who, url: string, offset: number, body: BodyInit, extra: Record<string, string> = {}) {
    return fetch(url, { method: 'PATCH', headers: tus(who, { 'Upload-Offset': String(offset), 'Content-Type': OFFSET_STREAM, ...extra }), body });
  }

  async function offsetOf(url: string, who: Who = 'alice'): Promise<number> {
    const r = await fetch(url, { method: 'HEAD', headers: tus(who) });
    expect(r.status).toBe(200);
    return Number(r.headers.get('upload-offset'));
  }

  async function download(path: string): Promise<Response> {
    return fetch(`${s.url}/files/${path}`, { headers: s.auth('alice') });
  }

  beforeAll(async () => {
    s = await startTestServer({ maxUploadBytes: 1024 * 1024 });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('OPTIONS tells version, extensions, max size and checksum algorithm', async () => {
    const r = await fetch(`${s.url}/uploads/`, { method: 'OPTIONS', headers: s.auth('alice') });
    expect(r.status).toBe(204);
    expect(r.headers.get('tus-version')).toBe('1.0.0');
    expect(r.headers.get('tus-resumable')).toBe('1.0.0');
    expect(r.headers.get('tus-extension')?.split(',')).toEqual(['creation', 'creation-with-upload', 'termination', 'expiration', 'checksum']);
    expect(r.headers.get('tus-max-size')).toBe(String(1024 * 1024));
    expect(r.headers.get('tus-checksum-algorithm')).toBe('sha256');
  });

  it('needs Tus-Resumable 1.0.0 (412 with Tus-Version) and credentials (401)', async () => {
    for (const version of [undefined, '0.2.2']) {
      const headers: Record<string, string> = { ...s.auth('alice'), 'Upload-Length': '1', 'Upload-Metadata': `path ${b64('alice/v')}` };
      if (version) headers['Tus-Resumable'] = version;
      const r = await fetch(`${s.url}/uploads/`, { method: 'POST', headers });
      expect(r.status).toBe(412);
      expect(r.headers.get('tus-version')).toBe('1.0.0');
    }
    const anon = await fetch(`${s.url}/uploads/`, { method: 'POST', headers: { 'Tus-Resumable': '1.0.0', 'Upload-Length': '1' } });
    expect(anon.status).toBe(401);
    expect(await parts()).toEqual([]);
  });

  it('creates, reports the offset on HEAD (no-store), appends chunk by chunk and serves the result', async () => {
    const data = randomBytes(300_000);
    const { url, id, res } = await create('alice', { length: data.length, path: 'alice/docs/ünï cøde.bin', mtime: 1_700_000_000_000 });
    expect(res.status).toBe(201);
    expect(url).toBe(`${s.url}/uploads/${id}`);
    expect(res.headers.get('upload-expires')).toMatch(/GMT$/);

    const head = await fetch(url, { method: 'HEAD', headers: tus('alice') });
    expect(head.status).toBe(200);
    expect(head.headers.get('cache-control')).toBe('no-store');
    expect(head.headers.get('upload-offset')).toBe('0');
    expect(head.headers.get('upload-length')).toBe(String(data.length));
    expect(head.headers.get('upload-metadata')).toContain(`path ${b64('alice/docs/ünï cøde.bin')}`);

    const first = await patch('alice', url, 0, data.subarray(0, 100_000));
    expect(first.status).toBe(204);
    expect(first.headers.get('upload-offset')).toBe('100000');
    expect(first.headers.get('upload-expires')).toMatch(/GMT$/);
    expect(await offsetOf(url)).toBe(100_000);
    expect((await stat(join(partsDir(), id))).size).toBe(100_000);

    const last = await patch('alice', url, 100_000, data.subarray(100_000));
    expect(last.status).toBe(204);
    expect(last.headers.get('upload-offset')).toBe(String(data.length));
    expect(last.headers.get('upload-expires')).toBeNull();

    const file = await download('alice/docs/%C3%BCn%C3%AF%20c%C3%B8de.bin');
    expect(file.status).toBe(200);
    expect(sha256(Buffer.from(await file.arrayBuffer()))).toBe(sha256(data));
    const listed = await (await fetch(`${s.url}/api/files?prefix=alice/docs/`, { headers: s.auth('alice') })).json();
    expect(listed.items[0]).toMatchObject({ size: data.length, mtime: 1_700_000_000_000, sha256: sha256(data) });
    // A client that lost the last response learns from HEAD that nothing is left to send.
    expect(await offsetOf(url)).toBe(data.length);
    expect((await patch('alice', url, data.length, '')).status).toBe(204);
    expect(await parts()).not.toContain(id);
  });

  it('refuses a wrong offset (409), a wrong Content-Type (415) and bytes past Upload-Length (413), changing nothing', async () => {
    const { url, id } = await create('alice', { length: 1000, path: 'alice/edge.bin' });
    expect((await patch('alice', url, 0, 'x'.repeat(400))).status).toBe(204);

    const behind = await patch('alice', url, 0, 'y'.repeat(10));
    expect(behind.status).toBe(409);
    expect((await behind.json()).error).toMatch(/400/);
    expect((await patch('alice', url, 500, 'y')).status).toBe(409);

    const wrongType = await fetch(url, {
      method: 'PATCH',
      headers: tus('alice', { 'Upload-Offset': '400', 'Content-Type': 'application/octet-stream' }),
      body: 'z',
    });
    expect(wrongType.status).toBe(415);

    expect((await patch('alice', url, 400, 'z'.repeat(601))).status).toBe(413);
    // The same without Content-Length: the body is cut off while streaming.
    const streamed = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new Uint8Array(500));
        c.enqueue(new Uint8Array(500));
        c.close();
      },
    });
    const chunked = await fetch(url, {
      method: 'PATCH',
      headers: tus('alice', { 'Upload-Offset': '400', 'Content-Type': OFFSET_STREAM }),
      body: streamed,
      duplex: 'half',
    } as RequestInit);
    expect(chunked.status).toBe(413);

    expect((await patch('alice', url, 400, 'z', { 'Upload-Offset': 'abc' })).status).toBe(400);
    expect(await offsetOf(url)).toBe(400);
    expect((await stat(join(partsDir(), id))).size).toBe(400);
  });

  it('checks Upload-Checksum (sha256) per chunk: a mismatch is 460 and the chunk is dropped', async () => {
    const data = randomBytes(2000);
    const { url } = await create('alice', { length: data.length, path: 'alice/sum.bin' });
    const digest = (b: Uint8Array) => `sha256 ${Buffer.from(sha256(b), 'hex').toString('base64')}`;
    const head = data.subarray(0, 1000);
    expect((await patch('alice', url, 0, head, { 'Upload-Checksum': digest(head) })).status).toBe(204);
    const bad = await patch('alice', url, 1000, data.subarray(1000), { 'Upload-Checksum': digest(head) });
    expect(bad.status).toBe(460);
    expect(await offsetOf(url)).toBe(1000);
    expect((await patch('alice', url, 1000, data.subarray(1000), { 'Upload-Checksum': `md5 ${b64('x'.repeat(16))}` })).status).toBe(400);
    expect((await patch('alice', url, 1000, data.subarray(1000), { 'Upload-Checksum': digest(data.subarray(1000)) })).status).toBe(204);
    expect(sha256(Buffer.from(await (await download('alice/sum.bin')).arrayBuffer()))).toBe(sha256(data));
  });

  it('rejects content whose SHA-256 differs from the sha256 metadata, and commits nothing', async () => {
    const data = randomBytes(5000);
    const before = await (await fetch(`${s.url}/api/stats`, { headers: s.auth('root') })).json();
    const { url, id } = await create('alice', { length: data.length, path: 'alice/liar.bin', sha256: sha256('something else') });
    const r = await patch('alice', url, 0, data);
    expect(r.status).toBe(400);
    expect((await r.json()).error).toMatch(/SHA-256/);
    expect((await download('alice/liar.bin')).status).toBe(404);
    expect((await fetch(url, { method: 'HEAD', headers: tus('alice') })).status).toBe(404);
    expect(await parts()).not.toContain(id);
    const after = await (await fetch(`${s.url}/api/stats`, { headers: s.auth('root') })).json();
    expect(after.blobs).toBe(before.blobs);

    // The right hash (in upper case) is accepted.
    const ok = await create('alice', { length: data.length, path: 'alice/honest.bin', sha256: sha256(data).toUpperCase() });
    expect((await patch('alice', ok.url, 0, data)).status).toBe(204);
    expect((await download('alice/honest.bin')).status).toBe(200);
  });

  it('creation-with-upload: data in the POST; an empty upload is complete at creation', async () => {
    const data = randomBytes(10_000);
    const whole = await create('alice', { length: data.length, path: 'alice/cwu/whole.bin', body: data });
    expect(whole.res.status).toBe(201);
    expect(whole.res.headers.get('upload-offset')).toBe(String(data.length));
    expect(sha256(Buffer.from(await (await download('alice/cwu/whole.bin')).arrayBuffer()))).toBe(sha256(data));

    const half = await create('alice', { length: data.length, path: 'alice/cwu/half.bin', body: data.subarray(0, 4000) });
    expect(half.res.headers.get('upload-offset')).toBe('4000');
    expect((await patch('alice', half.url, 4000, data.subarray(4000))).status).toBe(204);
    expect(sha256(Buffer.from(await (await download('alice/cwu/half.bin')).arrayBuffer()))).toBe(sha256(data));

    const empty = await create('alice', { length: 0, path: 'alice/cwu/empty.txt' });
    expect(empty.res.status).toBe(201);
    expect(empty.res.headers.get('upload-offset')).toBe('0');
    const e = await download('alice/cwu/empty.txt');
    expect(e.status).toBe(200);
    expect((await e.arrayBuffer()).byteLength).toBe(0);

    const tooMuch = await create('alice', { length: 10, path: 'alice/cwu/over.bin', body: 'x'.repeat(11) });
    expect(tooMuch.res.status).toBe(413);
    expect((await download('alice/cwu/over.bin')).status).toBe(404);
  });

  it('refuses bad creation requests: no/invalid path, other namespace, over Tus-Max-Size, deferred length', async () => {
    const post = (headers: Record<string, string>) => fetch(`${s.url}/uploads/`, { method: 'POST', headers: tus('alice', headers) });
    expect((await post({ 'Upload-Length': '10' })).status).toBe(400);
    expect((await post({ 'Upload-Length': '10', 'Upload-Metadata': `path ${b64('alice/../x')}` })).status).toBe(400);
    expect((await post({ 'Upload-Length': '10', 'Upload-Metadata': `path ${b64('bob/x')}` })).status).toBe(403);
    expect((await post({ 'Upload-Length': String(1024 * 1024 + 1), 'Upload-Metadata': `path ${b64('alice/big')}` })).status).toBe(413);
    expect((await post({ 'Upload-Defer-Length': '1', 'Upload-Metadata': `path ${b64('alice/d')}` })).status).toBe(400);
    expect((await post({ 'Upload-Length': 'ten', 'Upload-Metadata': `path ${b64('alice/d')}` })).status).toBe(400);
  });

  it("another client can neither see, continue nor end an upload (404), admins included", async () => {
    const { url } = await create('alice', { length: 10, path: 'alice/private.bin' });
    expect((await patch('alice', url, 0, '12345')).status).toBe(204);
    for (const who of ['bob', 'root'] as const) {
      expect((await fetch(url, { method: 'HEAD', headers: tus(who) })).status).toBe(404);
      expect((await patch(who, url, 5, '67890')).status).toBe(404);
      expect((await fetch(url, { method: 'DELETE', headers: tus(who) })).status).toBe(404);
    }
    expect(await offsetOf(url)).toBe(5);
    expect((await fetch(`${s.url}/uploads/not-an-id`, { method: 'HEAD', headers: tus('alice') })).status).toBe(404);
  });

  it('termination: DELETE answers 204, then the upload is 404 and its bytes are gone', async () => {
    const { url, id } = await create('alice', { length: 100, path: 'alice/term.bin' });
    expect((await patch('alice', url, 0, 'x'.repeat(50))).status).toBe(204);
    expect(await parts()).toContain(id);
    const del = await fetch(url, { method: 'DELETE', headers: tus('alice') });
    expect(del.status).toBe(204);
    expect(del.headers.get('tus-resumable')).toBe('1.0.0');
    expect((await fetch(url, { method: 'HEAD', headers: tus('alice') })).status).toBe(404);
    expect((await patch('alice', url, 50, 'x'.repeat(50))).status).toBe(404);
    expect(await parts()).not.toContain(id);
    expect((await download('alice/term.bin')).status).toBe(404);
  });

  it('X-HTTP-Method-Override on POST works for PATCH and DELETE', async () => {
    const { url } = await create('alice', { length: 4, path: 'alice/override.bin' });
    const r = await fetch(url, {
      method: 'POST',
      headers: tus('alice', { 'X-HTTP-Method-Override': 'PATCH', 'Upload-Offset': '0', 'Content-Type': OFFSET_STREAM }),
      body: 'abcd',
    });
    expect(r.status).toBe(204);
    expect(await (await download('alice/override.bin')).text()).toBe('abcd');
    expect((await fetch(url, { method: 'POST', headers: tus('alice', { 'X-HTTP-Method-Override': 'DELETE' }) })).status).toBe(204);
  });

  describe('expiration (server clock moved forward)', () => {
    const realClock = () => Date.now();
    const at = (ms: number) => {
      s.server.deps.clock = () => realClock() + ms;
    };

    it('slides with activity, answers 410 once expired, and the job reclaims the rest', async () => {
      try {
        const active = await create('alice', { length: 100, path: 'alice/exp/active.bin' });
        const idle = await create('alice', { length: 100, path: 'alice/exp/idle.bin' });
        const reclaimed = await create('alice', { length: 100, path: 'alice/exp/reclaimed.bin' });
        expect((await patch('alice', idle.url, 0, 'i'.repeat(10))).status).toBe(204);
        expect((await patch('alice', reclaimed.url, 0, 'r'.repeat(10))).status).toBe(204);

        at(20 * HOUR);
        const moved = await patch('alice', active.url, 0, 'a'.repeat(10));
        expect(moved.status).toBe(204);
        expect(Date.parse(moved.headers.get('upload-expires') ?? '')).toBeGreaterThan(Date.now() + 43 * HOUR);

        at(30 * HOUR);
        expect(await offsetOf(active.url)).toBe(10);
        expect((await fetch(idle.url, { method: 'HEAD', headers: tus('alice') })).status).toBe(410);
        expect((await fetch(idle.url, { method: 'HEAD', headers: tus('alice') })).status).toBe(404);
        expect(await parts()).not.toContain(idle.id);

        expect(await parts()).toContain(reclaimed.id);
        expect(await reclaimExpiredUploads(s.server.deps)).toBeGreaterThanOrEqual(1);
        expect(await parts()).not.toContain(reclaimed.id);
        expect(await parts()).toContain(active.id);
        expect((await patch('alice', reclaimed.url, 10, 'r')).status).toBe(404);
        expect(await offsetOf(active.url)).toBe(10);
      } finally {
        s.server.deps.clock = Date.now;
      }
    });
  });

  it('a newer request takes over from a stalled PATCH: the bytes it delivered are kept and HEAD reports them', async () => {
    const { url, id } = await create('alice', { length: 3000, path: 'alice/stalled.bin' });
    const first = new Uint8Array(1200).fill(7);
    const ctl = new AbortController();
    const stalledBody = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(first);
      },
    });
    const hanging = fetch(url, {
      method: 'PATCH',
      headers: tus('alice', { 'Upload-Offset': '0', 'Content-Type': OFFSET_STREAM }),
      body: stalledBody,
      duplex: 'half',
      signal: ctl.signal,
    } as RequestInit).catch(() => undefined);
    await waitFor('the first bytes in the part', async () => (await stat(join(partsDir(), id))).size >= first.length, 10_000, 10);
    expect(await offsetOf(url)).toBe(1200);
    ctl.abort();
    await hanging;
    expect((await patch('alice', url, 1200, new Uint8Array(1800).fill(7))).status).toBe(204);
    const body = Buffer.from(await (await download('alice/stalled.bin')).arrayBuffer());
    expect(sha256(body)).toBe(sha256(new Uint8Array(3000).fill(7)));
  });
});

describe('tus uploads survive a restart', () => {
  it('keeps the offset and the bytes across a server restart (parts are not in tmp/)', async () => {
    const first = await startTestServer({}, { keepData: true });
    const dataDir = first.dataDir;
    const data = randomBytes(200_000);
    const h = (s: TestServer, extra: Record<string, string> = {}) => ({ ...s.auth('alice'), 'Tus-Resumable': '1.0.0', ...extra });
    const created = await fetch(`${first.url}/uploads/`, {
      method: 'POST',
      headers: h(first, { 'Upload-Length': String(data.length), 'Upload-Metadata': `path ${b64('alice/restart.bin')}` }),
    });
    const path = new URL(created.headers.get('location') ?? '', `${first.url}/uploads/`).pathname;
    const p1 = await fetch(first.url + path, {
      method: 'PATCH',
      headers: h(first, { 'Upload-Offset': '0', 'Content-Type': OFFSET_STREAM }),
      body: data.subarray(0, 120_000),
    });
    expect(p1.status).toBe(204);
    await first.stop();

    const second = await startTestServer({}, { dataDir });
    try {
      const head = await fetch(second.url + path, { method: 'HEAD', headers: h(second) });
      expect(head.headers.get('upload-offset')).toBe('120000');
      const p2 = await fetch(second.url + path, {
        method: 'PATCH',
        headers: h(second, { 'Upload-Offset': '120000', 'Content-Type': OFFSET_STREAM }),
        body: data.subarray(120_000),
      });
      expect(p2.status).toBe(204);
      const file = await fetch(`${second.url}/files/alice/restart.bin`, { headers: second.auth('alice') });
      expect(sha256(Buffer.from(await file.arrayBuffer()))).toBe(sha256(data));
    } finally {
      await second.stop();
    }
  });
});

describe('tus uploads survive a crash', () => {
  it('after SIGKILL in the middle of a PATCH, the recorded offset holds and resuming there gives the exact file', async () => {
    const dataDir = await makeDataDir();
    const token = await addClientToDataDir(dataDir, 'alice');
    const h = (extra: Record<string, string> = {}) => ({ Authorization: `Bearer ${token}`, 'Tus-Resumable': '1.0.0', ...extra });
    const data = randomBytes(300_000);
    let srv = await spawnServer(dataDir);
    try {
      const created = await fetch(`${srv.url}/uploads/`, {
        method: 'POST',
        headers: h({ 'Upload-Length': String(data.length), 'Upload-Metadata': `path ${b64('alice/crash.bin')}` }),
      });
      const path = new URL(created.headers.get('location') ?? '', `${srv.url}/uploads/`).pathname;
      const id = path.split('/').pop() as string;
      expect((await fetch(srv.url + path, { method: 'PATCH', headers: h({ 'Upload-Offset': '0', 'Content-Type': OFFSET_STREAM }), body: data.subarray(0, 100_000) })).status).toBe(204);

      // A second PATCH delivers 80 KB and then hangs; the server dies before recording it.
      const body = new ReadableStream<Uint8Array>({
        start(c) {
          c.enqueue(data.subarray(100_000, 180_000));
        },
      });
      const hanging = fetch(srv.url + path, {
        method: 'PATCH',
        headers: h({ 'Upload-Offset': '100000', 'Content-Type': OFFSET_STREAM }),
        body,
        duplex: 'half',
      } as RequestInit).catch(() => undefined);
      const part = join(dataDir, 'uploads', id);
      await waitFor('180,000 bytes in the part', async () => (await stat(part)).size >= 180_000, 10_000, 10);
      expect((await stat(part)).size).toBe(180_000);
      await srv.kill();
      await hanging;

      srv = await spawnServer(dataDir);
      const head = await fetch(srv.url + path, { method: 'HEAD', headers: h() });
      expect(head.headers.get('upload-offset')).toBe('100000');
      const rest = await fetch(srv.url + path, {
        method: 'PATCH',
        headers: h({ 'Upload-Offset': '100000', 'Content-Type': OFFSET_STREAM }),
        body: data.subarray(100_000),
      });
      expect(rest.status).toBe(204);
      const file = await fetch(`${srv.url}/files/alice/crash.bin`, { headers: { Authorization: `Bearer ${token}` } });
      expect(sha256(Buffer.from(await file.arrayBuffer()))).toBe(sha256(data));
    } finally {
      await srv.stop();
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
