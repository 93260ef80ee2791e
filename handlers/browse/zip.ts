import { makeZip } from 'client-zip';
import type { FileEntry } from '../../storage/catalog.js';
import { NotFoundError } from '../../storage/errors.js';
import { contentDisposition } from '../content-disposition.js';
import type { AppDeps } from '../deps.js';
import { zipEntryName } from './zip-names.js';

/** Catalog rows fetched per query while zipping: bounded memory whatever the folder holds. */
export const ZIP_PAGE = 200;

interface ZipEntry {
  name: string;
  lastModified: Date;
  size: number;
  input: Uint8Array | AsyncIterable<Uint8Array>;
}

/** Name of the archive for a folder: its last segment + '.zip'. */
export function zipName(dir: string): string {
  return `${dir.slice(dir.lastIndexOf('/') + 1)}.zip`;
}

export function zipHeaders(dir: string): Record<string, string> {
  return {
    'Content-Type': 'application/zip',
    'Content-Disposition': contentDisposition(zipName(dir)),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  };
}

/**
 * GET /zip/<dir>/: every file below `dir` as one ZIP (zip64 when needed), streamed: the catalog
 * is read a page at a time and each blob is opened only when the archive reaches it, so nothing
 * is built in memory or on disk. Entry names are relative to `dir`; a file that has a folder of
 * the same name beside it is renamed `name (file)` (zip-names.ts). The caller checked access and
 * that the folder exists.
 */
export function zipResponse(deps: AppDeps, dir: string, log: (line: string) => void): Response {
  // The reader of the blob being zipped, so that a cancelled download closes it at once
  // (client-zip does not cancel its inputs).
  let current: ReadableStreamDefaultReader<Uint8Array> | undefined;

  async function* chunksOf(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
    const reader = stream.getReader();
    current = reader;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) return;
        yield value;
      }
    } finally {
      current = undefined;
      reader.releaseLock();
    }
  }

  // A file whose name is also a folder's gets another entry name (see zip-names.ts).
  const taken = {
    isFolder: (path: string) => deps.catalog.dirExists(path),
    isFile: async (path: string) => (await deps.catalog.getFile(path)) !== undefined,
  };

  async function open(f: FileEntry): Promise<ZipEntry | undefined> {
    let entry: FileEntry | undefined = f;
    let stream: ReadableStream<Uint8Array> | undefined;
    if (f.size > 0) {
      try {
        stream = await deps.blobs.read(f.sha256, undefined, { state: f.state, codec: f.codec });
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        // Deleted or replaced since the page was listed: skip it or take the new content.
        entry = await deps.catalog.getFile(f.path);
        if (!entry) return undefined;
        if (entry.sha256 === f.sha256) throw err;
        return open(entry);
      }
    }
    deps.reads?.recordRead(entry.sha256, entry.state);
    return {
      name: await zipEntryName(entry.path, dir, taken),
      lastModified: new Date(entry.mtime ?? entry.uploadedAt),
      size: entry.size,
      input: stream ? chunksOf(stream) : new Uint8Array(0),
    };
  }

  async function* entries(): AsyncGenerator<ZipEntry> {
    let after: string | undefined;
    for (;;) {
      const page = await deps.catalog.listFiles({ prefix: `${dir}/`, limit: ZIP_PAGE, after });
      for (const f of page) {
        const e = await open(f);
        if (e) yield e;
      }
      if (page.length < ZIP_PAGE) return;
      after = (page[page.length - 1] as FileEntry).path;
    }
  }

  const zip = makeZip(entries()).getReader();
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        const { done, value } = await zip.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (err) {
        log(`zip ${dir}: ${(err as Error)?.message ?? String(err)}`);
        controller.error(err);
      }
    },
    async cancel(reason) {
      await current?.cancel(reason).catch(() => {});
      await zip.cancel(reason).catch(() => {});
    },
  });
  return new Response(body, { status: 200, headers: zipHeaders(dir) });
}
