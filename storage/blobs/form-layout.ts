/**
 * What the disk and S3 forms (storage/blobs/disk/disk-blob-forms.ts, s3-blob-forms.ts) share: which forms a
 * blob can have, how each is named next to the plain one, the order reads try them in, and the
 * stages that move content between two forms while checking it against the blob's name.
 */
import { createHash } from 'node:crypto';
import { Transform } from 'node:stream';
import type { BlobLocation } from './blob-store.js';
import { codecOfSuffix, codecSuffix, createCompressor, createDecompressor, KNOWN_CODECS } from '../hot-cold/codec.js';
import { CorruptBlobError } from '../../core/errors.js';

export const SHA256_HEX = /^[0-9a-f]{64}$/;
export const PLAIN: BlobLocation = { state: 'hot', codec: null };

export function sameLocation(a: BlobLocation, b: BlobLocation): boolean {
  return a.state === b.state && (a.state === 'hot' || a.codec === b.codec);
}

/** Every form a blob could be stored in, plain first. */
export const ALL_FORMS: readonly BlobLocation[] = [PLAIN, ...KNOWN_CODECS.map((codec): BlobLocation => ({ state: 'cold', codec }))];

/** The forms a read tries, `where` (the catalog's idea) first. */
export function readOrder(where?: BlobLocation): readonly BlobLocation[] {
  return where ? [where, ...ALL_FORMS.filter((l) => !sameLocation(l, where))] : ALL_FORMS;
}

/** A form's name: `<sha256>` plain, `<sha256>.<suffix>` compressed (`.gz`). */
export function formName(sha256: string, where: BlobLocation): string {
  if (where.state === 'hot') return sha256;
  if (where.codec === null) throw new Error(`a cold blob needs a codec (${sha256})`);
  return `${sha256}.${codecSuffix(where.codec)}`;
}

/** The form a name's suffix after the SHA-256 says: '' plain, '.gz' gzip; undefined when unknown. */
export function formOfSuffix(suffix: string): BlobLocation | undefined {
  if (suffix === '') return PLAIN;
  const codec = suffix.startsWith('.') ? codecOfSuffix(suffix.slice(1)) : undefined;
  return codec ? { state: 'cold', codec } : undefined;
}

/** Suffix of a temporary object holding a pending `to` form. */
export function pendingSuffix(to: BlobLocation): string {
  return `.${to.state === 'hot' ? 'plain' : codecSuffix(to.codec as string)}`;
}

/**
 * The stream stages from a stored `from` form to a `to` form (decompress, hash the plain bytes,
 * compress). `check()` after the last byte throws CorruptBlobError unless the content hashed to
 * `sha256`: a corrupt source is never turned into the only copy. `plainSize` helps a compressor
 * lay out a seekable form.
 */
export function conversionStages(sha256: string, from: BlobLocation, to: BlobLocation, plainSize?: number): { stages: NodeJS.ReadWriteStream[]; check(): void } {
  if (sameLocation(from, to)) throw new Error(`convert ${sha256}: source and target form are the same`);
  const hash = createHash('sha256');
  const stages: NodeJS.ReadWriteStream[] = [];
  if (from.state === 'cold') stages.push(createDecompressor(from.codec as string));
  stages.push(
    new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
    }),
  );
  if (to.state === 'cold') stages.push(createCompressor(to.codec as string, plainSize));
  return {
    stages,
    check() {
      if (hash.digest('hex') !== sha256) throw new CorruptBlobError(sha256, from);
    },
  };
}
