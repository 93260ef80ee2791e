import { finished, type Readable } from 'node:stream';

/** Bytes read ahead of the consumer: enough to keep a socket or a disk busy between reads. */
export const DEFAULT_READ_AHEAD = 1 << 20;

export interface WebFromNodeOptions {
  /** Cancelling leaves the source open and paused (a request body the server still drains). */
  keepSourceOnCancel?: boolean;
  /** Aborting it stops feeding the stream (which errors) and pauses the source, leaving it open. */
  detach?: AbortSignal;
}

/**
 * A Node Readable as a Web ReadableStream, without the per-chunk copy and the pause after every
 * chunk of `Readable.toWeb` (which copies each Buffer and, with its 16-256 KiB high-water mark,
 * stops the source after nearly every chunk). Chunks are passed on as they are: a Node stream
 * hands each chunk over to its consumer, and no consumer of ours mutates or transfers one.
 *
 * Nothing is read before the first read (so an unread request body stays with the HTTP server,
 * which drains it); from then on the source runs until `readAhead` bytes wait unread.
 * Cancelling destroys the source, as `Readable.toWeb` does, unless `keepSourceOnCancel`.
 */
export function webFromNode(src: Readable, readAhead = DEFAULT_READ_AHEAD, options: WebFromNodeOptions = {}): ReadableStream<Uint8Array> {
  let attached = false;
  let cancelled = false;
  const onData = (chunk: Buffer | string) => {
    if (!cancelled) feed?.(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  };
  let feed: ((chunk: Buffer) => void) | undefined;
  const stop = () => {
    cancelled = true;
    src.off('data', onData);
    src.pause();
  };
  return new ReadableStream<Uint8Array>(
    {
      start(controller) {
        options.detach?.addEventListener('abort', () => {
          if (cancelled) return;
          stop();
          controller.error(new Error('request body abandoned'));
        }, { once: true });
      },
      pull(controller) {
        if (cancelled) return;
        if (!attached) {
          attached = true;
          feed = (chunk) => {
            controller.enqueue(chunk);
            // With a high-water mark of 0, desiredSize is minus the bytes queued.
            if ((controller.desiredSize ?? 0) <= -readAhead) src.pause();
          };
          src.on('data', onData);
          finished(src, (err) => {
            src.off('data', onData);
            if (cancelled) return;
            cancelled = true;
            if (err) controller.error(err);
            else controller.close();
          });
        }
        src.resume();
      },
      cancel(reason) {
        if (options.keepSourceOnCancel) stop();
        else {
          cancelled = true;
          src.destroy(reason instanceof Error ? reason : undefined);
        }
      },
    },
    // High-water mark 0: pull() runs only when a reader waits, never at creation.
    { highWaterMark: 0, size: (chunk) => chunk.byteLength },
  );
}
