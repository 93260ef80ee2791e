import type { Nginx } from './nginx.js';
import type { BenchRow } from './table.js';

/** How big each measurement is; `--quick` picks the small set. */
export interface Sizes {
  /** The large file of rows 1-2. */
  bigBytes: number;
  /** Repetitions of each large transfer; the median is reported. */
  reps: number;
  smallCount: number;
  smallSize: number;
  /** Parallel transfers of our client and of rclone. */
  transfers: number;
  concurrency: number[];
  loadMs: number;
  memClients: number;
  memBytes: number;
  listFiles: number;
  listRequests: number;
  rescanFiles: number;
  corpusBytes: number;
  /** Files PUT one request each by the --durable rows (rows/durable.ts). */
  durableFiles: number;
}

export const FULL: Sizes = {
  bigBytes: 2 ** 30,
  reps: 3,
  smallCount: 10_000,
  smallSize: 4096,
  transfers: 8,
  concurrency: [20, 200, 1000],
  loadMs: 5_000,
  memClients: 20,
  memBytes: 200e6,
  listFiles: 100_000,
  listRequests: 200,
  rescanFiles: 100_000,
  corpusBytes: 256 * 2 ** 20,
  durableFiles: 2_000,
};

export const QUICK: Sizes = {
  bigBytes: 64 * 2 ** 20,
  reps: 1,
  smallCount: 500,
  smallSize: 4096,
  transfers: 8,
  concurrency: [20, 200, 1000],
  loadMs: 1_000,
  memClients: 20,
  memBytes: 8e6,
  listFiles: 5_000,
  listRequests: 30,
  rescanFiles: 5_000,
  corpusBytes: 16 * 2 ** 20,
  durableFiles: 300,
};

export interface BenchContext {
  /** The run's temp dir, removed at the end. */
  tmp: string;
  sizes: Sizes;
  quick: boolean;
  /** The reference server, or null when nginx is not installed. */
  nginx: Nginx | null;
  hasRclone: boolean;
  log(line: string): void;
}

export type RowGroup = (ctx: BenchContext) => Promise<BenchRow[]>;

export function sizeLabel(bytes: number): string {
  if (bytes >= 2 ** 30 && bytes % 2 ** 30 === 0) return `${bytes / 2 ** 30} GiB`;
  if (bytes >= 2 ** 20 && bytes % 2 ** 20 === 0) return `${bytes / 2 ** 20} MiB`;
  if (bytes >= 1e6) return `${Math.round(bytes / 1e6)} MB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} B`;
}
