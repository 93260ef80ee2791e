/**
 * One address cannot hold the server (issue 14.10): connections past the per-address cap are
 * refused with a 429 before any request of theirs is read, and a connection that never finishes
 * its headers is dropped after the (lowered) headers timeout.
 */
import { connect, type Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConnectionCounter } from '../../adapters/node/connection-limit.js';
import { rawRequest } from '../helpers/raw-http.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const CAP = 8;

describe('ConnectionCounter', () => {
  it('admits up to the cap per address and frees a place on release', () => {
    const c = new ConnectionCounter(2);
    expect([c.admit('a'), c.admit('a'), c.admit('a'), c.admit('b')]).toEqual([true, true, false, true]);
    c.release('a');
    expect(c.admit('a')).toBe(true);
    c.release('a');
    c.release('a');
    c.release('b');
    expect(c.addresses).toBe(0);
  });
});

describe(`open connections per address (cap ${CAP})`, () => {
  let s: TestServer;
  const held: Socket[] = [];
  beforeAll(async () => {
    s = await startTestServer({ maxConnectionsPerAddress: CAP });
  });
  afterAll(async () => {
    for (const socket of held) socket.destroy();
    await s.stop();
  });

  const healthz = () => rawRequest(s.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');

  it('refuses a connection past the cap with 429 and serves again once one closes', async () => {
    const { port } = new URL(s.url);
    for (let i = 0; i < CAP; i++) {
      const socket = connect({ host: '127.0.0.1', port: Number(port) });
      await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
      held.push(socket);
    }
    const refused = await healthz();
    expect(refused.status).toBe(429);
    expect(refused.raw).toMatch(/too many open connections/);
    // Idle connections are still counted: nothing got through meanwhile.
    expect((await healthz()).status).toBe(429);
    const closed = new Promise((resolve) => held[0]?.once('close', resolve));
    held.shift()?.end();
    await closed;
    // The server notices the close on its own schedule: ask until it has.
    let status = 0;
    for (let i = 0; i < 200 && status !== 200; i++) status = (await healthz()).status;
    expect(status).toBe(200);
    // The refusals are counted for operators (GET /metrics).
    const refusals = /^cloudbackup_http_connections_refused (\d+)$/m.exec(await s.server.metrics.render());
    expect(Number(refusals?.[1])).toBeGreaterThanOrEqual(2);
    expect(await s.server.metrics.render()).toMatch(new RegExp(`^cloudbackup_http_connections_peak ${CAP}$`, 'm'));
  });

  it('drops a connection whose headers never finish (headers timeout 15 s, was 60 s)', async () => {
    for (const socket of held.splice(0)) socket.destroy();
    const r = await rawRequest(s.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ', 45_000);
    expect(r.status).toBe(408);
  }, 60_000);
});
