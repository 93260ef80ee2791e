import { setImmediate as nextTurn } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { LineWriter } from '../../shared/line-writer.js';

function sink() {
  const writes: string[] = [];
  return { writes, out: { write: (t: string) => writes.push(t) } };
}

describe('LineWriter: the server log on stdout', () => {
  it('writes the access lines of one event-loop turn in one write', async () => {
    const { writes, out } = sink();
    const w = new LineWriter(out);
    w.later('a');
    w.later('b');
    w.later('c');
    expect(writes).toEqual([]);
    await nextTurn();
    expect(writes).toEqual(['a\nb\nc\n']);
    w.later('d');
    await nextTurn();
    expect(writes).toEqual(['a\nb\nc\n', 'd\n']);
    w.close();
  });

  it('keeps the order of events: a message line goes out after the gathered lines before it', async () => {
    const { writes, out } = sink();
    const w = new LineWriter(out);
    w.later('GET /x 200');
    w.line('storage: disk');
    w.later('GET /y 200');
    await nextTurn();
    expect(writes.join('')).toBe('GET /x 200\nstorage: disk\nGET /y 200\n');
    w.close();
  });

  it('writes what is gathered when closed (or when the process exits)', () => {
    const { writes, out } = sink();
    const w = new LineWriter(out);
    w.later('last');
    w.close();
    expect(writes).toEqual(['last\n']);
    const before = process.listenerCount('exit');
    const again = new LineWriter(out);
    expect(process.listenerCount('exit')).toBe(before + 1);
    again.later('at exit');
    // The listener it added, called as the process would at exit (not emitted: vitest listens too).
    (process.listeners('exit').at(-1) as (code: number) => void)(0);
    expect(writes).toEqual(['last\n', 'at exit\n']);
    again.close();
    expect(process.listenerCount('exit')).toBe(before);
  });
});
