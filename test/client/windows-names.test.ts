import { describe, expect, it } from 'vitest';
import { escapeWindowsName, isWindowsSafeName, unescapeWindowsName } from '../../client/windows-names.js';
import { Prng } from '../helpers/prng.js';

describe('escapeWindowsName', () => {
  it.each([
    // Fine as they are.
    ['report.pdf', 'report.pdf'],
    ['Grüße 日本 🎉.txt', 'Grüße 日本 🎉.txt'],
    [' leading space', ' leading space'],
    ['.hidden', '.hidden'],
    ['50% off', '50% off'],
    ['100%', '100%'],
    ['%zz', '%zz'],
    ['console.log', 'console.log'],
    ['CONX', 'CONX'],
    ['COM10', 'COM10'],
    ['LPT', 'LPT'],
    ['xCON', 'xCON'],
    // Device names, any case, with or without extension, trailing spaces before the dot.
    ['CON', 'CO%4E'],
    ['con', 'co%6E'],
    ['aux.txt', 'au%78.txt'],
    ['NUL.tar.gz', 'NU%4C.tar.gz'],
    ['PRN .txt', 'PR%4E .txt'],
    ['COM1', 'COM%31'],
    ['com9.log', 'com%39.log'],
    ['COM0', 'COM%30'],
    ['LPT1', 'LPT%31'],
    ['lpt9.doc', 'lpt%39.doc'],
    ['COM¹', 'COM%C2%B9'],
    ['LPT³.txt', 'LPT%C2%B3.txt'],
    ['CONIN$', 'CONIN%24'],
    ['conout$.x', 'conout%24.x'],
    // Trailing dots and spaces: the whole run.
    ['notes.', 'notes%2E'],
    ['notes ', 'notes%20'],
    ['a. .', 'a%2E%20%2E'],
    ['...', '%2E%2E%2E'],
    ['nul.', 'nu%6C%2E'],
    ['CON ', 'CO%4E%20'],
    // Forbidden characters and controls.
    ['a<b>c', 'a%3Cb%3Ec'],
    ['what?', 'what%3F'],
    ['C:', 'C%3A'],
    ['x:stream', 'x%3Astream'],
    ['say "hi"', 'say %22hi%22'],
    ['a|b*c', 'a%7Cb%2Ac'],
    ['back\\slash', 'back%5Cslash'],
    ['tab\there', 'tab%09here'],
    ['line\nbreak', 'line%0Abreak'],
    ['\u001f', '%1F'],
    // A '%' that reads as an escape is escaped itself, so the mapping can be undone.
    ['CO%4E', 'CO%254E'],
    ['100%25', '100%2525'],
    ['%41%zz', '%2541%zz'],
    ['%%41', '%%2541'],
    ['%A<', '%A%3C'],
    ['%4e.', '%254e%2E'],
  ])('%j -> %j', (name, escaped) => {
    expect(escapeWindowsName(name)).toBe(escaped);
    expect(isWindowsSafeName(escaped), escaped).toBe(true);
    expect(unescapeWindowsName(escaped)).toBe(name);
  });

  it.each([
    ['CON', false],
    ['con.txt', false],
    ['a?', false],
    ['a.', false],
    ['a ', false],
    ['', false],
    ['a/b', false],
    ['ok.txt', true],
    ['%41', true],
  ])('isWindowsSafeName(%j) is %s', (name, safe) => expect(isWindowsSafeName(name)).toBe(safe));

  it('is reversible and yields a valid name for generated names (seeded)', () => {
    const prng = new Prng(20261202);
    const alphabet = ['a', 'Z', '0', '4', 'e', 'E', '.', ' ', '%', '%', '<', ':', '"', '|', '?', '*', '\\', '\t', '\u0001', 'ü', '日', '🎉', '¹', '$'];
    const stems = ['', 'CON', 'aux', 'NuL', 'COM', 'LPT', 'conin', 'PRN'];
    const seen = new Map<string, string>();
    const wrong: string[] = [];
    for (let i = 0; i < 20_000; i++) {
      let name = prng.pick(stems);
      const n = prng.int(name === '' ? 1 : 0, 8);
      for (let j = 0; j < n; j++) name += prng.pick(alphabet);
      const escaped = escapeWindowsName(name);
      const show = JSON.stringify([name, escaped]);
      if (unescapeWindowsName(escaped) !== name) wrong.push(`not reversed: ${show}`);
      if (!isWindowsSafeName(escaped)) wrong.push(`not valid on Windows: ${show}`);
      if (isWindowsSafeName(name) && !/%[0-9A-Fa-f]{2}/u.test(name) && escaped !== name) wrong.push(`changed a valid name: ${show}`);
      // Injective: no two names share an escaped form.
      const before = seen.get(escaped);
      if (before !== undefined && before !== name) wrong.push(`${JSON.stringify(before)} and ${show} collide`);
      seen.set(escaped, name);
    }
    expect(wrong.slice(0, 10)).toEqual([]);
    expect(seen.size).toBeGreaterThan(10_000);
  });
});
