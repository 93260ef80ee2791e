import { describe, expect, it } from 'vitest';
import { formatAge } from '../../storage/clients/backup-health.js';
import { SqliteCatalog } from '../../storage/catalog/sqlite/sqlite-catalog.js';
import { SeenTracker } from '../../storage/clients/seen-tracker.js';

describe('formatAge', () => {
  it.each([
    [0, '0s'],
    [999, '0s'],
    [59_000, '59s'],
    [61_000, '1m 1s'],
    [3_600_000, '1h'],
    [90_061_000, '1d 1h'],
    [2 * 86_400_000 + 59 * 60_000, '2d'],
    [400 * 86_400_000, '400d'],
  ])('%i ms -> %s', (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});

describe('SeenTracker', () => {
  it('writes a client at most once per interval, on the first request after it', async () => {
    const catalog = new SqliteCatalog({ file: ':memory:' });
    try {
      await catalog.addClient({ name: 'alice', tokenId: 'a', tokenHash: 'h', admin: false, createdAt: 0, revokedAt: null, quotaBytes: null });
      let now = 1000;
      const tracker = new SeenTracker({ catalog, clock: () => now, intervalMs: 60_000 });
      const seen = async () => (await catalog.getClient('alice'))?.lastSeen;
      await tracker.seen('alice');
      expect(await seen()).toBe(1000);
      now = 50_000;
      await tracker.seen('alice');
      expect(await seen()).toBe(1000);
      now = 61_000;
      await tracker.seen('alice');
      expect(await seen()).toBe(61_000);
    } finally {
      await catalog.close();
    }
  });
});
