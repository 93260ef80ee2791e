import { BadRequestError } from '../../core/errors.js';

/** Longest header line of one batch entry, newline included (a path is at most 4 KiB). */
export const MAX_HEADER_BYTES = 64 * 1024;

const NEWLINE = 0x0a;
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** The batch body broke off or is not framed as documented: nothing of it is committed. */
export class BrokenFrameError extends BadRequestError {
  constructor(detail: string) {
    super(`broken batch stream: ${detail}; nothing was stored`);
  }
}

/**
 * Reads the framed body of POST /api/batch: per file one JSON header line, then exactly the
 * header's `size` bytes. Chunks pass through as they arrive (a view of the leftover, never a
 * copy of a whole file). Each `content` stream must be read to its end before the next header.
 */
export class FrameReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  /** Bytes received but not handed out yet. */
  private rest: Uint8Array = new Uint8Array(0);
  private ended = false;
  /** Bytes of the last header line that header() returned, its newline included. */
  headerBytes = 0;

  constructor(body: ReadableStream<Uint8Array>) {
    this.reader = body.getReader();
  }

  private async pull(): Promise<boolean> {
    if (this.ended) return false;
    const { done, value } = await this.reader.read();
    if (done) {
      this.ended = true;
      return false;
    }
    this.rest = this.rest.byteLength === 0 ? value : concat(this.rest, value);
    return true;
  }

  /** The next header line as text; null at a clean end of the body (after a whole entry). */
  async header(): Promise<string | null> {
    let searched = 0;
    for (;;) {
      const nl = this.rest.indexOf(NEWLINE, searched);
      if (nl >= 0) {
        if (nl + 1 > MAX_HEADER_BYTES) throw new BrokenFrameError(`a header line is longer than ${MAX_HEADER_BYTES} bytes`);
        const line = this.rest.subarray(0, nl);
        this.rest = this.rest.subarray(nl + 1);
        this.headerBytes = nl + 1;
        try {
          return strictUtf8.decode(line);
        } catch {
          throw new BrokenFrameError('a header line is not valid UTF-8');
        }
      }
      searched = this.rest.byteLength;
      if (searched > MAX_HEADER_BYTES) throw new BrokenFrameError(`a header line is longer than ${MAX_HEADER_BYTES} bytes`);
      if (!(await this.pull())) {
        if (this.rest.byteLength === 0) return null;
        throw new BrokenFrameError('the body ended inside a header line');
      }
    }
  }

  /**
   * Exactly the next `size` bytes, chunk by chunk; iterating throws BrokenFrameError if the body
   * ends first. A plain async iterable, not a ReadableStream: building one of those per file cost
   * more main-thread time than writing the file.
   */
  content(size: number): AsyncIterable<Uint8Array> {
    let left = size;
    const next = async (): Promise<IteratorResult<Uint8Array, undefined>> => {
      if (left === 0) return { done: true, value: undefined };
      if (this.rest.byteLength === 0 && !(await this.pull())) {
        throw new BrokenFrameError(`the body ended ${left} bytes before the end of a file`);
      }
      const n = Math.min(left, this.rest.byteLength);
      const chunk = this.rest.subarray(0, n);
      this.rest = this.rest.subarray(n);
      left -= n;
      return { done: false, value: chunk };
    };
    return { [Symbol.asyncIterator]: () => ({ next }) };
  }

  /** Reads past the next `size` bytes (an entry that is refused but keeps the stream in frame). */
  async skip(size: number): Promise<void> {
    for await (const chunk of this.content(size)) void chunk;
  }

  /** Stops reading (the rest of the body is not wanted). */
  async cancel(): Promise<void> {
    await this.reader.cancel().catch(() => {});
  }
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}
