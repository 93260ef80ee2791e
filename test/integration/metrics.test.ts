import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256Body } from '../helpers/bytes.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const METRICS_TOKEN = 'scrape-secret-0123456789';

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of a Prometheus text exposition (enough of the format for our own output). */
function parseExposition(text: string): Sample[] {
  const out: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`not an exposition line: ${line}`);
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[l[1] as string] = l[2] as string;
    out.push({ name: m[1] as string, labels, value: Number(m[3]) });
  }
  return out;
}

/** The value of the one sample named `name` whose labels include `labels` (0 when there is none). */
function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  const hits = samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (hits.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${hits.length} samples`);
  return hits[0]?.value ?? 0;
}

describe('GET /metrics', () => {
  let s: TestServer;
  const scrape = async (): Promise<Sample[]> => {
    const r = await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } });
    expect(r.status).toBe(200);
    return parseExposition(await r.text());
  };
  beforeAll(async () => {
    s = await startTestServer({ metricsToken: METRICS_TOKEN, hotTimeMs: 0, sweepIntervalMs: 3_600_000 });
  });
  afterAll(async () => {
    await s.stop();
  });

  it('is for admin clients and the metrics token only', async () => {
    const url = `${s.url}/metrics`;
    const anonymous = await fetch(url);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get('www-authenticate')).toBe('Basic realm="cloud-backup"');
    expect((await fetch(url, { headers: s.auth('alice') })).status).toBe(403);
    expect((await fetch(url, { headers: { Authorization: 'Bearer not-the-metrics-token' } })).status).toBe(401);
    const admin = await fetch(url, { headers: s.auth('root') });
    expect(admin.status).toBe(200);
    expect(admin.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(await admin.text()).toMatch(/^# HELP cloudbackup_http_requests_total /m);
    // The metrics token opens nothing else.
    expect((await fetch(`${s.url}/api/files?prefix=alice/`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).status).toBe(401);
  });

  it("serves every metric of prom-client's collectDefaultMetrics (same name, type and help), the CPU counted from the process start", async () => {
    const reference = new Registry();
    collectDefaultMetrics({ register: reference });
    const want = (await reference.getMetricsAsJSON()).map((m) => `${m.name} ${m.type} ${m.help}`).sort();
    reference.clear();
    const text = await (await fetch(`${s.url}/metrics`, { headers: { Authorization: `Bearer ${METRICS_TOKEN}` } })).text();
    const help = new Map([...text.matchAll(/^# HELP (\S+) (.*)$/gm)].map((m) => [m[1] as string, m[2] as string]));
    const served = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => `${m[1]} ${m[2]} ${help.get(m[1] as string)}`);
    expect(served.filter((line) => !line.startsWith('cloudbackup_')).sort()).toEqual(want);

    // The server runs in this process: its CPU counter is this process's CPU time so far,
    // including what was spent before the server started (prom-client's counts from registration).
    const cpu = ({ user, system }: NodeJS.CpuUsage) => (user + system) / 1e6;
    const before = cpu(process.cpuUsage());
    const samples = await scrape();
    const after = cpu(process.cpuUsage());
    expect(value(samples, 'process_cpu_seconds_total')).toBeGreaterThanOrEqual(before - 0.001);
    expect(value(samples, 'process_cpu_seconds_total')).toBeLessThanOrEqual(after + 0.001);
    expect(value(samples, 'process_cpu_user_seconds_total') + value(samples, 'process_cpu_system_seconds_total')).toBeCloseTo(value(samples, 'process_cpu_seconds_total'), 5);
  });

  it('counts requests by route pattern and status, with wire bytes and transfer latencies', async () => {
    const before = await scrape();
    const a = randomBytes(200_000);
    const b = randomBytes(50_000);
    const putA = await fetch(`${s.url}/files/alice/m/one.bin`, { method: 'PUT', headers: s.auth('alice'), body: a });
    const putB = await fetch(`${s.url}/files/alice/m/deeper/two.bin`, { method: 'PUT', headers: s.auth('alice'), body: b });
    expect([putA.status, putB.status]).toEqual([201, 201]);
    await putA.arrayBuffer();
    await putB.arrayBuffer();
    const got = await fetch(`${s.url}/files/alice/m/one.bin`, { headers: s.auth('alice') });
    expect((await sha256Body(got)).size).toBe(a.length);
    expect((await fetch(`${s.url}/files/alice/m/missing.bin`, { headers: s.auth('alice') })).status).toBe(404);
    expect((await fetch(`${s.url}/no/such/route`, { headers: s.auth('alice') })).status).toBe(404);
    const after = await scrape();

    const delta = (name: string, labels: Record<string, string> = {}) => value(after, name, labels) - value(before, name, labels);
    expect(delta('cloudbackup_http_requests_total', { method: 'PUT', route: '/files/*', status: '201' })).toBe(2);
    expect(delta('cloudbackup_http_requests_total', { method: 'GET', route: '/files/*', status: '200' })).toBe(1);
    expect(delta('cloudbackup_http_requests_total', { method: 'GET', route: '/files/*', status: '404' })).toBe(1);
    expect(delta('cloudbackup_http_requests_total', { method: 'GET', route: 'unmatched', status: '404' })).toBe(1);
    // No series is labelled with a raw path: one per route, however many files.
    expect(after.filter((x) => Object.values(x.labels).some((v) => v.includes('alice')))).toEqual([]);
    // Wire bytes: the bodies plus headers.
    const putIn = delta('cloudbackup_http_received_bytes_total', { method: 'PUT', route: '/files/*' });
    expect(putIn).toBeGreaterThan(a.length + b.length);
    expect(putIn).toBeLessThan(a.length + b.length + 4096);
    const getOut = delta('cloudbackup_http_sent_bytes_total', { method: 'GET', route: '/files/*' });
    expect(getOut).toBeGreaterThan(a.length);
    expect(getOut).toBeLessThan(a.length + 4096);
    expect(delta('cloudbackup_upload_duration_seconds_count', { route: '/files/*' })).toBe(2);
    expect(delta('cloudbackup_download_duration_seconds_count', { route: '/files/*' })).toBe(1);
    expect(value(after, 'cloudbackup_upload_duration_seconds_bucket', { route: '/files/*', le: '+Inf' })).toBe(value(after, 'cloudbackup_upload_duration_seconds_count', { route: '/files/*' }));
  });

  it('reads catalog sizes at scrape time and counts the sweeper work', async () => {
    const text = Buffer.from('the same compressible line, over and over\n'.repeat(5000));
    expect((await fetch(`${s.url}/files/bob/logs/app.log`, { method: 'PUT', headers: s.auth('bob'), body: text })).status).toBe(201);
    const stats = (await (await fetch(`${s.url}/api/stats`, { headers: s.auth('root') })).json()) as { files: number; blobs: number; logicalBytes: number; storedBytes: number };
    let m = await scrape();
    expect(value(m, 'cloudbackup_catalog_files')).toBe(stats.files);
    expect(value(m, 'cloudbackup_catalog_blobs')).toBe(stats.blobs);
    expect(value(m, 'cloudbackup_catalog_logical_bytes')).toBe(stats.logicalBytes);
    expect(value(m, 'cloudbackup_catalog_stored_bytes')).toBe(stats.storedBytes);
    const sweepsBefore = value(m, 'cloudbackup_sweeps_total');

    // Hot time 0: the sweep compresses the text (the random files do not shrink).
    const report = await s.server.sweeper.sweepOnce();
    expect(report.compressed).toBe(1);
    m = await scrape();
    expect(value(m, 'cloudbackup_sweeps_total')).toBe(sweepsBefore + 1);
    expect(value(m, 'cloudbackup_sweeper_blobs_total', { outcome: 'compressed' })).toBe(1);
    expect(value(m, 'cloudbackup_sweeper_blobs_total', { outcome: 'incompressible' })).toBe(report.incompressible);
    expect(value(m, 'cloudbackup_sweeper_compressed_plain_bytes_total')).toBe(text.length);
    expect(value(m, 'cloudbackup_catalog_blobs_by_state', { state: 'cold' })).toBe(1);
    expect(value(m, 'cloudbackup_catalog_stored_bytes')).toBeLessThan(stats.storedBytes);

    // Reading the cold file promotes it back.
    const got = await fetch(`${s.url}/files/bob/logs/app.log`, { headers: s.auth('bob') });
    expect((await sha256Body(got)).size).toBe(text.length);
    await waitFor('a promotion', async () => value(await scrape(), 'cloudbackup_promotions_total') === 1);
  });

  it("shows the blob log's segments waiting for a checkpoint, back to none after small uploads, and no failed checkpoint", async () => {
    const names = (await scrape()).map((x) => x.name);
    expect(names).toContain('cloudbackup_blob_log_segments');
    expect(names).toContain('cloudbackup_blob_log_checkpoint_failures');
    for (let i = 0; i < 3; i++) {
      expect((await fetch(`${s.url}/files/bob/small/${i}.txt`, { method: 'PUT', headers: s.auth('bob'), body: `small ${i}` })).status).toBe(201);
    }
    await waitFor('the checkpoint', async () => value(await scrape(), 'cloudbackup_blob_log_segments') === 0);
    expect(value(await scrape(), 'cloudbackup_blob_log_checkpoint_failures')).toBe(0);
  });

  it("shows each client's age of its last successful backup (failed passes do not count)", async () => {
    const pass = (ago: number, failed: number) => {
      const at = Date.now() - ago;
      return s.server.catalog.recordPass({ namespace: 'bob', root: 'bob/docs', host: 'h', folder: '/f', startedAt: at, endedAt: at, receivedAt: at, scanned: 1, uploaded: 1, failed, deleted: 0, bytes: 1, stopped: false });
    };
    await pass(7_200_000, 0);
    await pass(60_000, 3);
    const m = await scrape();
    const age = value(m, 'cloudbackup_client_last_backup_age_seconds', { client: 'bob' });
    expect(age).toBeGreaterThanOrEqual(7200);
    expect(age).toBeLessThan(7200 + 600);
    // alice never reported a pass: no series.
    expect(m.filter((x) => x.name === 'cloudbackup_client_last_backup_age_seconds' && x.labels.client === 'alice')).toEqual([]);
  });

  it('shows the connections open now, the most open at once, and refusals', async () => {
    const before = await scrape();
    const port = Number(new URL(s.url).port);
    const held: Socket[] = await Promise.all(
      Array.from({ length: 5 }, () => new Promise<Socket>((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => resolve(c));
        c.once('error', reject);
      })),
    );
    // The scrape's own connection is open too.
    await waitFor('5 more open connections', async () => value(await scrape(), 'cloudbackup_http_connections_open') >= value(before, 'cloudbackup_http_connections_open') + 5);
    const during = await scrape();
    expect(value(during, 'cloudbackup_http_connections_peak')).toBeGreaterThanOrEqual(value(during, 'cloudbackup_http_connections_open'));
    for (const c of held) c.destroy();
    await waitFor('the held connections to close', async () => value(await scrape(), 'cloudbackup_http_connections_open') <= value(during, 'cloudbackup_http_connections_open') - 5);
    const after = await scrape();
    // The peak stays where it was.
    expect(value(after, 'cloudbackup_http_connections_peak')).toBeGreaterThanOrEqual(value(during, 'cloudbackup_http_connections_open'));
    expect(value(after, 'cloudbackup_http_connections_refused')).toBe(0);
  });
});
