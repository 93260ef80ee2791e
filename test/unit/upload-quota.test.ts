import { describe, expect, it } from 'vitest';
import { quotaExceeded, UploadQuota } from '../../handlers/tus/upload-quota.js';
import { TooManyRequestsError } from '../../storage/errors.js';

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
});
