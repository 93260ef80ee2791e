import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gunzipSync, gzipSync, createGunzip } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { FOOTER_BYTES, MEMBER_BYTES, parseFooter, planSeek, SeekableGzip, sliceChecked, type ByteSource } from '../../storage/hot-cold/seekable-gzip.js';

const text = (n: number) => Buffer.from(Array.from({ length: n }, (_, i) => `line ${i} ${(i * 7919) % 1000}\n`).join(''));

async function compress(plain: Buffer, memberBytes: number, pieces = 7): Promise<Buffer> {
  const chunks: Buffer[] = [];
  // Uneven input chunks, so member boundaries fall inside them.
  const parts: Buffer[] = [];
  for (let i = 0; i < plain.length; i += Math.ceil(plain.length / pieces)) parts.push(plain.subarray(i, i + Math.ceil(plain.length / pieces)));
  const out = Readable.from(parts).pipe(new SeekableGzip({ memberBytes }));
  for await (const c of out) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const source = (file: Buffer): ByteSource => ({ size: file.length, bytes: async (s, e) => file.subarray(s, e + 1) });

async function readRange(file: Buffer, start: number, end: number): Promise<Buffer> {
  const plan = await planSeek(source(file), start, end);
  if (!plan) throw new Error('not seekable');
  const gunzip = createGunzip();
  gunzip.end(file.subarray(plan.compressed.start, plan.compressed.end + 1));
  const out: Uint8Array[] = [];
  for await (const c of sliceChecked(gunzip, plan.skip, end - start + 1)) out.push(c);
  return Buffer.concat(out);
}

describe('seekable gzip', () => {
  const plain = text(20_000); // ~280 KB
  const member = 16 * 1024;

  it('is one valid gzip stream with the plain content (node:zlib and gzip(1))', async () => {
    const file = await compress(plain, member);
    expect(gunzipSync(file).equals(plain)).toBe(true);
    const dir = mkdtempSync(join(tmpdir(), 'cb-sgz-'));
    try {
      writeFileSync(join(dir, 'x.gz'), file);
      expect(execFileSync('gzip', ['-dc', join(dir, 'x.gz')], { maxBuffer: 1 << 24 }).equals(plain)).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('costs little space at the real member size', async () => {
    const big = text(250_000); // ~3.6 MB: four members
    const file = await compress(big, MEMBER_BYTES);
    expect(gunzipSync(file).equals(big)).toBe(true);
    expect(file.length).toBeLessThan(gzipSync(big).length * 1.02);
  });

  it('footer: found in seekable files, absent from ordinary gzip and garbage', async () => {
    const file = await compress(plain, member);
    const f = parseFooter(file.subarray(file.length - FOOTER_BYTES), file.length);
    expect(f).toMatchObject({ memberBytes: member, plainSize: plain.length, count: Math.ceil(plain.length / member) });
    const old = gzipSync(plain);
    expect(parseFooter(old.subarray(old.length - FOOTER_BYTES), old.length)).toBeNull();
    expect(parseFooter(Buffer.alloc(FOOTER_BYTES), 10_000)).toBeNull();
    expect(await planSeek(source(old), 10, 20)).toBeNull();
  });

  it.each([
    [0, 0],
    [0, member - 1],
    [member - 1, member],
    [member, 2 * member - 1],
    [12_345, 12_345 + 3 * member],
    [plain.length - 10, plain.length - 1],
    [0, plain.length - 1],
  ])('range %i-%i reads exactly, touching only its members', async (start, end) => {
    const file = await compress(plain, member);
    expect((await readRange(file, start, end)).equals(plain.subarray(start, end + 1))).toBe(true);
    const plan = (await planSeek(source(file), start, end)) as NonNullable<Awaited<ReturnType<typeof planSeek>>>;
    const members = Math.floor(end / member) - Math.floor(start / member) + 1;
    // Compressed text is well under a third of its plain size per member.
    expect(plan.compressed.end - plan.compressed.start + 1).toBeLessThan(members * member);
    expect(plan.skip).toBe(start % member);
  });

  it('sizes on member boundaries and empty content', async () => {
    for (const size of [0, 1, member, 2 * member, 2 * member + 1]) {
      const p = plain.subarray(0, size);
      const file = await compress(p, member, 3);
      expect(gunzipSync(file).equals(p)).toBe(true);
      if (size > 0) expect((await readRange(file, size - 1, size - 1)).equals(p.subarray(size - 1))).toBe(true);
      if (size > 0) expect(await planSeek(source(file), 0, size)).toBeNull();
    }
  });

  it('a damaged member fails the ranged read instead of yielding wrong bytes', async () => {
    const file = await compress(plain, member);
    const plan = (await planSeek(source(file), 3 * member, 3 * member + 99)) as NonNullable<Awaited<ReturnType<typeof planSeek>>>;
    const bad = Buffer.from(file);
    const at = plan.compressed.start + Math.floor((plan.compressed.end - plan.compressed.start) / 2);
    bad[at] = (bad[at] as number) ^ 0xff;
    await expect(readRange(bad, 3 * member, 3 * member + 99)).rejects.toThrow();
  });
});
