import { describe, expect, it } from 'vitest';
import { decodeName, displayBytes, displayName, displayText } from '../../client/display-name.js';

describe('displayName', () => {
  it.each([
    ['plain.txt', 'plain.txt'],
    ['Grüße/名前 mit Leerzeichen.txt', 'Grüße/名前 mit Leerzeichen.txt'],
    ['emoji 👩‍💻.txt', 'emoji 👩‍💻.txt'],
    ['line\nbreak', 'line\\nbreak'],
    ['cr\rtab\t', 'cr\\rtab\\t'],
    ['bell\u0007esc\u001b[31m', 'bell\\x07esc\\x1b[31m'],
    ['del\u007f', 'del\\x7f'],
    ['c1\u0085', 'c1\\u{85}'],
    // "invoice_\u202Efdp.exe" reads as "invoice_exe.pdf" on screen.
    ['invoice_\u202efdp.exe', 'invoice_\\u{202e}fdp.exe'],
    ['isolate\u2066x\u2069 marks\u200e\u200f\u061c', 'isolate\\u{2066}x\\u{2069} marks\\u{200e}\\u{200f}\\u{61c}'],
    ['sep\u2028\u2029', 'sep\\u{2028}\\u{2029}'],
    ['lone \ud800 surrogate', 'lone \\u{d800} surrogate'],
    ['back\\slash', 'back\\\\slash'],
    ['not an escape: \\n', 'not an escape: \\\\n'],
  ])('%j -> %j', (name, shown) => expect(displayName(name)).toBe(shown));

  it('keeps every output on one line', () => {
    let all = '';
    for (let c = 0; c < 0x3000; c++) all += String.fromCharCode(c);
    expect(displayName(all)).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e]/);
  });
});

describe('displayText', () => {
  it('keeps backslashes (Windows paths) and escapes control characters', () => {
    expect(displayText('C:\\Users\\me\\Docs')).toBe('C:\\Users\\me\\Docs');
    expect(displayText('bad path: "a\nb"')).toBe('bad path: "a\\nb"');
  });
});

describe('displayBytes and decodeName', () => {
  it.each([
    [[0x61, 0x62], 'ab', 'ab'],
    [[0x61, 0xff, 0x62], undefined, 'a\\xffb'],
    // Latin-1 "café": é as one byte 0xE9, not UTF-8.
    [[0x63, 0x61, 0x66, 0xe9], undefined, 'caf\\xe9'],
    [[0xc3, 0xa9], 'é', 'é'],
    // Overlong "/" and an encoded surrogate are not UTF-8.
    [[0xc0, 0xaf], undefined, '\\xc0\\xaf'],
    [[0xed, 0xa0, 0x80], undefined, '\\xed\\xa0\\x80'],
    [[0xf0, 0x9f, 0x98, 0x80], '😀', '😀'],
    [[0xf0, 0x9f, 0x98], undefined, '\\xf0\\x9f\\x98'],
    [[0x0a, 0xfe], undefined, '\\n\\xfe'],
  ])('%j', (bytes, decoded, shown) => {
    const b = Uint8Array.from(bytes);
    expect(decodeName(b)).toBe(decoded);
    expect(displayBytes(b)).toBe(shown);
  });
});
