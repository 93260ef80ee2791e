/**
 * The digest of a folder's listing (GET /api/files/digest): one SHA-256 that stands for every
 * current file below a prefix with its content hash, so a backup client can tell whether the
 * server holds exactly what its state DB says it confirmed without fetching the listing page by
 * page (100 requests for 100k files).
 *
 * Definition (server and client compute it with this one module):
 * - one line per file, `<sha256 in lowercase hex>  <path>\n` (as `sha256sum` prints it), the
 *   files in ascending order of their paths' UTF-8 bytes (the order the catalogs list in);
 * - the lines in blocks of LISTING_DIGEST_BLOCK; each block's UTF-8 bytes hashed with SHA-256;
 * - the digest: SHA-256 of the blocks' 32-byte hashes one after another, in lowercase hex. No
 *   files: SHA-256 of nothing (e3b0c442...).
 * Blocks keep it cheap on a runtime without a streaming hash (Web Crypto hashes whole buffers):
 * at most one block of text is held at a time, never the whole listing.
 */

import { nodeCrypto } from './node-crypto.js';

export const LISTING_DIGEST_BLOCK = 1000;

type NodeCrypto = typeof import('node:crypto');

const utf8 = new TextEncoder();

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

/**
 * Fed the files in path order (`add`), then `digest()` once. `crypto` null: Web Crypto only
 * (what a runtime without Node's crypto does; tests compare the two).
 */
export class ListingDigest {
  private lines: string[] = [];
  private readonly blocks: (Uint8Array | Promise<ArrayBuffer>)[] = [];
  private count = 0;

  constructor(private readonly crypto: NodeCrypto | null = nodeCrypto ?? null) {}

  /** Files added so far. */
  get files(): number {
    return this.count;
  }

  add(path: string, sha256: string): void {
    this.lines.push(`${sha256}  ${path}\n`);
    this.count++;
    if (this.lines.length === LISTING_DIGEST_BLOCK) this.closeBlock();
  }

  async digest(): Promise<string> {
    if (this.lines.length > 0) this.closeBlock();
    const parts = await Promise.all(this.blocks.map(async (b) => (b instanceof Uint8Array ? b : new Uint8Array(await b))));
    const all = new Uint8Array(parts.length * 32);
    parts.forEach((p, i) => all.set(p, i * 32));
    if (this.crypto) return this.crypto.createHash('sha256').update(all).digest('hex');
    return hex(new Uint8Array(await globalThis.crypto.subtle.digest('SHA-256', all)));
  }

  private closeBlock(): void {
    const text = this.lines.join('');
    this.lines = [];
    this.blocks.push(this.crypto ? this.crypto.createHash('sha256').update(text, 'utf8').digest() : globalThis.crypto.subtle.digest('SHA-256', utf8.encode(text)));
  }
}

/** The answer of GET /api/files/digest?prefix=. */
export interface ListingDigestJson {
  prefix: string;
  files: number;
  digest: string;
}
