import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { LISTING_DIGEST_BLOCK, ListingDigest } from '../../shared/listing-digest.js';

const sha = (s: string) => createHash('sha256').update(s).digest('hex');

/** The definition written out independently: sha256sum-style lines, blocks of 1000, a hash of the block hashes. */
function expected(files: [string, string][]): string {
  const blocks: Buffer[] = [];
  for (let i = 0; i < files.length; i += LISTING_DIGEST_BLOCK) {
    const text = files
      .slice(i, i + LISTING_DIGEST_BLOCK)
      .map(([p, h]) => `${h}  ${p}\n`)
      .join('');
    blocks.push(createHash('sha256').update(Buffer.from(text, 'utf8')).digest());
  }
  return createHash('sha256').update(Buffer.concat(blocks)).digest('hex');
}

async function digestOf(files: [string, string][], crypto?: null): Promise<{ files: number; digest: string }> {
  const d = crypto === null ? new ListingDigest(null) : new ListingDigest();
  for (const [p, h] of files) d.add(p, h);
  return { files: d.files, digest: await d.digest() };
}

const many = (n: number, tag = ''): [string, string][] => Array.from({ length: n }, (_, i) => [`alice/d/f${String(i).padStart(5, '0')}é${tag}`, sha(`${i}${tag}`)]);

describe('listing digest', () => {
  it('no files: SHA-256 of nothing', async () => {
    expect(await digestOf([])).toEqual({ files: 0, digest: sha('') });
  });

  it('matches the written-out definition around block boundaries, with Node crypto and with Web Crypto alone', async () => {
    for (const n of [1, LISTING_DIGEST_BLOCK - 1, LISTING_DIGEST_BLOCK, LISTING_DIGEST_BLOCK + 1, 2 * LISTING_DIGEST_BLOCK + 7]) {
      const files = many(n);
      const want = { files: n, digest: expected(files) };
      expect(await digestOf(files)).toEqual(want);
      expect(await digestOf(files, null)).toEqual(want);
    }
  });

  it('changes with a hash, a path, a file more or fewer, and the order', async () => {
    const files = many(1500);
    const base = (await digestOf(files)).digest;
    const changed = files.map(([p, h], i): [string, string] => (i === 1200 ? [p, sha('other')] : [p, h]));
    const renamed = files.map(([p, h], i): [string, string] => (i === 3 ? [`${p}x`, h] : [p, h]));
    const swapped = [files[1], files[0], ...files.slice(2)] as [string, string][];
    for (const other of [changed, renamed, files.slice(1), [...files, ['alice/e', sha('e')] as [string, string]], swapped]) {
      expect((await digestOf(other)).digest).not.toBe(base);
    }
  });
});
