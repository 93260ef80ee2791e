import type { IncomingMessage } from 'node:http';

export interface DrainLimits {
  /** Most bytes read and thrown away after the answer is decided. */
  bytes: number;
  /** Longest wait for the rest of the body. */
  ms: number;
}

/**
 * Enough for the rest of a chunk or a disk-full upload on a LAN, short enough that a client
 * that keeps sending garbage does not hold the server up for long.
 */
export const DRAIN_LIMITS: DrainLimits = { bytes: 64 * 1024 * 1024, ms: 10_000 };

/**
 * Whether reading the rest of a body could end it within `limits` (pure, for tests): not when
 * nothing was read yet and the declared length alone is over the byte limit.
 */
export function worthDraining(contentLength: string | undefined, anythingRead: boolean, limits: DrainLimits): boolean {
  if (anythingRead || contentLength === undefined || !/^\d+$/.test(contentLength)) return true;
  return Number(contentLength) <= limits.bytes;
}

/**
 * Reads and discards the rest of a request body, up to `limits`; true when it ended. An answer
 * sent while the client is still sending would otherwise be followed by a close with unread
 * bytes, which makes the kernel reset the connection, and a reset can destroy the answer
 * before the client reads it.
 */
export function discardRest(incoming: IncomingMessage, limits: DrainLimits = DRAIN_LIMITS): Promise<boolean> {
  if (incoming.complete) return Promise.resolve(true);
  if (incoming.destroyed) return Promise.resolve(false);
  const declared = incoming.headers['content-length'];
  if (!worthDraining(declared, incoming.readableDidRead, limits)) return Promise.resolve(false);
  return new Promise((resolve) => {
    let seen = 0;
    const done = () => {
      clearTimeout(timer);
      incoming.off('data', onData);
      incoming.off('end', done);
      incoming.off('close', done);
      incoming.off('error', done);
      if (!incoming.complete) incoming.pause();
      resolve(incoming.complete);
    };
    const onData = (chunk: Buffer) => {
      seen += chunk.byteLength;
      if (seen > limits.bytes) done();
    };
    const timer = setTimeout(done, limits.ms);
    incoming.on('data', onData);
    incoming.once('end', done);
    incoming.once('close', done);
    incoming.once('error', done);
    incoming.resume();
  });
}
