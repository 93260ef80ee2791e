/**
 * Checking stored blob bytes against their name (the SHA-256 of the plain content): on the way
 * out of a full read, and before a commit trusts a copy that is already stored (dedup). The rules
 * and the stream wrapper live here; the stores (disk, S3) only supply the I/O, so both behave
 * the same way.
 */
import { createHash } from 'node:crypto';
import type { BlobLocation, KnownBlob, StoredForm, TempBlob } from './blob-store.js';
import { isCodecDataError } from '../hot-cold/codec.js';
import { CorruptBlobError, NotFoundError } from '../../core/errors.js';
import { sameLocation } from './form-layout.js';

/**
 * A stored copy up to this plain size is re-hashed whole before a commit drops the new upload in
 * its favour; larger ones get the size check only (a full re-read of a large blob on every dedup
 * would cost more than the upload saved). Full GETs verify every size.
 */
export const FULL_CHECK_MAX_BYTES = 1 << 20;

/** What is wrong with a stored form's size, or null when its size is what it must be. */
export function sizeProblem(form: StoredForm, plainSize: number, known?: KnownBlob): string | null {
  if (form.state === 'hot') {
    return form.storedSize === plainSize ? null : `plain form holds ${form.storedSize} bytes, not ${plainSize}`;
  }
  // A compressed form's size is known only from the catalog, for the form the catalog names.
  if (known && sameLocation(known.where, form) && known.storedSize !== form.storedSize) {
    return `${form.codec} form holds ${form.storedSize} bytes, the catalog recorded ${known.storedSize}`;
  }
  return null;
}

/** SHA-256 and length of a stream of plain bytes. */
export async function hashOf(source: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number }> {
  const hash = createHash('sha256');
  let size = 0;
  for await (const chunk of source) {
    hash.update(chunk);
    size += chunk.byteLength;
  }
  return { sha256: hash.digest('hex'), size };
}

/** SHA-256 and size of one form's plain stream; `unreadable` when its codec refuses the bytes. */
export async function hashPlainForm(plain: AsyncIterable<Uint8Array>): Promise<{ sha256: string; size: number } | { unreadable: string }> {
  try {
    return await hashOf(plain);
  } catch (err) {
    if (isCodecDataError(err)) return { unreadable: (err as Error).message };
    throw err;
  }
}

/**
 * Passes the whole plain content of a blob through while hashing it. The last chunk is held back
 * until the hash is known, so on a mismatch the stream fails before its reader has every byte:
 * an HTTP client sees a broken transfer, never a clean end with wrong bytes.
 */
export async function* verified(source: AsyncIterable<Uint8Array>, sha256: string, where: BlobLocation): AsyncGenerator<Uint8Array> {
  const hash = createHash('sha256');
  let held: Uint8Array | undefined;
  try {
    for await (const chunk of source) {
      if (chunk.byteLength === 0) continue;
      hash.update(chunk);
      if (held) yield held;
      held = chunk;
    }
  } catch (err) {
    // A compressed form the codec refuses is as corrupt as one that hashes wrong.
    if (isCodecDataError(err)) throw new CorruptBlobError(sha256, where);
    throw err;
  }
  if (hash.digest('hex') !== sha256) throw new CorruptBlobError(sha256, where);
  if (held) yield held;
}

/** What the checks need from a store's forms (DiskBlobForms, S3BlobForms), all about one blob. */
export interface CheckableForms {
  list(sha256: string): Promise<StoredForm[]>;
  /**
   * Plain SHA-256 and size of exactly one stored form; `unreadable` when its codec refuses it.
   * NotFoundError when it is not there; I/O failures are thrown (they prove nothing about the bytes).
   */
  hash(sha256: string, where: BlobLocation): Promise<{ sha256: string; size: number } | { unreadable: string }>;
  /** Moves one form out of service, kept for inspection. Missing is not an error. */
  quarantine(sha256: string, where: BlobLocation): Promise<void>;
  delete(sha256: string, where: BlobLocation): Promise<void>;
}

/** How a store makes a temporary object a blob's plain form, or drops it. */
export interface TempActions {
  install(temp: TempBlob): Promise<void>;
  discard(temp: TempBlob): Promise<void>;
}

/**
 * BlobStore.quarantine: the form is hashed again in full first, so that only bytes that really
 * are wrong (not a form a commit repaired meanwhile, nor a one-off bad read) are moved.
 */
export async function quarantineIfCorrupt(forms: CheckableForms, sha256: string, where: BlobLocation): Promise<boolean> {
  let got;
  try {
    got = await forms.hash(sha256, where);
  } catch (err) {
    if (err instanceof NotFoundError) return false;
    throw err;
  }
  if ('sha256' in got && got.sha256 === sha256) return false;
  await forms.quarantine(sha256, where);
  return true;
}

/** Why one stored form of `temp`'s blob cannot be trusted, or null when it passes. */
async function formProblem(forms: CheckableForms, temp: TempBlob, form: StoredForm, known?: KnownBlob): Promise<string | null> {
  const bySize = sizeProblem(form, temp.size, known);
  if (bySize) return bySize;
  if (temp.size > FULL_CHECK_MAX_BYTES) return null;
  const got = await forms.hash(temp.sha256, form);
  if ('unreadable' in got) return `${describe(form)} is unreadable (${got.unreadable})`;
  return got.sha256 === temp.sha256 ? null : `${describe(form)} does not hash to its name`;
}

function describe(form: BlobLocation): string {
  return form.state === 'hot' ? 'plain form' : `${form.codec} form`;
}

/**
 * BlobStore.commit with self-healing: an existing copy is checked (see FULL_CHECK_MAX_BYTES)
 * before the new upload is dropped in its favour. Forms that fail are quarantined; the verified
 * upload then becomes the plain form and any other form left is removed, so the blob is plain and
 * whole again (the caller points the catalog at the plain form when `healed` is set).
 */
export async function checkedCommit(
  forms: CheckableForms,
  temps: TempActions,
  temp: TempBlob,
  known?: KnownBlob,
): Promise<{ stored: boolean; healed?: string }> {
  const stored = await forms.list(temp.sha256);
  if (stored.length === 0) {
    await temps.install(temp);
    // Catalog knows the blob but no bytes are left (quarantined, lost): this upload restores it.
    return known ? { stored: true, healed: 'no stored form was left' } : { stored: true };
  }
  const problems: string[] = [];
  const good: StoredForm[] = [];
  for (const form of stored) {
    const problem = await formProblem(forms, temp, form, known);
    if (problem) {
      problems.push(problem);
      await forms.quarantine(temp.sha256, form);
    } else good.push(form);
  }
  if (problems.length === 0) {
    await temps.discard(temp);
    return { stored: false };
  }
  const keptPlain = good.some((f) => f.state === 'hot');
  if (keptPlain) await temps.discard(temp);
  else await temps.install(temp);
  // The plain form is now the one to trust; a compressed one beside it would only be ambiguous.
  for (const f of good) if (f.state !== 'hot') await forms.delete(temp.sha256, f);
  return { stored: !keptPlain, healed: problems.join('; ') };
}
