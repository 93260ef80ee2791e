import { describe, expect, it } from 'vitest';
import { gatheredOutput } from '../../client/gathered-output.js';

describe('gatheredOutput (issue 16, sixth round)', () => {
  it('writes what one event-loop turn printed with one write, in order', async () => {
    const writes: string[] = [];
    const out = gatheredOutput({ write: (t: string) => writes.push(t) });
    out.write('a\n');
    out.write('b\n');
    expect(writes).toEqual([]);
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['a\nb\n']);
    out.write('c\n');
    await new Promise((r) => setImmediate(r));
    expect(writes).toEqual(['a\nb\n', 'c\n']);
  });
});
