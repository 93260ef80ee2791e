import { Hono } from 'hono';
import { DigestMismatchError, NotFoundError, TooLargeError, BadRequestError, PreconditionFailedError, QuotaExceededError } from '../../core/errors.js';
import { assertRead, assertWrite } from '../auth.js';
import { commitFile } from '../../core/commit.js';
import { fileJson, viewerOf } from './file-view.js';
import type { AppDeps } from '../../core/deps.js';
import { evaluateWriteConditions, hasWriteConditions } from '../http/conditional.js';
import { serveFile, validatorsOf } from './download.js';
import { parseContentDigest, parseContentLength, parseMtime } from '../http/headers.js';
import { parseFilePath, type FilePath } from '../../core/path.js';
import { assertReserveHeld, freeingSpace } from '../http/reserve.js';
import { SMALL_BODY_BYTES } from '../../core/sizes.js';
import type { BodySource } from '../../storage/blobs/blob-store.js';

/** The still-encoded path after `prefix` in the request URL (decoded exactly once later). */
export function rawPathAfter(url: string, prefix: string): string {
  const pathname = new URL(url).pathname;
  return pathname.startsWith(prefix) ? pathname.slice(prefix.length) : '';
}

function filePathOf(url: string): FilePath {
  return parseFilePath(rawPathAfter(url, '/files/'));
}

/**
 * A body that cannot fit the quota is refused before it is read; the catalog checks again at
 * the commit. Not when the path holds a file of that size: it may be the same content again,
 * which adds no version, so the commit decides.
 */
async function refuseOverQuota(deps: AppDeps, fp: FilePath, declared: number): Promise<void> {
  const { quotaBytes, usedBytes } = await deps.catalog.quotaUsage(fp.namespace);
  if (quotaBytes === null || usedBytes + declared <= quotaBytes) return;
  if ((await deps.catalog.getFile(fp.path))?.size === declared) return;
  throw new QuotaExceededError(fp.namespace, usedBytes, quotaBytes, declared);
}

/**
 * The body of a PUT. One under SMALL_BODY_BYTES with a Content-Length is read whole first: on
 * @hono/node-server `arrayBuffer()` reads the socket directly, where asking for `body` builds a
 * whole Web Request and a stream adapter around it (~0.3 ms per request on a small box).
 */
async function putBody(req: Request, declared: number | undefined): Promise<BodySource | null> {
  if (declared === undefined || declared >= SMALL_BODY_BYTES) return req.body;
  const bytes = new Uint8Array(await req.arrayBuffer());
  if (bytes.byteLength === 0) return null;
  // One chunk, as a plain async iterable: a ReadableStream around it cost more than its write.
  return {
    async *[Symbol.asyncIterator]() {
      yield bytes;
    },
  };
}

/** PUT / GET / HEAD / DELETE /files/<namespace>/<path>. */
export function fileRoutes(deps: AppDeps): Hono {
  const app = new Hono();

  app.on(['GET', 'HEAD'], '/*', async (c) => {
    const fp = filePathOf(c.req.url);
    assertRead(c.get('principal'), fp.namespace);
    // ?version= serves a past version with the same download semantics (its ETag is its SHA-256).
    const version = c.req.query('version');
    const entry = version === undefined ? await deps.catalog.getFile(fp.path) : await deps.catalog.getVersion(fp.path, version);
    if (!entry) throw new NotFoundError(version === undefined ? `no file ${fp.path}` : `no version ${version} of ${fp.path}`);
    return serveFile(c, deps, entry);
  });

  app.put('/*', async (c) => {
    const fp = filePathOf(c.req.url);
    assertWrite(c.get('principal'), fp.namespace);
    const declared = parseContentLength(c.req.header('content-length'));
    const max = deps.config.maxUploadBytes;
    if (declared !== undefined && declared > max) {
      throw new TooLargeError(`upload of ${declared} bytes exceeds the maximum of ${max} bytes`);
    }
    const digest = parseContentDigest(c.req.header('content-digest'));
    const mtime = parseMtime(c.req.header('x-file-mtime'));
    // If-Match / If-None-Match (lost-update protection): checked before the body is read, and
    // again right before the commit, under a per-path lock that conditional writers share.
    const conditional = hasWriteConditions((n) => c.req.header(n));
    const checkPreconditions = async () => {
      const current = await deps.catalog.getFile(fp.path);
      if (evaluateWriteConditions((n) => c.req.header(n), current && validatorsOf(current)) === 'precondition-failed') {
        throw new PreconditionFailedError(`precondition failed: ${current ? `the file's ETag is "${current.sha256}"` : 'the file does not exist'}; nothing was stored`);
      }
    };
    if (conditional) await checkPreconditions();
    if (declared !== undefined) await refuseOverQuota(deps, fp, declared);
    await assertReserveHeld(deps);
    // deferSync: the commit makes the temp durable before it is renamed into place; a small body
    // goes to the disk store's blob log, whose one sync serves every PUT that arrives meanwhile.
    const temp = await deps.blobs.writeTemp(await putBody(c.req.raw, declared), { maxBytes: max, signal: c.req.raw.signal, deferSync: true });
    if (declared !== undefined && temp.size !== declared) {
      await deps.blobs.discard(temp);
      throw new BadRequestError(`body ended after ${temp.size} of ${declared} bytes: nothing was stored`);
    }
    if (digest !== undefined && digest !== temp.sha256) {
      await deps.blobs.discard(temp);
      throw new DigestMismatchError();
    }
    const commit = () => commitFile(deps, { path: fp.path, temp, mtime });
    const result = !conditional
      ? await commit()
      : await deps.locks.run(`path:${fp.path}`, async () => {
          await checkPreconditions().catch(async (err: unknown) => {
            await deps.blobs.discard(temp);
            throw err;
          });
          return commit();
        });
    c.header('ETag', `"${result.entry.sha256}"`);
    c.header('Location', new URL(c.req.url).pathname);
    return c.json(fileJson(viewerOf(c.get('principal'), deps), result.entry), result.created ? 201 : 200);
  });

  app.delete('/*', async (c) => {
    const fp = filePathOf(c.req.url);
    assertWrite(c.get('principal'), fp.namespace);
    // A deletion is a new version (a tombstone): the history keeps the content. On a full disk
    // even that row needs room: the space reserve makes it.
    if (!(await freeingSpace(deps, () => deps.catalog.deleteFile(fp.path, deps.clock())))) throw new NotFoundError(`no file ${fp.path}`);
    return c.body(null, 204);
  });

  return app;
}
