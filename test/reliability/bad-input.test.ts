/**
 * Generated bad input: a few thousand malformed requests from a seeded PRNG (the same ones on
 * every run; a failure names its seed and case), over raw TCP where fetch would refuse to send
 * them and over fetch for API semantics. Asserted: never a 500 (nor any other 5xx but 501/505),
 * no internal error logged, nothing touched outside the data dir, no secret outside it read,
 * and afterwards the server still serves every file exactly.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256Body } from '../helpers/bytes.js';
import { fsckCli } from '../helpers/fsck.js';
import { Prng } from '../helpers/prng.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const SEED = 0xbad1;
const RAW_CASES = 2000;
const FETCH_CASES = 1000;
const PARALLEL = 16;

/** Every file below `dir` (skipping `skip`), with size, mtime and content hash. */
async function snapshot(dir: string, skip: string): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const e of await readdir(dir, { withFileTypes: true, recursive: true })) {
    const full = join(e.parentPath, e.name);
    if (full === skip || full.startsWith(`${skip}/`)) continue;
    const st = await stat(full);
    const hash = e.isFile() ? createHash('sha256').update(await readFile(full)).digest('hex') : 'dir';
    out.set(relative(dir, full), `${st.size} ${st.mtimeMs} ${st.mode} ${hash}`);
  }
  return out;
}

/** Paths that try to leave the namespace, the data dir or the parser's idea of a path. */
const PATH_TRICKS = [
  '../../outside/secret.txt',
  '..%2f..%2foutside%2fsecret.txt',
  '%2e%2e/%2e%2e/outside/secret.txt',
  '%2E%2E%2F%2E%2E%2Foutside%2Fsecret.txt',
  '%252e%252e/%252e%252e/outside/secret.txt',
  '..%5c..%5coutside%5csecret.txt',
  '..\\..\\outside\\secret.txt',
  '%c0%ae%c0%ae/%c0%ae%c0%ae/outside/secret.txt',
  '%e2%80%a5/outside',
  '.%00./x',
  'x%00.txt',
  '%00',
  '/etc/passwd',
  '//etc/passwd',
  'C:%5cWindows%5cwin.ini',
  'c:/x',
  '.',
  '..',
  './x',
  'a/./b',
  'a//b',
  '%',
  '%zz',
  '%e9',
  '%ed%a0%80',
  '%ff%fe',
  'a%2fb',
  'a?b=c/../../x',
  'a#frag',
  ';jsessionid=1',
  'a%20b',
  '\u00e9t\u00e9.txt',
  'x'.repeat(300),
  Array.from({ length: 80 }, () => 'd').join('/'),
  'y'.repeat(5000),
  '%7e%7e',
  '~root/.ssh/id_rsa',
  'proc/self/environ',
];

const METHODS = ['GET', 'HEAD', 'PUT', 'DELETE', 'POST', 'PATCH', 'OPTIONS', 'TRACE', 'FOO', 'get', 'CONNECT', 'PROPFIND'];

const RANGES = [
  'bytes=0-0',
  'bytes=-1',
  'bytes=5-1',
  'bytes=99999999999999999999999999-',
  'bytes=-99999999999999999999999999',
  'bytes=18446744073709551616-18446744073709551617',
  'bytes=9007199254740993-',
  'bytes=0-9007199254740993',
  'bytes=-0',
  'bytes=--1',
  'bytes=1--2',
  'bytes=0-1,2-3,4-5',
  `bytes=${Array.from({ length: 500 }, (_, i) => `${i}-${i}`).join(',')}`,
  `bytes=${'0-,'.repeat(2000)}`,
  'bytes=0x10-0x20',
  'bytes=1e3-2e3',
  'bytes= 1 - 2 ',
  'items=0-5',
  'bytes=',
  'bytes=,,,,',
  'bytes=0-1;2-3',
];

const CONTENT_LENGTHS = ['-1', '1e3', '99999999999999999999', 'abc', '0x10', ' 5', '5 5', '', '+5', '18446744073709551616'];

function tusHeaders(rng: Prng): string[] {
  const pick = () =>
    rng.pick([
      'Tus-Resumable: 1.0.0',
      'Tus-Resumable: 0.2.2',
      'Tus-Resumable: 1.0.0, 1.0.0',
      `Upload-Length: ${rng.pick(['-1', '1e9', '99999999999999999999', 'x', '', '0', '10', '9007199254740993'])}`,
      `Upload-Offset: ${rng.pick(['-1', '99999999999999999999', 'x', '', '0', '5', '9007199254740993'])}`,
      `Upload-Metadata: ${rng.pick(['path', 'path !!!', `path ${Buffer.from('alice/../../x').toString('base64')}`, `path ${Buffer.from('bob/x').toString('base64')}`, 'path a,path b', `path ${'A'.repeat(9000)}`, `sha256 ${Buffer.from('zz').toString('base64')}`, ', ,', `path ${Buffer.from([0xff, 0xfe]).toString('base64')}`, `path ${Buffer.from('alice/tus ok.bin').toString('base64')},mtime ${Buffer.from('-5').toString('base64')}`])}`,
      `Upload-Checksum: ${rng.pick(['sha256', 'md5 abc', 'sha256 !!!', 'sha1 AAAA', `sha256 ${'A'.repeat(43)}=`])}`,
      'Upload-Defer-Length: 1',
      'Upload-Concat: final;/uploads/a /uploads/b',
      `Content-Type: ${rng.pick(['application/offset+octet-stream', 'text/plain', 'application/offset+octet-stream; x=1', ''])}`,
      `X-HTTP-Method-Override: ${rng.pick(['PATCH', 'DELETE', 'GET', 'PUT', 'x'])}`,
    ]);
  return Array.from({ length: rng.int(1, 5) }, pick);
}

interface RawCase {
  label: string;
  bytes: Buffer;
  halfClose: boolean;
}

function rawCase(rng: Prng, n: number, ctx: { auth: string; uploadPath: string }): RawCase {
  const method = rng.pick(METHODS);
  const prefix = rng.pick(['/files/alice/', '/files/', '/browse/alice/', '/browse/', '/uploads/', '/api/files', '/api/link', '/api/stats', '/', '/zip/alice/', '/assets/', '', '*', 'http://evil.example/files/alice/', ctx.uploadPath]);
  const trick = rng.chance(0.8) ? rng.pick(PATH_TRICKS) : `f${n}.bin`;
  let target = prefix + (prefix.startsWith('/api/') && rng.chance(0.5) ? `?${rng.pick(['limit=-1', 'limit=1e309', 'cursor=%ff', 'cursor=' + 'A'.repeat(5000), 'prefix=../', 'prefix=%00'])}` : trick);
  if (rng.chance(0.05)) target = target.replace(/\//g, '\\');
  const headers: string[] = [];
  if (!rng.chance(0.03)) headers.push('Host: 127.0.0.1');
  headers.push(
    rng.chance(0.85)
      ? ctx.auth
      : rng.pick([
          'Authorization: Bearer cb_0000000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
          'Authorization: Basic !!!',
          `Authorization: Basic ${Buffer.from('alice').toString('base64')}`,
          `Authorization: Bearer ${'x'.repeat(4000)}`,
          'Authorization: Negotiate abc',
          'Authorization:',
        ]),
  );
  headers.push('Connection: close');
  if (rng.chance(0.4)) headers.push(`Range: ${rng.pick(RANGES)}`);
  if (rng.chance(0.15)) headers.push(`If-Range: ${rng.pick(['"x"', 'Thu, 01 Jan 1970 00:00:00 GMT', 'garbage', 'W/"a"'])}`);
  if (rng.chance(0.1)) headers.push(`If-None-Match: ${rng.pick(['*', '"a", W/"b"', ',,,', '"'])}`);
  if (rng.chance(0.1)) headers.push(`If-Modified-Since: ${rng.pick(['yesterday', 'Sun, 06 Nov 1994 08:49:37 GMT', '0', '-1'])}`);
  if (rng.chance(0.15)) headers.push(`Content-Digest: ${rng.pick(['sha-256=:abc:', 'sha-256=::', 'sha-512=:x:', 'sha-256=:' + 'A'.repeat(43) + '=:', 'garbage'])}`);
  if (rng.chance(0.1)) headers.push(`X-File-Mtime: ${rng.pick(['-1', '1e20', 'now', '99999999999999999999'])}`);
  if (rng.chance(0.3)) headers.push(...tusHeaders(rng));
  if (rng.chance(0.03)) headers.push(`X-Huge: ${'h'.repeat(rng.pick([9000, 20000, 70000]))}`);
  if (rng.chance(0.02)) for (let i = 0; i < 300; i++) headers.push(`X-Many-${i}: ${i}`);
  if (rng.chance(0.05)) headers.push(`Content-Type: ${rng.pick(['application/json', 'application/json; charset=utf-16', 'multipart/form-data; boundary=', '\u00ff'])}`);

  let body = Buffer.alloc(0);
  let halfClose = false;
  const bodyKind = rng.pick(['none', 'none', 'exact', 'truncated', 'extra', 'bogus-length', 'chunked', 'bad-chunked', 'both', 'json']);
  if (bodyKind === 'exact' || bodyKind === 'extra' || bodyKind === 'truncated' || bodyKind === 'both') {
    const size = rng.int(0, 3000);
    body = randomBytes(size);
    headers.push(`Content-Length: ${size}`);
    if (bodyKind === 'extra') body = Buffer.concat([body, Buffer.from('GET /files/alice/x HTTP/1.1\r\nHost: y\r\n\r\n')]);
    if (bodyKind === 'truncated') {
      body = body.subarray(0, Math.floor(size / 2));
      halfClose = true;
    }
    if (bodyKind === 'both') headers.push('Transfer-Encoding: chunked');
  } else if (bodyKind === 'bogus-length') {
    headers.push(`Content-Length: ${rng.pick(CONTENT_LENGTHS)}`);
    if (rng.chance(0.3)) headers.push('Content-Length: 7');
    body = Buffer.from('payload');
    halfClose = true;
  } else if (bodyKind === 'chunked') {
    headers.push('Transfer-Encoding: chunked');
    body = Buffer.from('5\r\nhello\r\n0\r\n\r\n');
  } else if (bodyKind === 'bad-chunked') {
    headers.push(`Transfer-Encoding: ${rng.pick(['chunked', 'gzip, chunked', 'chunked, identity', 'x'])}`);
    body = Buffer.from(rng.pick(['zz\r\nhello\r\n0\r\n\r\n', 'ffffffffffffffffff\r\nab', '5\r\nhel', '-1\r\n\r\n', '5;ext=' + 'e'.repeat(9000) + '\r\nhello\r\n0\r\n\r\n']));
    halfClose = true;
  } else if (bodyKind === 'json') {
    const json = rng.pick(['{', 'null', '[]', '"x"', '{"path":1}', '{"path":"alice/a","sha256":"zz"}', '{"path":"../x","sha256":"' + '0'.repeat(64) + '"}', '{"path":"bob/x","sha256":"' + 'a'.repeat(64) + '","mtime":-1}', '{"__proto__":{"admin":true}}', JSON.stringify({ path: 'alice/' + 'n'.repeat(5000) }), '\u0000', 'x'.repeat(70000)]);
    body = Buffer.from(json);
    headers.push('Content-Type: application/json', `Content-Length: ${body.length}`);
  }
  const version = rng.chance(0.03) ? rng.pick(['HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1 extra']) : 'HTTP/1.1';
  const line = `${method} ${target} ${version}`;
  const head = Buffer.from(`${line}\r\n${headers.join('\r\n')}\r\n\r\n`, rng.chance(0.05) ? 'latin1' : 'utf8');
  return { label: `#${n} ${line.slice(0, 120)} [${bodyKind}]`, bytes: Buffer.concat([head, body]), halfClose };
}

interface FetchCase {
  label: string;
  path: string;
  init: RequestInit;
}

function fetchCase(rng: Prng, n: number, auth: Record<string, string>): FetchCase {
  const kind = rng.pick(['link', 'list', 'browse', 'stats', 'tus', 'put']);
  const junk = () =>
    rng.pick(['', '-1', '0', '1e3', 'NaN', '99999999', '1.5', 'abc', '%00', '\u0000', '../', 'A'.repeat(3000), Buffer.from(JSON.stringify(rng.pick([[1, 'x'], { d: 5 }, { d: 'x' }, [null, 'a'], ['a', 1], 'x', 7]))).toString('base64url'), randomBytes(rng.int(0, 40)).toString('base64url')]);
  if (kind === 'link') {
    const body = rng.pick([
      '',
      '{',
      'not json',
      '{"path":"alice/l.txt"}',
      `{"path":"alice/l.txt","sha256":"${'g'.repeat(64)}"}`,
      `{"path":"alice/l.txt","sha256":"${'a'.repeat(64)}","mtime":"yesterday"}`,
      `{"path":"alice/l.txt","sha256":"${'a'.repeat(64)}","mtime":1e309}`,
      `{"path":"../../outside/secret.txt","sha256":"${'a'.repeat(64)}"}`,
      `{"path":"bob/l.txt","sha256":"${'a'.repeat(64)}"}`,
      JSON.stringify({ path: ['alice/x'], sha256: {} }),
      JSON.stringify({ path: 'alice/' + '\u0000', sha256: 'a'.repeat(64) }),
      '[' .repeat(5000),
      JSON.stringify({ path: 'alice/x', sha256: 'A'.repeat(64), extra: 'y'.repeat(100_000) }),
    ]);
    return {
      label: `#${n} link ${body.slice(0, 60)}`,
      path: '/api/link',
      init: { method: 'POST', headers: { ...auth, 'Content-Type': rng.pick(['application/json', 'text/plain', 'application/json; charset=latin1']) }, body },
    };
  }
  if (kind === 'list') {
    const q = `prefix=${encodeURIComponent(rng.pick(['', 'alice/', 'alice', 'bob/', '../', '%', '_', 'alice/%', 'alice/\\']))}&limit=${encodeURIComponent(junk())}&cursor=${encodeURIComponent(junk())}`;
    return { label: `#${n} list ${q.slice(0, 80)}`, path: `/api/files?${q}`, init: { headers: auth } };
  }
  if (kind === 'browse') {
    const q = `sort=${encodeURIComponent(rng.pick(['name', 'size', 'x', '']))}&order=${encodeURIComponent(rng.pick(['asc', 'desc', 'zz']))}&cursor=${encodeURIComponent(junk())}&q=${encodeURIComponent(junk())}`;
    return { label: `#${n} browse ${q.slice(0, 80)}`, path: `/browse/alice/${rng.pick(['', 'docs/', 'nope/'])}?${q}`, init: { headers: auth } };
  }
  if (kind === 'stats') return { label: `#${n} stats`, path: `/api/stats?${junk()}`, init: { headers: auth } };
  if (kind === 'tus') {
    const headers: Record<string, string> = { ...auth, 'Tus-Resumable': '1.0.0' };
    for (const h of tusHeaders(rng)) {
      const i = h.indexOf(':');
      const name = h.slice(0, i);
      const value = h.slice(i + 1).trim();
      // fetch refuses some values outright; those go over raw TCP instead.
      if (/^[\t\x20-\x7e]*$/.test(value)) headers[name] = value;
    }
    return { label: `#${n} tus ${JSON.stringify(headers).slice(0, 120)}`, path: '/uploads/', init: { method: 'POST', headers, body: rng.chance(0.3) ? randomBytes(rng.int(0, 100)) : undefined } };
  }
  return {
    label: `#${n} put`,
    path: `/files/alice/${encodeURIComponent(rng.pick(PATH_TRICKS)).slice(0, 200)}`,
    // fetch refuses header values with controls or edge spaces: those go over raw TCP instead.
    init: { method: 'PUT', headers: { ...auth, 'X-File-Mtime': junk().replace(/[^\x21-\x7e]/g, '') }, body: randomBytes(rng.int(0, 2000)) },
  };
}

/** Runs `work` for items 0..count-1, `parallel` at a time. */
async function pool(count: number, parallel: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < count) await work(next++);
    }),
  );
}

describe(`bad input (seed ${SEED.toString(16)})`, () => {
  let base: string;
  let dataDir: string;
  let s: TestServer;
  let secret: string;
  const good = new Map<string, Buffer>();
  let before: Map<string, string>;
  let uploadPath: string;

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), 'cb-badinput-'));
    dataDir = join(base, 'data');
    secret = `CANARY-${randomBytes(12).toString('hex')}`;
    await mkdir(join(base, 'outside'), { recursive: true });
    await writeFile(join(base, 'outside', 'secret.txt'), secret);
    await writeFile(join(base, 'parent-canary.txt'), secret);
    s = await startTestServer({ maxUploadBytes: 1024 * 1024 }, { dataDir, keepData: true });
    for (const [name, body] of [
      ['alice/docs/a.txt', Buffer.from('hello, world\n')],
      ['alice/docs/b.bin', randomBytes(200_000)],
      ['alice/empty.txt', Buffer.alloc(0)],
    ] as const) {
      expect((await fetch(`${s.url}/files/${name}`, { method: 'PUT', headers: s.auth('alice'), body: new Uint8Array(body) })).status).toBe(201);
      good.set(name, body);
    }
    const created = await fetch(`${s.url}/uploads/`, {
      method: 'POST',
      headers: { ...s.auth('alice'), 'Tus-Resumable': '1.0.0', 'Upload-Length': '100', 'Upload-Metadata': `path ${Buffer.from('alice/tus/real.bin').toString('base64')}` },
    });
    expect(created.status).toBe(201);
    uploadPath = new URL(created.headers.get('location') as string, `${s.url}/uploads/`).pathname;
    before = await snapshot(base, dataDir);
  });
  afterAll(async () => {
    await s?.stop();
    await rm(base, { recursive: true, force: true });
  });

  it(`${RAW_CASES} malformed raw requests and ${FETCH_CASES} bad API calls: never a 500, nothing outside the data dir touched`, { timeout: 300_000 }, async () => {
    const rng = new Prng(SEED);
    const rawCases = Array.from({ length: RAW_CASES }, (_, n) => rawCase(rng, n, { auth: `Authorization: Bearer ${s.tokens.alice}`, uploadPath }));
    const fetchCases = Array.from({ length: FETCH_CASES }, (_, n) => fetchCase(rng, n, s.auth('alice')));
    const bad: string[] = [];
    const statuses = new Map<number, number>();
    const count = (status: number) => statuses.set(status, (statuses.get(status) ?? 0) + 1);
    const judge = (label: string, status: number, text: string) => {
      count(status);
      if (status >= 500 && status !== 501 && status !== 505) bad.push(`${label} -> ${status} ${text.slice(0, 200)}`);
      if (text.includes(secret)) bad.push(`${label} -> leaked the canary`);
    };

    await pool(rawCases.length, PARALLEL, async (i) => {
      const c = rawCases[i] as RawCase;
      const r = await rawRequest(s.url, c.bytes, 10_000, { halfClose: c.halfClose }).catch((err: Error) => ({ status: -1, head: '', raw: err.message }));
      // 0: the connection closed without an answer (a body cut short, a request the parser refused).
      if (r.status === 0 && !c.halfClose && r.raw !== '') bad.push(`${c.label} -> unparseable answer ${JSON.stringify(r.raw.slice(0, 100))}`);
      judge(c.label, r.status, r.raw);
    });
    await pool(fetchCases.length, PARALLEL, async (i) => {
      const c = fetchCases[i] as FetchCase;
      try {
        const r = await fetch(`${s.url}${c.path}`, { redirect: 'manual', ...c.init });
        const text = await r.text();
        judge(c.label, r.status, text);
        if (r.status >= 400 && r.status !== 401 && /json/.test(r.headers.get('content-type') ?? '')) {
          const parsed = JSON.parse(text) as { error?: unknown };
          if (typeof parsed.error !== 'string' || parsed.error === '') bad.push(`${c.label} -> ${r.status} without {error}`);
        }
      } catch (err) {
        bad.push(`${c.label} -> fetch failed: ${(err as Error).message}`);
      }
    });

    expect(bad).toEqual([]);
    expect(s.logs.filter((l) => l.startsWith('error:'))).toEqual([]);
    // The mix reached deep: plenty of 4xx of many kinds, and some successes.
    expect([...statuses.keys()].filter((k) => k >= 400 && k < 500).length).toBeGreaterThanOrEqual(8);
    expect([...statuses.entries()].filter(([k]) => k >= 200 && k < 300).reduce((a, [, v]) => a + v, 0)).toBeGreaterThan(50);

    // Nothing outside the data dir changed, and inside it only the server's own entries exist.
    expect(await snapshot(base, dataDir)).toEqual(before);
    const allowed = new Set(['blobs', 'blob-log', 'tmp', 'uploads', 'swaps', 'catalog.sqlite', 'catalog.sqlite-wal', 'catalog.sqlite-shm', 'server.pid', 'space-reserve']);
    expect((await readdir(dataDir)).filter((n) => !allowed.has(n))).toEqual([]);
  });

  it('is still up and serves every file exactly; the catalog is sound', { timeout: 120_000 }, async () => {
    expect((await fetch(`${s.url}/healthz`)).status).toBe(200);
    for (const [name, body] of good) {
      const r = await fetch(`${s.url}/files/${name}`, { headers: s.auth('alice') });
      expect(await sha256Body(r)).toEqual({ sha256: sha256(body), size: body.length });
      const ranged = await fetch(`${s.url}/files/${name}`, { headers: { ...s.auth('alice'), Range: 'bytes=1-3' } });
      if (body.length > 3) expect(Buffer.from(await ranged.arrayBuffer())).toEqual(body.subarray(1, 4));
      else await ranged.arrayBuffer();
    }
    // The real upload survived the junk aimed at it: HEAD agrees with what is stored.
    const head = await fetch(`${s.url}${uploadPath}`, { method: 'HEAD', headers: { ...s.auth('alice'), 'Tus-Resumable': '1.0.0' } });
    expect([200, 404, 410]).toContain(head.status);
    await s.stop();
    const check = await fsckCli(dataDir);
    expect(check.findings.filter((f) => f.severity === 'error')).toEqual([]);
    s = await startTestServer({}, { dataDir, keepData: true });
  });
});
