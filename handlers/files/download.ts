import type { Context } from 'hono';
import type { ByteRange } from '../../storage/blobs/blob-store.js';
import type { FileEntry } from '../../storage/catalog/catalog.js';
import { CorruptBlobError, RangeNotSatisfiableError } from '../../core/errors.js';
import { evaluateConditions, ifRangeAllows, type Validators } from '../http/conditional.js';
import { contentDisposition } from '../http/content-disposition.js';
import { contentTypeFor } from '../http/content-type.js';
import type { AppDeps } from '../../core/deps.js';
import { httpDate } from '../http/http-date.js';
import { parseRange } from '../http/range.js';

export function validatorsOf(entry: FileEntry): Validators {
  return { etag: `"${entry.sha256}"`, lastModified: Math.floor(entry.uploadedAt / 1000) };
}

/**
 * Serves a stored file per RFC 9110: validators, conditional requests, single and multiple
 * ranges, HEAD. The body streams from the blob store (plain or cold alike).
 */
export async function serveFile(c: Context, deps: AppDeps, entry: FileEntry): Promise<Response> {
  const v = validatorsOf(entry);
  const head = c.req.method === 'HEAD';
  const headers = new Headers({
    'Accept-Ranges': 'bytes',
    ETag: v.etag,
    'Last-Modified': httpDate(entry.uploadedAt),
    'Cache-Control': 'private, no-cache',
    'X-Content-Type-Options': 'nosniff',
    // A stored HTML file must never run script in our origin.
    'Content-Security-Policy': "sandbox; default-src 'none'",
  });
  const header = (name: string): string | undefined => c.req.header(name);

  const outcome = evaluateConditions(header, v);
  if (outcome === 'not-modified') return new Response(null, { status: 304, headers });
  if (outcome === 'precondition-failed') {
    headers.set('Content-Type', 'application/json');
    return new Response(JSON.stringify({ error: 'precondition failed' }), { status: 412, headers });
  }

  const type = contentTypeFor(entry.name);
  headers.set('Content-Disposition', contentDisposition(entry.name));
  const where = { state: entry.state, codec: entry.codec };
  const parsed = ifRangeAllows(header('if-range'), v) ? parseRange(header('range'), entry.size) : { kind: 'none' as const };

  if (parsed.kind === 'unsatisfiable') throw new RangeNotSatisfiableError(entry.size);

  if (parsed.kind === 'none') {
    headers.set('Content-Type', type);
    headers.set('Content-Length', String(entry.size));
    if (head) return new Response(null, { status: 200, headers });
    const body = entry.size === 0 ? null : await deps.blobs.read(entry.sha256, undefined, where, { verify: true });
    deps.reads?.recordRead(entry);
    return new Response(body && quarantineOnCorrupt(deps, entry.path, body), { status: 200, headers });
  }

  const ranges = parsed.ranges;
  if (ranges.length === 1) {
    const r = ranges[0] as ByteRange;
    headers.set('Content-Type', type);
    headers.set('Content-Range', `bytes ${r.start}-${r.end}/${entry.size}`);
    headers.set('Content-Length', String(r.end - r.start + 1));
    if (head) return new Response(null, { status: 206, headers });
    const body = await deps.blobs.read(entry.sha256, r, where);
    deps.reads?.recordRead(entry);
    return new Response(body, { status: 206, headers });
  }

  const boundary = `cb-${entry.sha256.slice(0, 16)}-${Math.random().toString(36).slice(2, 10)}`;
  const enc = new TextEncoder();
  const partHeads = ranges.map((r, i) =>
    enc.encode(
      `${i === 0 ? '' : '\r\n'}--${boundary}\r\nContent-Type: ${type}\r\nContent-Range: bytes ${r.start}-${r.end}/${entry.size}\r\n\r\n`,
    ),
  );
  const tail = enc.encode(`\r\n--${boundary}--\r\n`);
  let length = tail.byteLength;
  ranges.forEach((r, i) => {
    length += (partHeads[i] as Uint8Array).byteLength + (r.end - r.start + 1);
  });
  headers.set('Content-Type', `multipart/byteranges; boundary=${boundary}`);
  headers.set('Content-Length', String(length));
  if (head) return new Response(null, { status: 206, headers });

  let index = 0;
  let current: ReadableStreamDefaultReader<Uint8Array> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      for (;;) {
        if (current) {
          const { done, value } = await current.read();
          if (!done) {
            controller.enqueue(value);
            return;
          }
          current = undefined;
          index++;
        }
        if (index >= ranges.length) {
          controller.enqueue(tail);
          controller.close();
          return;
        }
        controller.enqueue(partHeads[index] as Uint8Array);
        current = (await deps.blobs.read(entry.sha256, ranges[index], where)).getReader();
        return;
      }
    },
    async cancel(reason) {
      await current?.cancel(reason);
    },
  });
  deps.reads?.recordRead(entry);
  return new Response(body, { status: 206, headers });
}

/**
 * Passes a verified body through; when the store finds the bytes corrupt (the stream then fails
 * before its end, so the client sees a broken transfer), the failing form is quarantined under
 * the blob's lock and the event logged. The next upload of the same content stores it anew.
 */
function quarantineOnCorrupt(deps: AppDeps, path: string, body: ReadableStream<Uint8Array>): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const log = deps.log ?? console.log;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        controller.error(err);
        if (err instanceof CorruptBlobError && err.where) {
          const { sha256, where } = err;
          const form = where.state === 'hot' ? 'plain' : where.codec;
          log(`integrity: ${path}: stored ${form} form of blob ${sha256} does not match its hash; download aborted`);
          void deps.locks
            .run(sha256, () => deps.blobs.quarantine(sha256, where))
            .then((moved) => moved && log(`integrity: blob ${sha256}: ${form} form quarantined; the next upload of this content repairs it`))
            .catch((e: unknown) => log(`integrity: blob ${sha256}: quarantine failed: ${(e as Error).message}`));
        }
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}
