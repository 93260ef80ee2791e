import { randomBytes } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { webFromNode } from '../../storage/blobs/web-from-node.js';
import { sha256 } from '../helpers/bytes.js';

async function collect(stream: ReadableStream<Uint8Array>): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const c of stream as unknown as AsyncIterable<Uint8Array>) out.push(c);
  return out;
}

const tick = () => new Promise((r) => setImmediate(r));

describe('webFromNode', () => {
  it.each([
    ['no chunks', []],
    ['one chunk', [100]],
    ['many sizes', [1, 65_536, 3, 300_000, 0, 17]],
  ])('passes every byte in order (%s)', async (_, sizes) => {
    const chunks = sizes.map((n) => randomBytes(n));
    const got = Buffer.concat(await collect(webFromNode(Readable.from(chunks, { objectMode: false }))));
    expect(sha256(got)).toBe(sha256(Buffer.concat(chunks)));
  });

  it('hands the source chunks on without copying them', async () => {
    const chunk = randomBytes(1000);
    const src = new PassThrough();
    const reader = webFromNode(src).getReader();
    const read = reader.read();
    src.end(chunk);
    expect((await read).value).toBe(chunk);
  });

  it('reads nothing before the first read', async () => {
    const src = new PassThrough();
    src.write(randomBytes(10));
    const stream = webFromNode(src);
    await tick();
    expect(src.listenerCount('data')).toBe(0);
    expect(src.readableLength).toBe(10);
    const reader = stream.getReader();
    expect((await reader.read()).value?.byteLength).toBe(10);
  });

  it('pauses the source once readAhead bytes wait, resumes when they are read', async () => {
    const src = new PassThrough({ highWaterMark: 1024 });
    const reader = webFromNode(src, 4096).getReader();
    const first = reader.read();
    for (let i = 0; i < 10; i++) src.write(Buffer.alloc(1024, i));
    expect((await first).value?.[0]).toBe(0);
    await tick();
    expect(src.isPaused()).toBe(true);
    let seen = 1;
    src.end();
    for (;;) {
      const { done } = await reader.read();
      if (done) break;
      seen++;
    }
    expect(seen).toBe(10);
  });

  it('passes a source error on', async () => {
    const src = new PassThrough();
    const reader = webFromNode(src).getReader();
    const read = reader.read();
    src.destroy(new Error('disk on fire'));
    await expect(read).rejects.toThrow('disk on fire');
  });

  it('fails when the source closes before its end (a client that went away)', async () => {
    const src = new PassThrough();
    const reader = webFromNode(src).getReader();
    const first = reader.read();
    src.write(Buffer.from('part'));
    await first;
    src.destroy();
    await expect(reader.read()).rejects.toThrow();
  });

  it('destroys the source when the consumer cancels', async () => {
    const src = new PassThrough();
    const reader = webFromNode(src).getReader();
    const first = reader.read();
    src.write(Buffer.from('x'));
    await first;
    await reader.cancel(new Error('enough'));
    expect(src.destroyed).toBe(true);
  });

  it('leaves a request body open and paused when asked to (the server drains the rest)', async () => {
    const src = new PassThrough();
    const reader = webFromNode(src, undefined, { keepSourceOnCancel: true }).getReader();
    const first = reader.read();
    src.write(Buffer.from('x'));
    await first;
    await reader.cancel(new Error('too large'));
    expect(src.destroyed).toBe(false);
    expect(src.isPaused()).toBe(true);
  });

  it('stops feeding a detached stream, which errors, and leaves the source open', async () => {
    const src = new PassThrough();
    const detach = new AbortController();
    const reader = webFromNode(src, undefined, { detach: detach.signal }).getReader();
    const first = reader.read();
    src.write(Buffer.from('x'));
    await first;
    detach.abort();
    await expect(reader.read()).rejects.toThrow(/abandoned/);
    expect(src.destroyed).toBe(false);
    expect(src.listenerCount('data')).toBe(0);
  });
});
