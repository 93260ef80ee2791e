import type { MetricsExposition } from '../../core/deps.js';
import type { Catalog } from '../../storage/catalog/catalog.js';
import type { SweepReport } from '../../storage/hot-cold/sweeper.js';
import { Counter, Gauge, Histogram, registerProcessMetrics, Registry } from './process-metrics.js';
import type { RequestRecord } from './request-measure.js';

export type Transfer = 'upload' | 'download';

/** Which requests the latency histograms time: file bodies in and out, not the small API calls. */
export function transferOf(method: string, route: string): Transfer | undefined {
  if ((method === 'PUT' && route === '/files/*') || (method === 'PATCH' && route === '/uploads/:id') || (method === 'POST' && route === '/api/batch')) return 'upload';
  if (method === 'GET' && (route === '/files/*' || route === '/zip/*')) return 'download';
  return undefined;
}

const CATALOG_SIZES = ['files', 'blobs', 'logicalBytes', 'blobBytes', 'storedBytes'] as const;
type CatalogSize = (typeof CATALOG_SIZES)[number];

/** From a 4 KiB file on the LAN to a multi-gigabyte one over a slow link. */
const TRANSFER_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 1800, 3600];

/**
 * The server's Prometheus metrics in a registry of its own (no global state): requests by
 * route pattern and status, wire bytes, transfer latencies, sweeper work, and catalog sizes
 * read from the catalog when scraped, never counted per request.
 */
export class PrometheusMetrics implements MetricsExposition {
  readonly registry = new Registry();
  readonly #catalog: Catalog;
  readonly #clock: () => number;
  readonly #requests: Counter<'method' | 'route' | 'status'>;
  readonly #bytesIn: Counter<'method' | 'route'>;
  readonly #bytesOut: Counter<'method' | 'route'>;
  readonly #transfers: Record<Transfer, Histogram<'route'>>;
  readonly #sweeps: Counter;
  readonly #swept: Counter<'outcome'>;
  readonly #sweptPlain: Counter;
  readonly #sweptStored: Counter;
  readonly #promoted: Counter;
  readonly #catalogGauges: Record<CatalogSize, Gauge>;
  readonly #blobsByState: Gauge<'state'>;
  readonly #backupAge: Gauge<'client'>;
  #connections: (() => { open: number; peak: number; refused: number }) | undefined;

  constructor(options: { catalog: Catalog; processMetrics?: boolean; clock?: () => number; blobLog?: () => { segments: number; checkpointFailures: number } }) {
    this.#catalog = options.catalog;
    this.#clock = options.clock ?? Date.now;
    const registers = [this.registry];
    this.#requests = new Counter({ name: 'cloudbackup_http_requests_total', help: 'HTTP requests answered, by route pattern and status', labelNames: ['method', 'route', 'status'], registers });
    this.#bytesIn = new Counter({ name: 'cloudbackup_http_received_bytes_total', help: 'Bytes received on the wire (headers included), by route pattern', labelNames: ['method', 'route'], registers });
    this.#bytesOut = new Counter({ name: 'cloudbackup_http_sent_bytes_total', help: 'Bytes sent on the wire (headers included), by route pattern', labelNames: ['method', 'route'], registers });
    const histogram = (name: string, help: string) => new Histogram({ name, help, labelNames: ['route'], buckets: TRANSFER_BUCKETS, registers });
    this.#transfers = {
      upload: histogram('cloudbackup_upload_duration_seconds', 'Time of successful uploads (PUT /files, tus PATCH), first to last byte'),
      download: histogram('cloudbackup_download_duration_seconds', 'Time of complete successful downloads (GET /files, /zip), first to last byte'),
    };
    this.#sweeps = new Counter({ name: 'cloudbackup_sweeps_total', help: 'Sweeps of the hot/cold sweeper', registers });
    this.#swept = new Counter({ name: 'cloudbackup_sweeper_blobs_total', help: 'Blobs the sweeper handled, by outcome', labelNames: ['outcome'], registers });
    this.#sweptPlain = new Counter({ name: 'cloudbackup_sweeper_compressed_plain_bytes_total', help: 'Plain bytes of the blobs the sweeper compressed', registers });
    this.#sweptStored = new Counter({ name: 'cloudbackup_sweeper_compressed_stored_bytes_total', help: 'What the blobs the sweeper compressed take now', registers });
    this.#promoted = new Counter({ name: 'cloudbackup_promotions_total', help: 'Cold blobs made hot again after a read', registers });
    const gauge = (name: string, help: string) => new Gauge({ name, help, registers });
    this.#catalogGauges = {
      files: gauge('cloudbackup_catalog_files', 'Files in the catalog'),
      blobs: gauge('cloudbackup_catalog_blobs', 'Distinct contents (blobs)'),
      logicalBytes: gauge('cloudbackup_catalog_logical_bytes', 'Sum of the sizes of all files'),
      blobBytes: gauge('cloudbackup_catalog_blob_bytes', 'Sum of the plain sizes of distinct blobs'),
      storedBytes: gauge('cloudbackup_catalog_stored_bytes', 'What the blobs take in storage (compressed where cold)'),
    };
    this.#blobsByState = new Gauge({ name: 'cloudbackup_catalog_blobs_by_state', help: 'Blobs by hot/cold state', labelNames: ['state'], registers });
    this.#backupAge = new Gauge({ name: 'cloudbackup_client_last_backup_age_seconds', help: "Seconds since each client's newest successful backup pass was reported", labelNames: ['client'], registers });
    // Read from the server's connection counter when scraped (see watchConnections).
    const connections = () => this.#connections?.() ?? { open: 0, peak: 0, refused: 0 };
    new Gauge({ name: 'cloudbackup_http_connections_open', help: 'Client connections open now', registers, collect() { this.set(connections().open); } });
    new Gauge({ name: 'cloudbackup_http_connections_peak', help: 'The most client connections open at once since the server started', registers, collect() { this.set(connections().peak); } });
    new Gauge({ name: 'cloudbackup_http_connections_refused', help: 'Connections refused at --max-connections-per-address since the server started', registers, collect() { this.set(connections().refused); } });
    const blobLog = options.blobLog;
    if (blobLog) {
      new Gauge({ name: 'cloudbackup_blob_log_segments', help: 'Segments of the blob log waiting for their checkpoint', registers, collect() { this.set(blobLog().segments); } });
      new Gauge({ name: 'cloudbackup_blob_log_checkpoint_failures', help: 'Blob log checkpoints that could not flush since the server started', registers, collect() { this.set(blobLog().checkpointFailures); } });
    }
    if (options.processMetrics ?? true) registerProcessMetrics(this.registry);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Where the connection gauges are read from (the server's per-address connection counter). */
  watchConnections(totals: () => { open: number; peak: number; refused: number }): void {
    this.#connections = totals;
  }

  observeRequest(r: RequestRecord): void {
    this.#requests.inc({ method: r.method, route: r.route, status: String(r.status) });
    this.#bytesIn.inc({ method: r.method, route: r.route }, r.bytesIn);
    this.#bytesOut.inc({ method: r.method, route: r.route }, r.bytesOut);
    const transfer = transferOf(r.method, r.route);
    if (transfer && r.status >= 200 && r.status < 300 && !r.aborted) this.#transfers[transfer].observe({ route: r.route }, r.ms / 1000);
  }

  observeSweep(r: SweepReport): void {
    this.#sweeps.inc();
    for (const outcome of ['compressed', 'incompressible', 'skipped', 'failed'] as const) this.#swept.inc({ outcome }, r[outcome]);
    this.#sweptPlain.inc(r.plainBytes);
    this.#sweptStored.inc(r.storedBytes);
  }

  observePromotion(): void {
    this.#promoted.inc();
  }

  async render(): Promise<string> {
    const stats = await this.#catalog.stats();
    for (const key of CATALOG_SIZES) this.#catalogGauges[key].set(stats[key]);
    this.#blobsByState.set({ state: 'hot' }, stats.hot);
    this.#blobsByState.set({ state: 'cold' }, stats.cold);
    // Reset first: a client whose passes are gone (purged, renamed) leaves no stale series.
    this.#backupAge.reset();
    const now = this.#clock();
    for (const [client, at] of await this.#catalog.lastSuccessfulPasses()) this.#backupAge.set({ client }, Math.max(0, (now - at) / 1000));
    return this.registry.metrics();
  }
}
