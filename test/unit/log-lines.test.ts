import { describe, expect, it } from 'vitest';
import { accessLine, messageLine } from '../../adapters/node/log-lines.js';
import type { RequestRecord } from '../../adapters/node/request-measure.js';

const base: RequestRecord = {
  time: Date.UTC(2026, 11, 2, 15, 30, 0, 123),
  method: 'PUT',
  path: '/files/alice/docs/a%20b.txt',
  route: '/files/*',
  status: 201,
  bytesIn: 1234,
  bytesOut: 312,
  ms: 35.4,
  client: 'alice',
  aborted: false,
};

describe('accessLine', () => {
  it.each([
    ['a client request', base, '2026-12-02T15:30:00.123Z PUT /files/alice/docs/a%20b.txt 201 35ms in=1234 out=312 client=alice'],
    ['no client', { ...base, status: 401, client: undefined }, '2026-12-02T15:30:00.123Z PUT /files/alice/docs/a%20b.txt 401 35ms in=1234 out=312 client=-'],
    ['a cut download', { ...base, method: 'GET', aborted: true, ms: 0.4 }, '2026-12-02T15:30:00.123Z GET /files/alice/docs/a%20b.txt 201 0ms in=1234 out=312 client=alice aborted'],
  ])('text: %s', (_what, record, line) => expect(accessLine(record, 'text')).toBe(line));

  it('json: one object with every field', () => {
    expect(JSON.parse(accessLine({ ...base, client: undefined }, 'json'))).toEqual({
      time: '2026-12-02T15:30:00.123Z',
      type: 'access',
      method: 'PUT',
      path: '/files/alice/docs/a%20b.txt',
      route: '/files/*',
      status: 201,
      bytesIn: 1234,
      bytesOut: 312,
      ms: 35,
      client: null,
      aborted: false,
    });
  });
});

describe('messageLine', () => {
  it('text is the message itself', () => expect(messageLine('storage: disk', 'text', 0)).toBe('storage: disk'));
  it('json wraps it with a time', () =>
    expect(JSON.parse(messageLine('sweep: "x"\nsecond', 'json', base.time))).toEqual({ time: '2026-12-02T15:30:00.123Z', type: 'log', message: 'sweep: "x"\nsecond' }));
});
