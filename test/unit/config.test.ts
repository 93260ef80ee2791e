import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../adapters/node/config.js';
import { parseDuration, parseSize } from '../../shared/units.js';

describe('units', () => {
  it.each([
    ['30s', 30_000],
    ['10m', 600_000],
    ['7d', 604_800_000],
    ['1h30m', 5_400_000],
    ['500ms', 500],
    ['2', 2000],
    ['1.5s', 1500],
  ])('duration %s', (s, ms) => expect(parseDuration(s)).toBe(ms));
  it.each(['', 'abc', '10x', '5 minutes', 's', '-1s'])('bad duration %j', (s) => expect(() => parseDuration(s)).toThrow());
  it.each([
    ['500K', 512_000],
    ['2M', 2 * 1024 ** 2],
    ['1G', 1024 ** 3],
    ['1024', 1024],
    ['2MiB', 2 * 1024 ** 2],
  ])('size %s', (s, n) => expect(parseSize(s)).toBe(n));
});

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ host: '0.0.0.0', port: 9090, hotTimeMs: 7 * 86_400_000, sweepIntervalMs: 60_000, storage: 'disk' });
    expect(c.dataDir.endsWith('/data')).toBe(true);
  });
  it('takes env, and flags over env', () => {
    expect(loadConfig([], { CB_PORT: '8000', CB_HOT_TIME: '30s' })).toMatchObject({ port: 8000, hotTimeMs: 30_000 });
    expect(loadConfig(['--port', '7000'], { CB_PORT: '8000' }).port).toBe(7000);
  });
  it.each([
    [['--port', 'x'], {}],
    [['--port', '70000'], {}],
    [[], { CB_HOT_TIME: 'soon' }],
    [['--storage', 'tape'], {}],
    [['--unknown'], {}],
  ])('refuses %j %j with a ConfigError', (argv, env) => {
    expect(() => loadConfig(argv as string[], env)).toThrow(ConfigError);
  });
});
