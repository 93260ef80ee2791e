import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../adapters/node/config.js';
import { humanSize, parseDuration, parseSize } from '../../shared/units.js';

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
  it.each([
    [0, '0 B'],
    [900, '900 B'],
    [1536, '1.5 KiB'],
    [50 * 1024 ** 3, '50 GiB'],
    [1024 ** 4 * 3, '3.0 TiB'],
    [1024 ** 2 - 1, '1024 KiB'],
  ])('humanSize %d', (n, s) => {
    expect(humanSize(n)).toBe(s);
    // What it prints reads back (to its one decimal).
    expect(Math.abs(parseSize(s) - n) / Math.max(n, 1)).toBeLessThan(0.05);
  });
});

describe('loadConfig', () => {
  it('has the documented defaults', () => {
    const c = loadConfig([], {});
    expect(c).toMatchObject({ host: '0.0.0.0', port: 9090, hotTimeMs: 7 * 86_400_000, sweepIntervalMs: 60_000, storage: 'disk' });
    expect(c.dataDir.endsWith('/data')).toBe(true);
  });
  it('logs text with an access line per request, and serves metrics to admins only, by default', () => {
    expect(loadConfig([], {})).toMatchObject({ logFormat: 'text', accessLog: true, metricsToken: '' });
    expect(loadConfig(['--log-format', 'json', '--access-log', 'false'], { CB_METRICS_TOKEN: 'scrape-secret-0123456789' })).toMatchObject({
      logFormat: 'json',
      accessLog: false,
      metricsToken: 'scrape-secret-0123456789',
    });
  });
  it.each(['0.0.0.0', '::', '::1', '127.0.0.1', 'localhost', 'backup-1.lan', 'fe80::1'])('accepts --host %s', (host) => {
    expect(loadConfig(['--host', host], {}).host).toBe(host);
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
    [['--log-format', 'xml'], {}],
    [['--host', 'not_a_host!'], {}],
    [['--host', '[::1]'], {}],
    [['--host', ''], {}],
    [[], { CB_HOST: 'a..b' }],
    [['--access-log', 'maybe'], {}],
    [['--metrics-token', 'short'], {}],
    [[], { CB_METRICS_TOKEN: 'sixteen chars but spaced' }],
  ])('refuses %j %j with a ConfigError', (argv, env) => {
    expect(() => loadConfig(argv as string[], env)).toThrow(ConfigError);
  });
});
