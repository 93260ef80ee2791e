import { createReadStream } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Upload, type HttpRequest } from 'tus-js-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256Body, writeRandomFile } from '../helpers/bytes.js';
import { makeDataDir, startTestServer, type TestServer } from '../helpers/server.js';

const MB = 1024 * 1024;
const TOTAL = 50 * MB;
const CHUNK = 8 * MB;

interface Append {
  id: string;
  offset: number;
  size: number;
}

/** tus-js-client (a real third-party client) against our server. */
describe('tus-js-client uploads to /uploads/', () => {
  let s: TestServer;
  let work: string;
  let file: string;
  let fileSha: string;
  /** Every append the server performed: where it started and the size it recorded. */
  const appends: Append[] = [];

  beforeAll(async () => {
    s = await startTestServer();
    work = await makeDataDir();
    file = join(work, 'video.bin');
    fileSha = await writeRandomFile(file, TOTAL);
    const parts = s.server.blobs.parts;
    const original = parts.append.bind(parts);
    parts.append = async (id, offset, body, options) => {
      const size = await original(id, offset, body, options);
      appends.push({ id, offset, size });
      return size;
    };
  });
  afterAll(async () => {
    await s.stop();
    await rm(work, { recursive: true, force: true });
  });

  const options = (extra: Partial<ConstructorParameters<typeof Upload>[1]>) => ({
    endpoint: `${s.url}/uploads/`,
    headers: s.auth('alice'),
    chunkSize: CHUNK,
    retryDelays: null,
    metadata: { path: 'alice/videos/holiday.bin', filename: 'holiday.bin', mtime: '1700000000000', sha256: fileSha },
    ...extra,
  });

  it('a 50 MB upload cut off part-way resumes from its upload URL, sending only the remainder', async () => {
    // Attempt 1: cut off once the client reports 19 MB sent (where exactly the server stops
    // depends on socket buffering, so only bounds are asserted).
    let accepted = 0;
    const first = await new Promise<{ url: string }>((resolve, reject) => {
      const upload: Upload = new Upload(createReadStream(file) as never, {
        ...options({}),
        onChunkComplete: (_size, bytesAccepted) => {
          accepted = bytesAccepted;
        },
        onProgress: (sent) => {
          if (sent >= 2 * CHUNK + 3 * MB && upload.url) {
            const url = upload.url;
            void upload.abort().then(() => resolve({ url }), reject);
          }
        },
        onSuccess: () => reject(new Error('the upload finished before it was cut off')),
        onError: reject,
      });
      upload.start();
    });
    expect(accepted).toBeGreaterThanOrEqual(2 * CHUNK);
    expect(accepted).toBeLessThan(TOTAL);
    expect(first.url).toMatch(new RegExp(`^${s.url}/uploads/[A-Za-z0-9_-]{22}$`));
    const id = first.url.split('/').pop() as string;

    // The server kept what arrived and says where to resume; the part on disk agrees.
    const head = await fetch(first.url, { method: 'HEAD', headers: { ...s.auth('alice'), 'Tus-Resumable': '1.0.0' } });
    expect(head.status).toBe(200);
    expect(head.headers.get('cache-control')).toBe('no-store');
    const resumeAt = Number(head.headers.get('upload-offset'));
    expect(resumeAt).toBeGreaterThanOrEqual(accepted);
    expect(resumeAt).toBeLessThan(TOTAL);
    expect((await stat(join(s.dataDir, 'uploads', id))).size).toBe(resumeAt);
    expect((await fetch(`${s.url}/files/alice/videos/holiday.bin`, { headers: s.auth('alice') })).status).toBe(404);

    // Attempt 2: a fresh client with only the upload URL.
    const serverAppendsBefore = appends.length;
    const patchOffsets: number[] = [];
    let sentInSecond = 0;
    await new Promise<void>((resolve, reject) => {
      const upload = new Upload(createReadStream(file) as never, {
        ...options({}),
        uploadUrl: first.url,
        onBeforeRequest: (req: HttpRequest) => {
          if (req.getMethod() === 'PATCH') patchOffsets.push(Number(req.getHeader('Upload-Offset')));
        },
        onChunkComplete: (size) => {
          sentInSecond += size;
        },
        onSuccess: () => resolve(),
        onError: reject,
      });
      upload.start();
    });
    expect(patchOffsets[0]).toBe(resumeAt);
    expect(sentInSecond).toBe(TOTAL - resumeAt);
    const second = appends.slice(serverAppendsBefore).filter((a) => a.id === id);
    expect(second[0]?.offset).toBe(resumeAt);
    expect(second.reduce((n, a) => n + (a.size - a.offset), 0)).toBe(TOTAL - resumeAt);
    expect(second.at(-1)?.size).toBe(TOTAL);

    // The result is served exactly, and the part is gone from uploads/.
    const res = await fetch(`${s.url}/files/alice/videos/holiday.bin`, { headers: s.auth('alice') });
    expect(res.status).toBe(200);
    expect(await sha256Body(res)).toEqual({ sha256: fileSha, size: TOTAL });
    await expect(stat(join(s.dataDir, 'uploads', id))).rejects.toThrow();
  });

  it('creation-with-upload from tus-js-client: the first chunk rides on the POST', async () => {
    const data = Buffer.alloc(3 * MB + 17, 'cloud-backup ');
    const methods: string[] = [];
    await new Promise<void>((resolve, reject) => {
      const upload = new Upload(data, {
        ...options({ chunkSize: MB, uploadDataDuringCreation: true }),
        metadata: { path: 'alice/small/notes.txt', filename: 'notes.txt' },
        onBeforeRequest: (req: HttpRequest) => {
          methods.push(req.getMethod());
        },
        onSuccess: () => resolve(),
        onError: reject,
      });
      upload.start();
    });
    expect(methods).toEqual(['POST', 'PATCH', 'PATCH', 'PATCH']);
    const res = await fetch(`${s.url}/files/alice/small/notes.txt`, { headers: s.auth('alice') });
    expect(await sha256Body(res)).toEqual({ sha256: sha256(data), size: data.length });
  });

  it("tus-js-client sees another client's upload URL as gone", async () => {
    const data = Buffer.alloc(1000, 1);
    let url = '';
    await new Promise<void>((resolve, reject) => {
      const upload: Upload = new Upload(data, {
        ...options({ chunkSize: 400 }),
        metadata: { path: 'alice/small/mine.bin' },
        onChunkComplete: () => {
          url = upload.url ?? '';
          void upload.abort().then(resolve, reject);
        },
        onError: reject,
      });
      upload.start();
    });
    const error = await new Promise<Error>((resolve) => {
      const upload = new Upload(data, {
        ...options({ chunkSize: 400, headers: s.auth('bob') }),
        uploadUrl: url,
        // Without an endpoint the client cannot fall back to creating a new upload.
        endpoint: null,
        metadata: { path: 'bob/stolen.bin' },
        onSuccess: () => resolve(new Error('unexpected success')),
        onError: resolve,
      });
      upload.start();
    });
    expect(String(error)).toMatch(/404/);
  });
});
