import type { QuotaUsage } from '../../storage/catalog/catalog.js';
import { QuotaExceededError, TooManyRequestsError } from '../../core/errors.js';

export interface UploadLimits {
  /** Unfinished uploads one client may hold open at once. */
  maxOpenUploads: number;
  /** Sum of the Upload-Length of one client's unfinished uploads. */
  maxReservedBytes: number;
}

export interface UploadUsage {
  count: number;
  bytes: number;
}

const NO_QUOTA: QuotaUsage = { quotaBytes: null, usedBytes: 0 };

/**
 * Which limit a new upload of `length` bytes would break, if any (pure, for tests): too many
 * open uploads, too many bytes reserved by them, or the namespace's storage quota, which counts
 * what it holds plus what its open uploads will add.
 */
export function quotaExceeded(usage: UploadUsage, length: number, limits: UploadLimits, storage: QuotaUsage = NO_QUOTA): 'count' | 'bytes' | 'storage' | undefined {
  if (usage.count + 1 > limits.maxOpenUploads) return 'count';
  if (usage.bytes + length > limits.maxReservedBytes) return 'bytes';
  if (storage.quotaBytes !== null && storage.usedBytes + usage.bytes + length > storage.quotaBytes) return 'storage';
  return undefined;
}

/**
 * The unfinished uploads each client holds, so that one client cannot reserve the disk with
 * thousands of huge uploads it never sends. Kept in memory (one server process): uploads are
 * entered at creation or when touched after a restart, and left when they complete or are
 * dropped. One that finished or expired elsewhere (the expiry job, another instance) is
 * noticed when its owner reaches a limit: `stillOpen` re-checks each entry against the catalog
 * before anything is refused.
 */
export class UploadQuota {
  readonly #open = new Map<string, { owner: string; length: number }>();

  constructor(readonly limits: UploadLimits) {}

  usage(owner: string): UploadUsage {
    let count = 0;
    let bytes = 0;
    for (const u of this.#open.values()) {
      if (u.owner !== owner) continue;
      count++;
      bytes += u.length;
    }
    return { count, bytes };
  }

  /** Records an upload as open (idempotent). */
  hold(id: string, owner: string, length: number): void {
    this.#open.set(id, { owner, length });
  }

  release(id: string): void {
    this.#open.delete(id);
  }

  /**
   * Enters upload `id`, or throws 429 when its owner is at a limit, 507 when the upload would not
   * fit the namespace's quota (`storage`, read just before; the commit checks again).
   */
  async admit(id: string, owner: string, length: number, stillOpen: (id: string) => Promise<boolean>, storage: QuotaUsage = NO_QUOTA): Promise<void> {
    if (quotaExceeded(this.usage(owner), length, this.limits, storage) !== undefined) {
      for (const [held, u] of [...this.#open]) {
        if (u.owner === owner && !(await stillOpen(held))) this.release(held);
      }
    }
    // Checked again after the awaits, and entered at once: two creations cannot both slip in.
    const usage = this.usage(owner);
    const over = quotaExceeded(usage, length, this.limits, storage);
    if (over === 'count') {
      throw new TooManyRequestsError(`too many unfinished uploads: at most ${this.limits.maxOpenUploads} at once; finish or delete some first`);
    }
    if (over === 'bytes') {
      throw new TooManyRequestsError(
        `unfinished uploads would reserve more than ${this.limits.maxReservedBytes} bytes: finish or delete some first`,
      );
    }
    if (over === 'storage') throw new QuotaExceededError(owner, storage.usedBytes, storage.quotaBytes ?? 0, length, usage.bytes);
    this.hold(id, owner, length);
  }
}
