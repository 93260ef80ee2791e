import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, request, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runOnce } from '../../client/backup.js';
import { BATCH_FILES } from '../../client/batch-upload.js';
import { sha256, writeRandomFile } from '../helpers/bytes.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { age, captureOutput, CHILD_TEST_MS, clientConfig, listServer, QUICK, runClient } from '../client/helpers.js';

let s: TestServer;
let work: string;

beforeAll(async () => {
  s = await startTestServer();
  work = await mkdtemp(join(tmpdir(), 'cb-client-batch-'));
});

afterAll(async () => {
  await s.stop();
  await rm(work, { recursive: true, force: true });
});

/** Requests the server answered for one method and route pattern, any status or one (its own /metrics). */
async function served(method: string, route: string, status?: number): Promise<number> {
  const text = await (await fetch(`${s.url}/metrics`, { headers: s.auth('root') })).text();
  let n = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith('cloudbackup_http_requests_total{')) continue;
    if (status !== undefined && !line.includes(`status="${status}"`)) continue;
    if (line.includes(`method="${method}"`) && line.includes(`route="${route}"`)) n += Number(line.split(' ').pop());
  }
  return n;
}

/** `count` small files of assorted sizes (an empty one too) over a few folders, plus one 2 MiB file; their hashes. */
async function smallTree(folder: string, count: number): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (let i = 0; i < count; i++) {
    const rel = `d${i % 3}/f${i}.txt`;
    const data = i === 0 ? Buffer.alloc(0) : randomBytes(1 + ((i * 977) % 3000));
    await mkdir(join(folder, `d${i % 3}`), { recursive: true });
    await writeFile(join(folder, rel), data);
    await age(join(folder, rel));
    files.set(rel, sha256(data));
  }
  files.set('big.bin', await writeRandomFile(join(folder, 'big.bin'), 2 * 1024 * 1024));
  await age(join(folder, 'big.bin'));
  return files;
}

async function expectOnServer(prefix: string, files: Map<string, string>): Promise<void> {
  const held = new Map((await listServer(s, prefix)).map((f) => [f.path.slice(prefix.length), f.sha256]));
  expect(held.size).toBe(files.size);
  for (const [rel, sha] of files) expect([rel, held.get(rel)]).toEqual([rel, sha]);
}

describe('client: small files go by POST /api/batch', () => {
  it('as a process: 600 small files in 3 batch requests, the big one by PUT; every hash right; a rerun sends nothing', async () => {
    const base = await mkdtemp(join(work, 'case-'));
    const folder = join(base, 'many');
    const files = await smallTree(folder, 600);
    const state = join(base, 'state.sqlite');
    const before = { batch: await served('POST', '/api/batch'), put: await served('PUT', '/files/*') };
    const r = await runClient([folder, '--once', '--state', state], { CB_SERVER: s.url, CB_TOKEN: s.tokens.alice });
    expect(r.code, r.output).toBe(0);
    expect(r.output).toMatch(/pass 1 \(full scan\) done .*: 601 uploaded/);
    const batches = (await served('POST', '/api/batch')) - before.batch;
    expect(batches).toBe(Math.ceil(600 / BATCH_FILES));
    expect((await served('PUT', '/files/*')) - before.put).toBe(1);
    await expectOnServer('alice/many/', files);

    const again = await runClient([folder, '--once', '--state', state], { CB_SERVER: s.url, CB_TOKEN: s.tokens.alice });
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(/0 uploaded, 0 linked, 601 unchanged/);
    expect((await served('POST', '/api/batch')) - before.batch).toBe(batches);
  }, CHILD_TEST_MS);

  it('a server without the route (404): one request per file after the first try, same result', async () => {
    // A real proxy in front of the real server, answering 404 for /api/batch as an older server does.
    let batchTries = 0;
    const proxy: Server = createServer((req, res) => {
      if (req.url?.startsWith('/api/batch')) {
        batchTries++;
        req.resume();
        res.writeHead(404, { 'Content-Type': 'application/json' }).end('{"error":"not found"}');
        return;
      }
      const target = new URL(s.url);
      const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers }, (back) => {
        res.writeHead(back.statusCode ?? 502, back.headers);
        back.pipe(res);
      });
      req.pipe(up);
    });
    await new Promise<void>((r) => proxy.listen(0, '127.0.0.1', r));
    try {
      const address = proxy.address();
      const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
      const base = await mkdtemp(join(work, 'case-'));
      const folder = join(base, 'old-server');
      const files = await smallTree(folder, 40);
      const sends = async () => (await served('PUT', '/files/*', 201)) + (await served('POST', '/api/link', 201));
      const before = await sends();
      const cap = captureOutput();
      const r = await runOnce(clientConfig(folder, { url }, s.tokens.alice, join(base, 'state.sqlite')), { out: cap.out, ...QUICK });
      expect(r.exitCode, cap.text()).toBe(0);
      expect(batchTries).toBe(1);
      // Each file stored by its own request: a PUT, or a link where the content is held already (the empty file).
      expect((await sends()) - before).toBe(41);
      await expectOnServer('alice/old-server/', files);
    } finally {
      await new Promise((r) => proxy.close(r));
    }
  });
});
