import type { BlobLocation, StoreArea, StoreEntry, StoreInventory } from '../blob-store.js';
import type { S3BlobForms } from './s3-blob-forms.js';
import { formOfSuffix } from '../form-layout.js';
import type { S3Objects } from './s3-objects.js';
import { planAppend, type Segment } from './s3-upload-parts.js';

export interface S3InventoryOptions {
  objects: S3Objects;
  forms: S3BlobForms;
  /** Key prefix of each area (`<prefix>blobs/`, `<prefix>tmp/`, `<prefix>parts/`, `<prefix>quarantine/`). */
  prefixes: Record<StoreArea, string>;
}

const SHA256_HEX = /^[0-9a-f]{64}/;

/**
 * The S3 store's contents for fsck: ListObjectsV2, a page at a time. Keys come in byte order, so
 * `blobs/<sha256>` and `blobs/<sha256>.gz` arrive in SHA-256 order, plain first.
 */
export class S3Inventory implements StoreInventory {
  constructor(readonly options: S3InventoryOptions) {}

  async *list(area: StoreArea): AsyncIterable<StoreEntry> {
    const prefix = this.options.prefixes[area];
    if (area === 'parts') {
      yield* this.#parts(prefix);
      return;
    }
    for await (const o of this.options.objects.list(prefix)) {
      const entry: StoreEntry = { location: o.key, size: o.size, modifiedAt: o.lastModified };
      if (area === 'blobs') {
        const name = o.key.slice(prefix.length);
        const sha = SHA256_HEX.exec(name)?.[0];
        const where = sha === undefined ? undefined : formOfSuffix(name.slice(sha.length));
        if (sha !== undefined && where) entry.form = { sha256: sha, ...where };
      }
      yield entry;
    }
  }

  /** One entry per part: `parts/<id>/` with its marker and segments, holding what planAppend says. */
  async *#parts(prefix: string): AsyncGenerator<StoreEntry> {
    let current: { id: string; segments: Segment[]; modifiedAt: number } | undefined;
    const done = (p: NonNullable<typeof current>): StoreEntry => ({
      location: `${prefix}${p.id}/`,
      size: planAppend(p.segments, Number.POSITIVE_INFINITY).held,
      modifiedAt: p.modifiedAt,
      partId: p.id,
    });
    for await (const o of this.options.objects.list(prefix)) {
      const rest = o.key.slice(prefix.length);
      const slash = rest.indexOf('/');
      const id = slash < 0 ? rest : rest.slice(0, slash);
      const name = slash < 0 ? '' : rest.slice(slash + 1);
      if (current && current.id !== id) {
        yield done(current);
        current = undefined;
      }
      current ??= { id, segments: [], modifiedAt: 0 };
      current.modifiedAt = Math.max(current.modifiedAt, o.lastModified);
      if (/^\d+$/.test(name)) current.segments.push({ key: o.key, start: Number(name), size: o.size });
    }
    if (current) yield done(current);
  }

  hash(sha256: string, where: BlobLocation): Promise<{ sha256: string; size: number } | { unreadable: string }> {
    return this.options.forms.hash(sha256, where);
  }

  async quarantineEntry(location: string): Promise<void> {
    const area = this.#areaOf(location);
    const objects = this.options.objects;
    // Copy first, then delete: the bytes exist somewhere at every instant.
    let size: number | undefined;
    for await (const o of objects.list(location)) if (o.key === location) size = o.size;
    if (size === undefined) return;
    const name = location.slice(this.options.prefixes[area].length);
    await objects.copy(location, `${this.options.prefixes.quarantine}${Date.now()}-${name}`, size);
    await objects.delete(location);
  }

  async removeEntry(location: string): Promise<void> {
    this.#areaOf(location);
    const objects = this.options.objects;
    if (!location.endsWith('/')) return objects.delete(location);
    // A part: its marker and every segment.
    const keys: string[] = [];
    for await (const o of objects.list(location)) keys.push(o.key);
    await objects.deleteMany(keys);
  }

  /** Only keys of the store's own areas: anything else in the bucket is refused, never touched. */
  #areaOf(location: string): StoreArea {
    for (const [area, prefix] of Object.entries(this.options.prefixes) as [StoreArea, string][]) {
      if (location.startsWith(prefix) && location.length > prefix.length) return area;
    }
    throw new Error(`${location} is not an entry of this store`);
  }
}
