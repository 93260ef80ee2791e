/**
 * `npm run restore` end to end: the real server on loopback, the restore command as its own
 * process. Content, names and mtimes are checked byte for byte against what was uploaded.
 */
import { lstat, mkdir, mkdtemp, open, readdir, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeRemotePath } from '../../client/remote-path.js';
import { unescapeWindowsName } from '../../client/windows-names.js';
import { sha256File, writeRandomFile } from '../helpers/bytes.js';
import { putFile } from '../helpers/hot-cold.js';
import { waitFor } from '../helpers/wait.js';
import { startTestServer, type TestServer } from '../helpers/server.js';
import { CHILD_TEST_MS, runClient, spawnRestore } from '../client/helpers.js';

const MB = 1024 * 1024;
const PARTS = '.cb-restore-partial';

interface Uploaded {
  sha256: string;
  size: number;
  /** The mtime a restore must give it. */
  mtime: number;
}

let s: TestServer;
let base: string;
let n = 0;

beforeAll(async () => {
  s = await startTestServer();
  base = await mkdtemp(join(tmpdir(), 'cb-restore-'));
});
afterAll(async () => {
  await s?.stop();
  if (base) await rm(base, { recursive: true, force: true });
});

function fresh(name: string): string {
  return join(base, `${name}-${++n}`);
}

/** Uploads `size` random bytes as `remote` (with X-File-Mtime unless `mtime` is null). */
async function upload(remote: string, size: number, mtime: number | null, who: 'alice' | 'bob' = 'alice'): Promise<Uploaded> {
  const src = join(base, `src-${++n}`);
  const sha256 = await writeRandomFile(src, size);
  const headers: Record<string, string> = { ...s.auth(who), ...(mtime === null ? {} : { 'X-File-Mtime': String(mtime) }) };
  const res = await putFile(s.url, encodeRemotePath(remote), src, headers);
  expect(res.status, remote).toBeLessThan(300);
  const meta = (await res.json()) as { uploadedAt: number };
  await rm(src);
  return { sha256, size, mtime: mtime ?? meta.uploadedAt };
}

/** The token comes from CB_TOKEN (a flag would show in the process list). */
function restore(args: string[], token = s.tokens.alice) {
  return runClient([...args, '--server', s.url], { CB_TOKEN: token }, 120_000, spawnRestore);
}

/** Every file under `dir` (relative, '/'-separated) with its SHA-256, size and mtime. */
async function tree(dir: string): Promise<Map<string, Uploaded>> {
  const out = new Map<string, Uploaded>();
  for (const e of await readdir(dir, { recursive: true, withFileTypes: true })) {
    if (e.isDirectory()) continue;
    const abs = join(e.parentPath, e.name);
    const st = await stat(abs);
    out.set(abs.slice(dir.length + 1), { sha256: await sha256File(abs), size: st.size, mtime: Math.floor(st.mtimeMs) });
  }
  return out;
}

function sorted<T>(m: Map<string, T>): Map<string, T> {
  return new Map([...m].sort(([a], [b]) => (a < b ? -1 : 1)));
}

/** The byte count of the summary's "N received". */
function receivedBytes(output: string): number {
  const m = /; ([\d.]+) (B|K|M|G)(?:i?B)? received/.exec(output);
  if (!m) throw new Error(`no summary in:\n${output}`);
  return Number(m[1]) * { B: 1, K: 1024, M: MB, G: 1024 * MB }[m[2] as 'B'];
}

describe('npm run restore: the current tree', () => {
  const files = new Map<string, Uploaded>();
  const T0 = Date.UTC(2024, 0, 2, 3, 4, 5, 678);

  beforeAll(async () => {
    const names = [
      'a.txt',
      'sub/ü é.txt',
      'sub/deep/further/x.bin',
      '日本語/報告 2024.pdf',
      'emoji 🎉/Grüße.md',
      'CON.txt',
      'aux',
      'what?.txt',
      'trailing.',
      '50% off',
      'CO%4E.txt',
      'empty.bin',
    ];
    for (const [i, name] of names.entries()) {
      files.set(name, await upload(`alice/Docs/${name}`, name === 'empty.bin' ? 0 : 1000 + i * 7919, T0 + i * 1001));
    }
    files.set('big.bin', await upload('alice/Docs/big.bin', 3 * MB + 17, T0 - 86_400_000));
    // Uploaded without an mtime: restored with its upload time.
    files.set('no-mtime.txt', await upload('alice/Docs/no-mtime.txt', 500, null));
    // Outside the folder: a sibling whose name starts the same, and another namespace.
    await upload('alice/Docs2/not-this.txt', 10, T0);
    await upload('alice/DocsOld.txt', 10, T0);
    await upload('bob/Docs/not-this-either.txt', 10, T0, 'bob');
  });

  it('writes every file with its content and mtime; a rerun changes nothing', { timeout: CHILD_TEST_MS }, async () => {
    const out = fresh('out');
    const first = await restore(['alice/Docs', out]);
    expect(first.code, first.output).toBe(0);
    expect(sorted(await tree(out))).toEqual(sorted(files));
    expect(first.output).toMatch(new RegExp(`${files.size} restored, 0 unchanged, 0 mtime set, 0 refused, 0 failed`));
    expect(first.output).toContain('restored  日本語/報告 2024.pdf');
    await expect(lstat(join(out, PARTS))).rejects.toThrow();

    // Nothing rewritten: same inode, same ctime, no bytes fetched.
    const before = new Map<string, string>();
    for (const name of files.keys()) {
      const st = await stat(join(out, name));
      before.set(name, `${st.ino}:${st.ctimeMs}`);
    }
    const again = await restore(['alice/Docs/', out]);
    expect(again.code, again.output).toBe(0);
    expect(again.output).toMatch(new RegExp(`0 restored, ${files.size} unchanged, 0 mtime set, 0 refused, 0 failed; 0 B received`));
    for (const name of files.keys()) {
      const st = await stat(join(out, name));
      expect(`${st.ino}:${st.ctimeMs}`, name).toBe(before.get(name));
    }
    expect(sorted(await tree(out))).toEqual(sorted(files));
  });

  it('--windows-names: names Windows cannot hold get a reversible escaped name, listed in the summary', { timeout: CHILD_TEST_MS }, async () => {
    const out = fresh('win');
    const r = await restore(['alice/Docs', out, '--windows-names']);
    expect(r.code, r.output).toBe(0);
    const got = await tree(out);
    const escaped = new Map([
      ['CON.txt', 'CO%4E.txt'],
      ['aux', 'au%78'],
      ['what?.txt', 'what%3F.txt'],
      ['trailing.', 'trailing%2E'],
      ['CO%4E.txt', 'CO%254E.txt'],
    ]);
    const expected = new Map([...files].map(([name, f]) => [escaped.get(name) ?? name, f]));
    expect(sorted(got)).toEqual(sorted(expected));
    for (const local of got.keys()) expect(files.has(local.split('/').map(unescapeWindowsName).join('/')), local).toBe(true);
    expect(r.output).toContain(`${escaped.size} names escaped`);
    for (const [remote, local] of escaped) expect(r.output).toContain(`  ${remote} -> ${local}\n`);
    expect(r.output).toContain('50% off (');
  });

  it('two remote names that differ only in case: the second is reported where case folds, not written over the first', { timeout: CHILD_TEST_MS }, async () => {
    const first = await upload('alice/Case/Readme.md', 100, T0);
    await upload('alice/Case/README.md', 200, T0);
    const out = fresh('case');
    const r = await restore(['alice/Case', out, '--windows-names']);
    expect(r.code, r.output).toBe(1);
    // Listed in path order: 'README.md' < 'Readme.md'.
    expect(r.output).toContain('failed    Readme.md: same local name as README.md on a case-insensitive file system; not restored');
    expect((await tree(out)).get('README.md')?.size).toBe(200);
    expect(first.size).toBe(100);
  });

  it('leaves differing local files alone without --overwrite (exit 1), replaces them with it', { timeout: CHILD_TEST_MS }, async () => {
    const out = fresh('changed');
    expect((await restore(['alice/Docs', out])).code).toBe(0);
    await writeFile(join(out, 'a.txt'), 'my local edit');
    const big = await open(join(out, 'big.bin'), 'r+');
    await big.write(Buffer.from('X'), 0, 1, 1000);
    await big.close();
    await utimes(join(out, 'sub/ü é.txt'), new Date(), new Date(T0 + 5));
    await rm(join(out, 'empty.bin'));
    await mkdir(join(out, 'empty.bin'));
    const edited = await sha256File(join(out, 'big.bin'));

    const r = await restore(['alice/Docs', out]);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/refused   a\.txt: differs from the backup \(13 bytes here, 1000 in the backup\); not replaced without --overwrite/);
    expect(r.output).toMatch(/refused   big\.bin: differs from the backup \(same size, other content\)/);
    expect(r.output).toMatch(/refused   empty\.bin: a local folder has this name/);
    expect(r.output).toContain('mtime     sub/ü é.txt (content already right; modification time set)');
    expect(r.output).toMatch(/0 restored, \d+ unchanged, 1 mtime set, 3 refused, 0 failed/);
    expect(r.output).toMatch(/3 files not restored:\n {2}a\.txt: differs/);
    expect(await readFile(join(out, 'a.txt'), 'utf8')).toBe('my local edit');
    expect(await sha256File(join(out, 'big.bin'))).toBe(edited);
    expect(Math.floor((await stat(join(out, 'sub/ü é.txt'))).mtimeMs)).toBe(files.get('sub/ü é.txt')?.mtime);

    const o = await restore(['alice/Docs', out, '--overwrite']);
    expect(o.code, o.output).toBe(1);
    expect(o.output).toMatch(/2 restored, .* 1 refused, 0 failed/);
    expect(o.output).toContain('restored  a.txt (1000 B, replaced)');
    await rm(join(out, 'empty.bin'), { recursive: true });
    expect((await restore(['alice/Docs', out])).code).toBe(0);
    expect(sorted(await tree(out))).toEqual(sorted(files));
  });

  it('does not write through a symbolic link in the target', { timeout: CHILD_TEST_MS }, async () => {
    const out = fresh('link');
    const elsewhere = fresh('elsewhere');
    await mkdir(out, { recursive: true });
    await mkdir(elsewhere, { recursive: true });
    await symlink(elsewhere, join(out, 'sub'));
    const r = await restore(['alice/Docs', out]);
    expect(r.code, r.output).toBe(1);
    expect(r.output).toMatch(/failed    sub\/ü é\.txt: sub is a symbolic link here, not a folder; not followed/);
    expect(await readdir(elsewhere)).toEqual([]);
  });

  it('bad usage exits 2; a refused token, another namespace or an empty folder exit 1 with a line', { timeout: CHILD_TEST_MS }, async () => {
    const out = fresh('usage');
    // The other bad inputs are unit-tested (test/client/restore-args.test.ts); here: the process's exit code.
    for (const args of [['alice/Docs'], ['alice/Docs', out, '--at', 'yesterday']]) {
      const r = await restore(args);
      expect(r.code, `${args.join(' ')}\n${r.output}`).toBe(2);
      expect(r.output).toMatch(/cloud-backup restore: .*\(--help for usage\)/);
    }
    const bad = await restore(['alice/Docs', out], 'cb_nope');
    expect(bad.code, bad.output).toBe(1);
    expect(bad.output).toContain('the server refused the token (401');
    const other = await restore(['bob/Docs', out]);
    expect(other.code, other.output).toBe(1);
    expect(other.output).toMatch(/listing bob\/Docs\/: 403 /);
    const none = await restore(['alice/Nothing', out]);
    expect(none.code, none.output).toBe(1);
    expect(none.output).toContain('nothing under alice/Nothing/ on the server');
    // An admin restores any namespace.
    const root = await restore(['bob/Docs', out], s.tokens.root);
    expect(root.code, root.output).toBe(0);
    expect(await readdir(out)).toEqual(['not-this-either.txt']);
  });
});

describe('npm run restore: a cut restore resumes', () => {
  it('after a SIGKILL mid-download it fetches only the rest, verifies the whole, and catches a corrupt partial', { timeout: 300_000 }, async () => {
    const size = 24 * MB + 5;
    const f = await upload('alice/Big/huge.bin', size, Date.UTC(2023, 5, 6, 7, 8, 9, 10));
    const out = fresh('resume');
    const part = async (): Promise<{ path: string; size: number } | undefined> => {
      const names = await readdir(join(out, PARTS)).catch(() => [] as string[]);
      if (names.length !== 1) return undefined;
      const p = join(out, PARTS, names[0] as string);
      return { path: p, size: (await stat(p)).size };
    };
    const cut = async (atLeast: number) => {
      const tokenFile = join(base, 'token');
      await writeFile(tokenFile, `CB_TOKEN=${s.tokens.alice}\n`, { mode: 0o600 });
      const c = spawnRestore(['alice/Big', out, '--server', s.url, '--token-file', tokenFile, '--limit-rate', '4M']);
      await waitFor(`${atLeast} bytes in the partial file`, async () => ((await part())?.size ?? 0) >= atLeast, 120_000, 20);
      c.child.kill('SIGKILL');
      await c.exited;
      // Never a torn file under the real name.
      await expect(lstat(join(out, 'huge.bin'))).rejects.toThrow();
      return (await part()) as { path: string; size: number };
    };

    const p1 = await cut(6 * MB);
    const resumed = await restore(['alice/Big', out]);
    expect(resumed.code, resumed.output).toBe(0);
    expect(resumed.output).toMatch(/restored  huge\.bin \(24\.0 Mi?B, resumed at [\d.]+ Mi?B\)/);
    expect(receivedBytes(resumed.output)).toBeLessThanOrEqual(size - p1.size + 0.1 * MB);
    expect(await tree(out)).toEqual(new Map([['huge.bin', f]]));

    // Again, and this time a byte of the partial file goes bad while nobody looks.
    await rm(join(out, 'huge.bin'));
    const p2 = await cut(3 * MB);
    const fh = await open(p2.path, 'r+');
    const b = Buffer.alloc(1);
    await fh.read(b, 0, 1, 1234);
    b[0] = (b[0] as number) ^ 0xff;
    await fh.write(b, 0, 1, 1234);
    await fh.close();
    const healed = await restore(['alice/Big', out]);
    expect(healed.code, healed.output).toBe(0);
    expect(healed.output).toMatch(/corrupt   huge\.bin: SHA-256 [0-9a-f]{64} is not the expected [0-9a-f]{64}; downloading it again/);
    expect(await tree(out)).toEqual(new Map([['huge.bin', f]]));
    await expect(lstat(join(out, PARTS))).rejects.toThrow();
  });
});
