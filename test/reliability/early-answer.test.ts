/**
 * Answers decided while a request body is still arriving (413 too large, 507 disk full) reach
 * the client: the server reads and discards the rest of the body (bounded) before closing, so
 * the kernel never resets the connection under an answer the client has not read yet.
 * Over raw TCP, since fetch gives up on a request once the server stops reading its body.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const MAX = 1 << 20;
let s: TestServer;
beforeAll(async () => {
  s = await startTestServer({ maxUploadBytes: MAX });
});
afterAll(async () => {
  await s.stop();
});

function chunked(total: number, piece = 64 * 1024): Buffer {
  const parts: Buffer[] = [];
  for (let sent = 0; sent < total; sent += piece) {
    const n = Math.min(piece, total - sent);
    parts.push(Buffer.from(`${n.toString(16)}\r\n`), Buffer.alloc(n, 7), Buffer.from('\r\n'));
  }
  parts.push(Buffer.from('0\r\n\r\n'));
  return Buffer.concat(parts);
}

describe('413 while the body is still coming', () => {
  it.each([2, 8, 24])('PUT with Content-Length %d MiB over a 1 MiB maximum: the client reads 413', async (mib) => {
    const size = mib << 20;
    const head = `PUT /files/alice/big-${mib}.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.alice}\r\nContent-Length: ${size}\r\n\r\n`;
    const r = await rawRequest(s.url, Buffer.concat([Buffer.from(head), Buffer.alloc(size, 1)]), 20_000);
    expect(r.status).toBe(413);
    expect(r.raw).toMatch(/"error"/);
  });

  it.each([2, 8, 24])('chunked PUT of %d MiB over a 1 MiB maximum: the client reads 413', async (mib) => {
    const head = `PUT /files/alice/chunked-${mib}.bin HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.alice}\r\nTransfer-Encoding: chunked\r\n\r\n`;
    const r = await rawRequest(s.url, Buffer.concat([Buffer.from(head), chunked(mib << 20)]), 20_000);
    expect(r.status).toBe(413);
    expect(r.raw).toMatch(/"error"/);
  });
});

describe('tus PATCH past Upload-Length', () => {
  async function createUpload(length: number): Promise<string> {
    const r = await fetch(`${s.url}/uploads/`, {
      method: 'POST',
      headers: { ...s.auth('alice'), 'Tus-Resumable': '1.0.0', 'Upload-Length': String(length), 'Upload-Metadata': `path ${Buffer.from(`alice/tus-${length}-${Math.random()}`).toString('base64')}` },
    });
    expect(r.status).toBe(201);
    return new URL(r.headers.get('location') ?? '', `${s.url}/uploads/`).pathname;
  }
  const patchHead = (path: string, framing: string) =>
    `PATCH ${path} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${s.tokens.alice}\r\nTus-Resumable: 1.0.0\r\nUpload-Offset: 0\r\nContent-Type: application/offset+octet-stream\r\n${framing}\r\n\r\n`;

  it.each([2, 16])('Content-Length %d MiB on a 512 KiB upload: the client reads 413, the offset stays 0', async (mib) => {
    const path = await createUpload(512 * 1024);
    const r = await rawRequest(s.url, Buffer.concat([Buffer.from(patchHead(path, `Content-Length: ${mib << 20}`)), Buffer.alloc(mib << 20, 2)]), 20_000);
    expect(r.status).toBe(413);
    const head = await fetch(`${s.url}${path}`, { method: 'HEAD', headers: { ...s.auth('alice'), 'Tus-Resumable': '1.0.0' } });
    expect(head.headers.get('upload-offset')).toBe('0');
  });

  it.each([2, 16])('chunked %d MiB on a 512 KiB upload: the client reads 413', async (mib) => {
    const path = await createUpload(512 * 1024);
    const r = await rawRequest(s.url, Buffer.concat([Buffer.from(patchHead(path, 'Transfer-Encoding: chunked')), chunked(mib << 20)]), 20_000);
    expect(r.status).toBe(413);
  });
});
