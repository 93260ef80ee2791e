import { describe, expect, it } from 'vitest';
import { defaultStatePath, parseClientArgs, parseDurationMs, parseRate, tokenFromFileText, type ArgsEnv, type ClientConfig } from '../../client/args.js';
import { UsageError } from '../../client/errors.js';

const linux: ArgsEnv = { env: {}, cwd: '/home/me', homedir: '/home/me', platform: 'linux' };
const windows: ArgsEnv = {
  env: { LOCALAPPDATA: 'C:\\Users\\me\\AppData\\Local' },
  cwd: 'C:\\Users\\me',
  homedir: 'C:\\Users\\me',
  platform: 'win32',
};

function config(argv: string[], e: ArgsEnv = linux): ClientConfig {
  const r = parseClientArgs(argv, e);
  if (r.help) throw new Error('unexpected help');
  return r.config;
}

describe('parseDurationMs', () => {
  it.each([
    ['3s', 3000],
    ['500ms', 500],
    ['2m', 120_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['10', 10_000],
    ['0', 0],
    // The server's grammar: days, weeks and combinations too.
    ['3d', 3 * 86_400_000],
    ['1w', 604_800_000],
    ['1h30m', 5_400_000],
    ['3S', 3000],
  ])('%s -> %i ms', (v, ms) => expect(parseDurationMs('--settle', v)).toBe(ms));

  it.each(['', 'soon', '3 s', '-1s', '3x', 's', '1h 30m'])('refuses %j', (v) => {
    expect(() => parseDurationMs('--settle', v)).toThrow(UsageError);
  });
});

describe('parseRate', () => {
  it.each([
    ['500K', 500 * 1024],
    ['2M', 2 * 1024 * 1024],
    ['2m', 2 * 1024 * 1024],
    ['1.5M', 1.5 * 1024 * 1024],
    ['1G', 1024 ** 3],
    ['65536', 65536],
    ['500KB', 500 * 1024],
    ['2MiB/s', 2 * 1024 * 1024],
    ['0', null],
    ['unlimited', null],
  ] as const)('%s -> %s', (v, bytes) => expect(parseRate('--limit-rate', v)).toBe(bytes));

  it.each(['fast', '2X', '-1M', '100', 'M'])('refuses %j', (v) => {
    expect(() => parseRate('--limit-rate', v)).toThrow(UsageError);
  });
});

describe('parseClientArgs', () => {
  it('uses the defaults', () => {
    const c = config(['Documents', '--token', 'T']);
    expect(c).toMatchObject({
      folder: '/home/me/Documents',
      flavor: 'posix',
      server: 'http://127.0.0.1:9090',
      token: 'T',
      once: false,
      prefix: ['Documents'],
      concurrency: 4,
      limitRate: null,
      settleMs: 3000,
      intervalMs: 60_000,
    });
    expect(c.statePath).toMatch(/^\/home\/me\/\.local\/state\/cloud-backup\/Documents-[0-9a-f]{16}\.sqlite$/);
  });

  it('reads CB_SERVER and CB_TOKEN; flags win over them', () => {
    const e = { ...linux, env: { CB_SERVER: 'http://backup:9090/', CB_TOKEN: 'from-env' } };
    expect(config(['/d'], e)).toMatchObject({ server: 'http://backup:9090', token: 'from-env' });
    expect(config(['/d', '--server', 'https://other', '--token', 'flag'], e)).toMatchObject({ server: 'https://other', token: 'flag' });
  });

  it('parses every flag', () => {
    const c = config(['/data/photos', '--token', 'T', '--once', '--prefix', 'laptop/pics', '--concurrency', '8', '--limit-rate', '2M', '--settle', '500ms', '--interval', '5m', '--state', 'st.db']);
    expect(c).toMatchObject({
      once: true,
      prefix: ['laptop', 'pics'],
      concurrency: 8,
      limitRate: 2 * 1024 * 1024,
      settleMs: 500,
      intervalMs: 300_000,
      statePath: '/home/me/st.db',
    });
  });

  it('maps a Windows folder with Windows rules', () => {
    const c = config(['C:\\Users\\me\\Documents\\', '--token', 'T'], windows);
    expect(c.folder).toBe('C:\\Users\\me\\Documents');
    expect(c.flavor).toBe('win32');
    expect(c.prefix).toEqual(['Documents']);
    expect(c.statePath).toMatch(/^C:\\Users\\me\\AppData\\Local\\cloud-backup\\Documents-[0-9a-f]{16}\.sqlite$/);
  });

  it('gives one state DB per (server, folder) pair', () => {
    const a = config(['/d1', '--token', 'T']).statePath;
    expect(config(['/d2', '--token', 'T']).statePath).not.toBe(a);
    expect(config(['/d1', '--token', 'T', '--server', 'http://elsewhere:9090']).statePath).not.toBe(a);
    expect(config(['/d1', '--token', 'other']).statePath).toBe(a);
  });

  it('returns help', () => {
    expect(parseClientArgs(['--help'], linux)).toEqual({ help: true });
    expect(parseClientArgs(['-h'], linux)).toEqual({ help: true });
  });

  it.each([
    [[], /missing <folder>/],
    [['a', 'b', '--token', 'T'], /expected one folder/],
    [['/d'], /no token/],
    [['/d', '--token', ' '], /no token/],
    [['/d', '--token', 'T', '--bogus'], /^unknown option --bogus$/],
    [['/d', '--token', 'T', '--server'], /^--server needs a value$/],
    [['/d', '--token', 'T', '--server', 'http://backup:9090/cloud'], /no path, please: the server's address is http:\/\/backup:9090 /],
    [['/d', '--token', 'T', '--server', 'http://me:secret@backup:9090'], /no user or password/],
    [['/d', '--token', 'T', '--token-file', '/t'], /either --token or --token-file/],
    [['/d', '--token', 'T', '--server', 'ftp://x'], /http/],
    [['/d', '--token', 'T', '--server', 'not a url'], /not a URL/],
    [['/d', '--token', 'T', '--concurrency', '0'], /--concurrency/],
    [['/d', '--token', 'T', '--concurrency', 'many'], /--concurrency/],
    [['/d', '--token', 'T', '--limit-rate', 'fast'], /--limit-rate/],
    [['/d', '--token', 'T', '--settle', 'later'], /--settle/],
    [['/d', '--token', 'T', '--interval', '100ms'], /--interval/],
    [['/d', '--token', 'T', '--prefix', '../x'], /--prefix/],
    [['/', '--token', 'T'], /--prefix/],
    [['/d', '--token'], /token/],
  ])('%j -> usage error %s', (argv, message) => {
    expect(() => parseClientArgs(argv, linux)).toThrow(UsageError);
    expect(() => parseClientArgs(argv, linux)).toThrow(message);
  });
});

describe('token sources', () => {
  const files: Record<string, string> = {
    '/etc/cb/token': 'cb_fromfile\n',
    '/home/me/token.env': '# for systemd\nCB_TOKEN="cb_envfile"\n',
    '/home/me/empty': '\n\n',
  };
  const withFiles: ArgsEnv = {
    ...linux,
    readTextFile: (p) => {
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error('no such file'), { code: 'ENOENT' });
      return text;
    },
  };
  const parsed = (argv: string[], env: Record<string, string> = {}) => {
    const r = parseClientArgs(['/d', ...argv], { ...withFiles, env });
    if (r.help) throw new Error('unexpected help');
    return { token: r.config.token, warnings: r.warnings };
  };

  it.each([
    ['--token-file, absolute', ['--token-file', '/etc/cb/token'], {}, 'cb_fromfile'],
    ['--token-file, relative to cwd, CB_TOKEN= form', ['--token-file', 'token.env'], {}, 'cb_envfile'],
    ['CB_TOKEN', [], { CB_TOKEN: 'cb_env' }, 'cb_env'],
    ['CB_TOKEN_FILE', [], { CB_TOKEN_FILE: '/etc/cb/token' }, 'cb_fromfile'],
    ['CB_TOKEN wins over CB_TOKEN_FILE', [], { CB_TOKEN: 'cb_env', CB_TOKEN_FILE: '/etc/cb/token' }, 'cb_env'],
    ['the flag wins over CB_TOKEN', ['--token-file', '/etc/cb/token'], { CB_TOKEN: 'cb_env' }, 'cb_fromfile'],
  ])('%s', (_name, argv, env, token) => {
    expect(parsed(argv, env)).toEqual({ token, warnings: [] });
  });

  it('warns about --token on the command line (it shows in the process list)', () => {
    expect(parsed(['--token', 'cb_x']).warnings).toEqual([expect.stringMatching(/visible to other users.*--token-file/)]);
  });

  it.each([
    [['--token-file', '/nope'], /--token-file \/nope: cannot read it \(ENOENT\)/],
    [['--token-file', 'empty'], /--token-file \/home\/me\/empty: the file holds no token/],
  ])('%j -> %s', (argv, message) => {
    expect(() => parsed(argv)).toThrow(message);
  });

  it.each([
    ['cb_abc', 'cb_abc'],
    ['  cb_abc  \r\n', 'cb_abc'],
    ['\n# comment\ncb_abc\nsecond line', 'cb_abc'],
    ["CB_TOKEN='cb_abc'", 'cb_abc'],
    ['', ''],
  ])('tokenFromFileText(%j) = %j', (text, token) => expect(tokenFromFileText(text)).toBe(token));
});

describe('defaultStatePath', () => {
  it.each([
    ['linux, XDG_STATE_HOME', { ...linux, env: { XDG_STATE_HOME: '/var/st' } }, /^\/var\/st\/cloud-backup\//],
    ['linux, relative XDG_STATE_HOME is ignored', { ...linux, env: { XDG_STATE_HOME: 'rel' } }, /^\/home\/me\/\.local\/state\/cloud-backup\//],
    ['windows without LOCALAPPDATA', { ...windows, env: {} }, /^C:\\Users\\me\\AppData\\Local\\cloud-backup\\/],
    ['macOS', { ...linux, homedir: '/Users/me', platform: 'darwin' as const }, /^\/Users\/me\/Library\/Application Support\/cloud-backup\//],
  ])('%s', (_name, e, pattern) => {
    expect(defaultStatePath('/x/Docs', 'posix', 'http://s', e)).toMatch(pattern);
  });

  it('treats Windows folders case-insensitively', () => {
    expect(defaultStatePath('C:\\Docs', 'win32', 'http://s', windows)).toBe(defaultStatePath('c:\\docs', 'win32', 'http://s', windows).replace('docs-', 'Docs-'));
  });
});
