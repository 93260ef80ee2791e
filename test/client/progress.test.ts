import { describe, expect, it } from 'vitest';
import { emptySummary, formatBytes, formatDuration, formatStatus, formatSummary, RateMeter, Reporter } from '../../client/progress.js';
import { encodeMetadata } from '../../client/tus-upload.js';
import { digestHeader } from '../../client/uploader.js';

describe('formatters', () => {
  it.each([
    [0, '0 B'],
    [1023, '1023 B'],
    [1536, '1.50 KiB'],
    [5 * 1024 * 1024, '5.00 MiB'],
    [123.4 * 1024 * 1024, '123.4 MiB'],
    [1024 ** 3, '1.00 GiB'],
  ])('formatBytes(%i) = %s', (n, s) => expect(formatBytes(n)).toBe(s));

  it.each([
    [0, '0.0s'],
    [1500, '1.5s'],
    [42_000, '42s'],
    [75_000, '1m15s'],
    [3_600_000 + 120_000, '1h02m'],
    [Infinity, '?'],
  ])('formatDuration(%i) = %s', (ms, s) => expect(formatDuration(ms)).toBe(s));

  it('summarises a pass', () => {
    const s = { ...emptySummary(3), uploaded: 2, linked: 1, unchanged: 10, deferred: 1, failed: 1, skipped: 2, bytesSent: 2 * 1024 * 1024, durationMs: 2000 };
    expect(formatSummary(s)).toBe(
      'pass 3 (full scan) done in 2.0s: 2 uploaded, 1 linked, 10 unchanged, 1 deferred, 1 failed, 2 skipped; 2.00 MiB sent (1.00 MiB/s)',
    );
  });

  it('formats the live status line with an ETA', () => {
    expect(formatStatus({ filesDone: 3, filesQueued: 10, bytesDone: 1024 * 1024, bytesQueued: 11 * 1024 * 1024, rate: 1024 * 1024 })).toBe(
      '↑ 3/10 files  1.00 MiB/11.0 MiB  1.00 MiB/s  ETA 10s',
    );
    expect(formatStatus({ filesDone: 0, filesQueued: 1, bytesDone: 0, bytesQueued: 5, rate: 0 })).toMatch(/ETA \?$/);
  });
});

describe('RateMeter', () => {
  it('averages over its window', () => {
    const m = new RateMeter(5000);
    m.add(0, 1000);
    m.add(1000, 1000);
    expect(m.rate(2000)).toBe(1000);
    expect(m.rate(20_000)).toBe(0);
  });
});

describe('Reporter', () => {
  it('writes plain lines without a TTY', () => {
    let out = '';
    const r = new Reporter({ write: (t: string) => (out += t) }, false, () => 0);
    r.queued(10);
    r.bytes(10);
    r.line('uploaded  a.txt');
    r.passDone(emptySummary(1));
    expect(out).toBe(`uploaded  a.txt\n${formatSummary(emptySummary(1))}\n`);
  });

  it('keeps a status line at the bottom on a TTY', () => {
    let out = '';
    let t = 0;
    const r = new Reporter({ write: (s: string) => (out += s) }, true, () => t);
    r.queued(100);
    t += 1000;
    r.bytes(50);
    r.line('uploaded  a.txt');
    expect(out).toContain('\r\x1b[2Kuploaded  a.txt\n');
    expect(out).toContain('↑ 0/1 files');
    r.passDone(emptySummary(1));
    expect(out.endsWith(`\r\x1b[2K${formatSummary(emptySummary(1))}\n`)).toBe(true);
  });
});

describe('wire formats', () => {
  it('Content-Digest is base64 of the raw SHA-256', () => {
    // SHA-256 of the empty string.
    expect(digestHeader('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')).toBe('sha-256=:47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=:');
  });

  it.each([
    [{ path: 'alice/a.txt' }, 'path YWxpY2UvYS50eHQ='],
    [{ path: 'a/Grüße', mtime: '5' }, 'path YS9HcsO8w59l,mtime NQ=='],
    [{}, ''],
  ])('Upload-Metadata for %j', (pairs, header) => {
    expect(encodeMetadata(pairs)).toBe(header);
  });
});
