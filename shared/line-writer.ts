/** Where log lines go: process.stdout, or anything with its write. */
export interface LineSink {
  write(text: string): unknown;
}

/**
 * Lines on stdout gathered and written together once per turn of the event loop: stdout to a pipe
 * or file is a synchronous write on Linux, one system call per line otherwise (the server's access
 * lines, one per request; the client's, one per file). Other lines go out at once, after the
 * gathered ones, so the order stays the order of events. Whatever is gathered is written when the
 * process exits.
 */
export class LineWriter {
  readonly #out: LineSink;
  #pending: string[] = [];
  #scheduled = false;
  readonly #onExit = () => this.flush();

  constructor(out: LineSink) {
    this.#out = out;
    process.once('exit', this.#onExit);
  }

  /** A line written now. */
  line(text: string): void {
    this.flush();
    this.#out.write(`${text}\n`);
  }

  /** A line written with the others of this turn. */
  later(text: string): void {
    this.gather(`${text}\n`);
  }

  /** Text (its own line ends, or none: a status line) written with the rest of this turn. */
  gather(text: string): void {
    this.#pending.push(text);
    if (this.#scheduled) return;
    this.#scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#pending.length === 0) return;
    const text = this.#pending.join('');
    this.#pending = [];
    this.#out.write(text);
  }

  /** Writes what is gathered and stops listening for the exit. */
  close(): void {
    this.flush();
    process.off('exit', this.#onExit);
  }
}
