/**
 * The client's typed failures. main.ts maps them to exit codes; the pass records them per file.
 * The client never imports the server's errors: it only knows what the HTTP API says.
 */

/** Bad flags, environment or folder: one line to the user, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The server answered with a status we do not treat as success. */
export class HttpStatusError extends Error {
  override name = 'HttpStatusError';
  constructor(
    readonly status: number,
    /** The server's `{error}` text when it sent one, else the status text. */
    readonly serverMessage: string,
    readonly method: string,
    readonly url: string,
    /** Seconds from a Retry-After header, when given. */
    readonly retryAfterSeconds?: number,
  ) {
    super(`${method} ${url}: ${status} ${serverMessage}`);
  }
}

/** The server could not be reached or the connection broke (refused, reset, timeout). */
export class NetworkError extends Error {
  override name = 'NetworkError';
  constructor(
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** The server does not speak what the URL says (https:// to a plain-HTTP port, or the reverse). Never retried. */
export class ProtocolError extends Error {
  override name = 'ProtocolError';
}

/** The file changed while it was hashed or sent: what was read is not what is on disk now. */
export class FileChangedError extends Error {
  override name = 'FileChangedError';
}

/** Downloaded bytes are not the content the listing named (size or SHA-256 differ): never kept. */
export class IntegrityError extends Error {
  override name = 'IntegrityError';
}

/** The work was cancelled (Ctrl+C, stop()). Not a failure of the file. */
export class CancelledError extends Error {
  override name = 'CancelledError';
  constructor(message = 'cancelled') {
    super(message);
  }
}

/**
 * The remote folder belongs to another source (another folder, or another computer), or lies
 * inside or around another backup's folder: nothing was sent. Exit code 2, like bad usage.
 */
export class RootClaimedError extends Error {
  override name = 'RootClaimedError';
}

/** ENOENT, or ENOTDIR (a folder on the path is now a file): the file is simply not there any more. */
export function isGoneError(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}
