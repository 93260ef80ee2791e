/**
 * Names a Windows file system cannot hold, and a reversible way to spell them anyway.
 *
 * The escape is `%XX` (the UTF-8 bytes of a character, upper-case hex) applied only to what
 * Windows refuses: the characters `< > : " / \ | ? *` and controls (U+0000-U+001F), trailing dots
 * and spaces (Windows strips them), and the last letter of a device name (`CON`, `PRN`, `AUX`,
 * `NUL`, `COM0-9`, `LPT0-9` and their superscript-digit forms, `CONIN$`, `CONOUT$`, with or without
 * an extension: `aux.txt` is the device too). So that the mapping can be undone, a `%` that is
 * followed by two hex digits is itself written `%25`; every other name stays exactly as it is.
 * `unescapeWindowsName` reverses it: it decodes every `%XX`.
 */

/** Characters no Windows name may contain (the separators included: a name is one segment). */
const FORBIDDEN = /[<>:"/\\|?*\u0000-\u001f]/u;
/** Device names, compared case-insensitively on the part before the first dot, trailing spaces ignored. */
const DEVICE = /^(?:CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9\u00b9\u00b2\u00b3]|LPT[0-9\u00b9\u00b2\u00b3])$/iu;
/** A `%` that reads as an escape: it and the next two characters. */
const PERCENT_HEX = /^%[0-9A-Fa-f]{2}/u;

/** `%XX` for each UTF-8 byte of `ch`. */
function percent(ch: string): string {
  return Array.from(Buffer.from(ch, 'utf8'), (b) => `%${b.toString(16).toUpperCase().padStart(2, '0')}`).join('');
}

/** The device name a segment opens on Windows, if any (`con.txt` -> `con`, `NUL .tar.gz` -> `NUL`). */
function deviceStem(name: string): string | undefined {
  const dot = name.indexOf('.');
  const stem = (dot === -1 ? name : name.slice(0, dot)).replace(/ +$/u, '');
  return DEVICE.test(stem) ? stem : undefined;
}

/** Whether Windows can create a file or folder with exactly this name. */
export function isWindowsSafeName(name: string): boolean {
  if (name === '' || FORBIDDEN.test(name)) return false;
  if (/[. ]$/u.test(name)) return false;
  return deviceStem(name) === undefined;
}

/**
 * The name to use on Windows for the remote name `name` (one path segment). Returns `name` itself
 * when it is already fine and has no `%XX` in it.
 */
export function escapeWindowsName(name: string): string {
  const chars = Array.from(name);
  // Trailing dots and spaces: every one of the run, or the name would still end in one.
  let trailing = chars.length;
  while (trailing > 0 && (chars[trailing - 1] === '.' || chars[trailing - 1] === ' ')) trailing--;
  const device = deviceStem(name);
  // The device's last character (a code point: the stem may end in a superscript digit).
  const deviceLast = device === undefined ? -1 : Array.from(device).length - 1;

  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const ch = chars[i] as string;
    if (ch === '%') {
      out += PERCENT_HEX.test(chars.slice(i, i + 3).join('')) ? '%25' : '%';
    } else if (FORBIDDEN.test(ch) || i >= trailing || i === deviceLast) {
      out += percent(ch);
    } else {
      out += ch;
    }
  }
  return out;
}

/** The remote name an escaped name stands for: every `%XX` decoded (as UTF-8). */
export function unescapeWindowsName(name: string): string {
  const bytes: number[] = [];
  for (let i = 0; i < name.length; ) {
    if (PERCENT_HEX.test(name.slice(i, i + 3))) {
      bytes.push(Number.parseInt(name.slice(i + 1, i + 3), 16));
      i += 3;
    } else {
      const cp = name.codePointAt(i) as number;
      const ch = String.fromCodePoint(cp);
      bytes.push(...Buffer.from(ch, 'utf8'));
      i += ch.length;
    }
  }
  return Buffer.from(bytes).toString('utf8');
}
