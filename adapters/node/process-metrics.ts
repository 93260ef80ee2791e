import { createRequire } from 'node:module';
import type * as Prom from 'prom-client';

/**
 * prom-client, class by class: its index also loads the Pushgateway (http, https), the cluster
 * aggregator, Summary (with tdigest) and, through the CPU collector, @opentelemetry/api (some 50
 * modules), none of which the server uses; prom-client is pinned, so these paths are stable.
 */
const require = createRequire(import.meta.url);
export const Counter = require('prom-client/lib/counter.js') as typeof Prom.Counter;
export const Gauge = require('prom-client/lib/gauge.js') as typeof Prom.Gauge;
export const Histogram = require('prom-client/lib/histogram.js') as typeof Prom.Histogram;
export const Registry = require('prom-client/lib/registry.js') as typeof Prom.Registry;
export type Counter<T extends string = string> = Prom.Counter<T>;
export type Gauge<T extends string = string> = Prom.Gauge<T>;
export type Histogram<T extends string = string> = Prom.Histogram<T>;
export type Registry = Prom.Registry;

type Collector = (register: Prom.Registry, config: { eventLoopMonitoringPrecision: number }) => void;

/** prom-client's default collectors but the CPU one, in the order collectDefaultMetrics registers them. */
const COLLECTORS = [
  'processStartTime',
  'osMemoryHeap',
  'processOpenFileDescriptors',
  'processMaxFileDescriptors',
  'eventLoopLag',
  ...(typeof process.getActiveResourcesInfo === 'function' ? ['processResources'] : []),
  'processHandles',
  'processRequests',
  'heapSizeAndUsed',
  'heapSpacesSizeAndUsed',
  'version',
  'gc',
];

/**
 * The metrics of prom-client's collectDefaultMetrics(), the same names, help and types. The CPU
 * counters are ours: prom-client's module loads @opentelemetry/api for exemplars (off here),
 * and counts from its registration; these count from the process start, as their name says.
 */
export function registerProcessMetrics(register: Prom.Registry): void {
  const registers = [register];
  let last = { user: 0, system: 0 };
  const user = new Counter({
    name: 'process_cpu_user_seconds_total',
    help: 'Total user CPU time spent in seconds.',
    registers,
    // One collect sets all three, as prom-client's does.
    collect() {
      const now = process.cpuUsage();
      const du = (now.user - last.user) / 1e6;
      const ds = (now.system - last.system) / 1e6;
      last = now;
      user.inc(du);
      system.inc(ds);
      total.inc(du + ds);
    },
  });
  const system = new Counter({ name: 'process_cpu_system_seconds_total', help: 'Total system CPU time spent in seconds.', registers });
  const total = new Counter({ name: 'process_cpu_seconds_total', help: 'Total user and system CPU time spent in seconds.', registers });
  for (const name of COLLECTORS) (require(`prom-client/lib/metrics/${name}.js`) as Collector)(register, { eventLoopMonitoringPrecision: 10 });
}
