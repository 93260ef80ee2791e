import { describe, expect, it } from 'vitest';
import { quotaExceeded, UploadQuota } from '../../handlers/tus/upload-quota.js';
import { QuotaExceededError, TooManyRequestsError } from '../../core/errors.js';

const limits = { maxOpenUploads: 2, maxReservedBytes: 100 };

describe('quotaExceeded', () => {
  it.each([
    [{ count: 0, bytes: 0 }, 100, undefined],
    [{ count: 1, bytes: 0 }, 100, undefined],
    [{ count: 2, bytes: 0 }, 1, 'count'],
    [{ count: 0, bytes: 0 }, 101, 'bytes'],
    [{ count: 1, bytes: 60 }, 40, undefined],
    [{ count: 1, bytes: 60 }, 41, 'bytes'],
  ] as const)('%o + %d bytes -> %s', (usage, length, want) => {
    expect(quotaExceeded(usage, length, limits)).toBe(want);
  });

  it.each([
    [{ count: 0, bytes: 0 }, 40, { quotaBytes: 100, usedBytes: 60 }, undefined],
    [{ count: 0, bytes: 0 }, 41, { quotaBytes: 100, usedBytes: 60 }, 'storage'],
    [{ count: 1, bytes: 30 }, 11, { quotaBytes: 100, usedBytes: 60 }, 'storage'],
    [{ count: 1, bytes: 30 }, 70, { quotaBytes: null, usedBytes: 60 }, undefined],
  ] as const)('%o + %d bytes under storage quota %o -> %s', (usage, length, storage, want) => {
    expect(quotaExceeded(usage, length, limits, storage)).toBe(want);
  });
});

describe('UploadQuota', () => {
  const open = new Set<string>();
  const stillOpen = async (id: string) => open.has(id);

  it('counts per owner, re-checks entries only at a limit, and forgets finished ones', async () => {
    const q = new UploadQuota(limits);
    await q.admit('a1', 'alice', 10, stillOpen);
    await q.admit('a2', 'alice', 10, stillOpen);
    open.add('a1').add('a2');
    await q.admit('b1', 'bob', 10, stillOpen);
    await expect(q.admit('a3', 'alice', 10, stillOpen)).rejects.toThrow(TooManyRequestsError);
    // a1 finished elsewhere (say, reclaimed by the expiry job): found at the next refusal check.
    open.delete('a1');
    await q.admit('a3', 'alice', 10, stillOpen);
    expect(q.usage('alice')).toEqual({ count: 2, bytes: 20 });
    q.release('a2');
    expect(q.usage('alice')).toEqual({ count: 1, bytes: 10 });
  });

  it('refuses an upload past the storage quota with the reserved bytes of the open ones counted', async () => {
    const q = new UploadQuota({ maxOpenUploads: 10, maxReservedBytes: 1000 });
    const storage = { quotaBytes: 100, usedBytes: 50 };
    await q.admit('c1', 'carol', 30, stillOpen, storage);
    open.add('c1');
    const err = await q.admit('c2', 'carol', 21, stillOpen, storage).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(QuotaExceededError);
    expect(err).toMatchObject({ namespace: 'carol', usedBytes: 50, quotaBytes: 100, neededBytes: 21, reservedBytes: 30 });
    expect(q.usage('carol')).toEqual({ count: 1, bytes: 30 });
    await q.admit('c2', 'carol', 20, stillOpen, storage);
  });
});
