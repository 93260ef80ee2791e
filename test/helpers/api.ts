import type { FileJson, Page } from '../../shared/wire.js';

export type Who = 'alice' | 'bob' | 'root';

/** What the typed API helper needs of a running server: its URL and the clients' credentials. */
export interface ApiTarget {
  url: string;
  auth(who: Who): Record<string, string>;
}

/**
 * One client's view of the HTTP API, for tests: every request carries its credentials, `path`
 * goes into /files/ as given (tests choose their own encoding, odd ones included), JSON answers
 * are typed by the wire contract. The one helper instead of a put/get pair per test file.
 */
export interface Api {
  put(path: string, body: BodyInit | null, headers?: Record<string, string>): Promise<Response>;
  get(path: string, headers?: Record<string, string>, method?: 'GET' | 'HEAD'): Promise<Response>;
  del(path: string, headers?: Record<string, string>): Promise<Response>;
  /** A JSON request to /api/... (`route` without the leading /api/), answered with 2xx; throws otherwise. */
  json<T>(route: string, init?: { method?: string; body?: unknown }): Promise<T>;
  /** One page of GET /api/files. */
  files(prefix: string, query?: Record<string, string>): Promise<Page<FileJson>>;
}

export function apiFor(target: ApiTarget, who: Who = 'alice'): Api {
  const files = (path: string, init: RequestInit, headers: Record<string, string> = {}) =>
    fetch(`${target.url}/files/${path}`, { ...init, headers: { ...target.auth(who), ...headers } });
  const json = async <T>(route: string, init: { method?: string; body?: unknown } = {}): Promise<T> => {
    const res = await fetch(`${target.url}/api/${route}`, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { ...target.auth(who), ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
    const text = await res.text();
    if (!res.ok) throw new Error(`${init.method ?? 'GET'} /api/${route} as ${who}: ${res.status} ${text}`);
    return JSON.parse(text) as T;
  };
  return {
    // duplex: a streamed body (a ReadableStream) is sent as it is read.
    put: (path, body, headers) => files(path, { method: 'PUT', body, duplex: 'half' } as RequestInit, headers),
    get: (path, headers, method = 'GET') => files(path, { method }, headers),
    del: (path, headers) => files(path, { method: 'DELETE' }, headers),
    json,
    files: (prefix, query = {}) => json<Page<FileJson>>(`files?${new URLSearchParams({ prefix, ...query })}`),
  };
}
