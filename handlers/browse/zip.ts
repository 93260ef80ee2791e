import { makeZip } from 'client-zip';
import type { FileEntry } from '../../storage/catalog/catalog.js';
import { NotFoundError } from '../../core/errors.js';
import { contentDisposition } from '../http/content-disposition.js';
import type { AppDeps } from '../../core/deps.js';
import { zipEntryName } from './zip-names.js';

/** Catalog rows fetched per query while zipping: bounded memory whatever the folder holds. */
export const ZIP_PAGE = 200;

interface ZipEntry {
  name: string;
  lastModified: Date;
  size: number;
  input: Uint8Array | AsyncIterable<Uint8Array>;
}

/**
 * Name of the archive for a folder: its last segment + '.zip'; as of a moment, with that moment
 * in UTC (no ':' so that Windows can save it): 'docs-2024-05-01T100000Z.zip'.
 */
export function zipName(dir: string, at?: number): string {
  const name = dir.slice(dir.lastIndexOf('/') + 1);
  if (at === undefined) return `${name}.zip`;
  return `${name}-${new Date(at).toISOString().replace(/\.\d{3}Z$/, 'Z').replace(/:/g, '')}.zip`;
}

export function zipHeaders(dir: string, at?: number): Record<string, string> {
  return {
    'Content-Type': 'application/zip',
    'Content-Disposition': contentDisposition(zipName(dir, at)),
    'X-Content-Type-Options': 'nosniff',
    'Cache-Control': 'no-store',
  };
}

/** Whether `dir` holds a file now, or held one at `at`. */
export async function folderHeld(deps: AppDeps, dir: string, at: number | undefined): Promise<boolean> {
  if (at === undefined) return deps.catalog.dirExists(dir);
  return (await deps.catalog.listFiles({ prefix: `${dir}/`, limit: 1, at })).length > 0;
}

/**
 * GET /zip/<dir>/[?at=]: every file below `dir` (now, or as it was at `at`) as one ZIP (zip64
 * when needed), streamed: the catalog is read a page at a time and each blob is opened only
 * when the archive reaches it, so nothing is built in memory or on disk. Entry names are
 * relative to `dir`; a file that has a folder of the same name beside it is renamed
 * `name (file)` (zip-names.ts). The caller checked access and that the folder exists.
 */
export function zipResponse(deps: AppDeps, dir: string, log: (line: string) => void, at?: number): Response {
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

  // A file whose name is also a folder's gets another entry name (see zip-names.ts); as of a
  // moment, in the tree of that moment.
  const taken =
    at === undefined
      ? {
          isFolder: (path: string) => deps.catalog.dirExists(path),
          isFile: async (path: string) => (await deps.catalog.getFile(path)) !== undefined,
        }
      : {
          isFolder: (path: string) => folderHeld(deps, path, at),
          // The path itself sorts first among the paths it prefixes.
          isFile: async (path: string) => (await deps.catalog.listFiles({ prefix: path, limit: 1, at }))[0]?.path === path,
        };

  async function open(f: FileEntry): Promise<ZipEntry | undefined> {
    let entry: FileEntry | undefined = f;
    let stream: ReadableStream<Uint8Array> | undefined;
    if (f.size > 0) {
      try {
        stream = await deps.blobs.read(f.sha256, undefined, { state: f.state, codec: f.codec });
      } catch (err) {
        if (!(err instanceof NotFoundError)) throw err;
        // Now: deleted or replaced since the page was listed, so skip it or take the new content.
        // As of a moment: the version's blob is only gone when retention removed the version.
        entry = at === undefined ? await deps.catalog.getFile(f.path) : await deps.catalog.getVersion(f.path, f.version);
        if (!entry) return undefined;
        // The same content in the same form is really missing; in another form (hot/cold
        // moved it meanwhile) it can be read again.
        if (entry.sha256 === f.sha256 && entry.state === f.state && entry.codec === f.codec) throw err;
        return open(entry);
      }
    }
    deps.reads?.recordRead(entry);
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
      const page = await deps.catalog.listFiles({ prefix: `${dir}/`, limit: ZIP_PAGE, after, at });
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
  return new Response(body, { status: 200, headers: zipHeaders(dir, at) });
}
