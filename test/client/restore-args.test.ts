import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import type { ArgsEnv } from '../../client/args.js';
import { UsageError } from '../../client/errors.js';
import { parseRemoteFolder, parseRestoreArgs, parseTime, type RestoreConfig } from '../../client/restore-args.js';
import { ROOT } from '../helpers/server.js';

const execFileP = promisify(execFile);

const linux: ArgsEnv = { env: {}, cwd: '/home/me', homedir: '/home/me', platform: 'linux' };
const windows: ArgsEnv = { env: {}, cwd: 'C:\\Users\\me', homedir: 'C:\\Users\\me', platform: 'win32' };
const T = ['--token', 'cb_x'];

function config(argv: string[], e: ArgsEnv = linux): RestoreConfig {
  const r = parseRestoreArgs(argv, e);
  if (r.help) throw new Error('unexpected help');
  return r.config;
}

describe('parseTime', () => {
  it.each([
    ['1764680000000', 1764680000000],
    ['2026-12-01T14:30:00Z', Date.UTC(2026, 11, 1, 14, 30)],
    ['2026-12-01T14:30:00.250Z', Date.UTC(2026, 11, 1, 14, 30, 0, 250)],
    ['2026-12-01T14:30:00+02:00', Date.UTC(2026, 11, 1, 12, 30)],
    // Without an offset ISO 8601 means local time, a bare date too (Date.parse reads that as UTC).
    ['2026-12-01', new Date(2026, 11, 1).getTime()],
    ['2026-12-01T14:30', new Date(2026, 11, 1, 14, 30).getTime()],
    ['2026-12-01 14:30:05', new Date(2026, 11, 1, 14, 30, 5).getTime()],
  ])('%s -> %i', (v, ms) => expect(parseTime('--at', v)).toBe(ms));

  it.each(['', 'yesterday', '1764680000', '12', '2026-13-01', '2026-12-01T25:00', '01/12/2026', '1e12', '99999999999999999999'])('refuses %j', (v) => {
    expect(() => parseTime('--at', v)).toThrow(UsageError);
  });

  // This process may well run in UTC, where local and UTC agree: ask children with a zone set.
  it.each([
    ['Asia/Kolkata', '2026-11-30T10:00', Date.UTC(2026, 10, 30, 4, 30)],
    ['Asia/Kolkata', '2026-11-30', Date.UTC(2026, 10, 29, 18, 30)],
    ['America/New_York', '2026-11-30 10:00:05.5', Date.UTC(2026, 10, 30, 15, 0, 5, 500)],
    ['America/New_York', '2026-07-01T10:00', Date.UTC(2026, 6, 1, 14, 0)],
    ['America/New_York', '2026-11-30T10:00Z', Date.UTC(2026, 10, 30, 10, 0)],
    ['America/New_York', '2026-11-30T10:00+01:00', Date.UTC(2026, 10, 30, 9, 0)],
  ])('TZ=%s: %s is %i', async (tz, value, ms) => {
    const code = `import { parseTime } from './client/restore-args.ts'; console.log(parseTime('--at', process.argv[1]));`;
    const { stdout } = await execFileP(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code, value], { cwd: ROOT, env: { ...process.env, TZ: tz } });
    expect(Number(stdout.trim())).toBe(ms);
  });

  it('says so when a number looks like seconds', () => {
    expect(() => parseTime('--at', '1764680000')).toThrow(/looks like seconds.*1764680000000/);
  });
});

describe('parseRemoteFolder', () => {
  it.each([
    ['alice/Documents', ['alice', 'Documents']],
    ['alice/Documents/', ['alice', 'Documents']],
    ['/alice/Documents', ['alice', 'Documents']],
    ['alice', ['alice']],
    ['alice\\laptop\\Documents', ['alice', 'laptop', 'Documents']],
    ['alice/Fotos 2024/ü', ['alice', 'Fotos 2024', 'ü']],
  ])('%j -> %j', (v, segments) => expect(parseRemoteFolder(v)).toEqual(segments));

  it.each(['', '/', 'alice//Documents', 'alice/../bob', 'alice/./x', '..'])('refuses %j', (v) => {
    expect(() => parseRemoteFolder(v)).toThrow(UsageError);
  });
});

describe('parseRestoreArgs', () => {
  it('defaults', () => {
    expect(config(['alice/Docs', 'out', ...T])).toEqual({
      remote: ['alice', 'Docs'],
      folder: '/home/me/out',
      server: 'http://127.0.0.1:9090',
      token: 'cb_x',
      at: null,
      concurrency: 4,
      limitRate: null,
      overwrite: false,
      windowsNames: false,
    } satisfies RestoreConfig);
  });

  it('flags', () => {
    const c = config(['alice/Docs', '/srv/restore', '--at', '2026-12-01T00:00:00Z', '--server', 'http://b:9090/', '--token', 'cb_y', '--concurrency', '8', '--limit-rate', '2M', '--overwrite', '--windows-names']);
    expect(c).toMatchObject({ folder: '/srv/restore', at: Date.UTC(2026, 11, 1), server: 'http://b:9090', token: 'cb_y', concurrency: 8, limitRate: 2 * 1024 * 1024, overwrite: true, windowsNames: true });
  });

  it('environment, and a flag wins over it', () => {
    const e = { ...linux, env: { CB_SERVER: 'http://env:1', CB_TOKEN: 'cb_env' } };
    expect(config(['alice', 'out'], e)).toMatchObject({ server: 'http://env:1', token: 'cb_env' });
    expect(config(['alice', 'out', '--token', 'cb_flag'], e).token).toBe('cb_flag');
  });

  it('the token from --token-file or CB_TOKEN_FILE (relative to cwd), as the backup client reads it', () => {
    const files: Record<string, string> = { '/etc/cb/token': 'cb_file\n', '/home/me/t.env': '# mine\nCB_TOKEN=cb_envfile\n' };
    const e: ArgsEnv = { ...linux, readTextFile: (p) => files[p] ?? (() => { throw Object.assign(new Error('no'), { code: 'ENOENT' }); })() };
    expect(parseRestoreArgs(['alice', 'out', '--token-file', '/etc/cb/token'], e)).toMatchObject({ config: { token: 'cb_file' }, warnings: [] });
    expect(config(['alice', 'out'], { ...e, env: { CB_TOKEN_FILE: 't.env' } }).token).toBe('cb_envfile');
    expect(() => config(['alice', 'out', '--token-file', '/nope'], e)).toThrow(/--token-file \/nope: cannot read it \(ENOENT\)/);
    expect(() => config(['alice', 'out', '--token-file', '/etc/cb/token', ...T], e)).toThrow(/either --token or --token-file/);
    // A token on the command line works, with a note that others can see it.
    expect(parseRestoreArgs(['alice', 'out', ...T], e)).toMatchObject({ warnings: [expect.stringMatching(/visible to other users/)] });
  });

  it('on Windows: Windows paths and Windows names', () => {
    expect(config(['alice/Docs', 'D:\\Restore', ...T], windows)).toMatchObject({ folder: 'D:\\Restore', windowsNames: true });
    expect(config(['alice/Docs', 'out', ...T], windows).folder).toBe('C:\\Users\\me\\out');
  });

  it('help', () => expect(parseRestoreArgs(['--help'], linux)).toEqual({ help: true }));

  it.each([
    [[], /expected <namespace\/folder> <local folder>, got 0/],
    [['alice/Docs'], /got 1 argument$/],
    [['alice/Docs', 'out', 'more', ...T], /got 3/],
    [['alice/Docs', 'out'], /no token/],
    [['alice/Docs', 'out', ...T, '--at', 'soon'], /--at/],
    [['alice/Docs', 'out', ...T, '--concurrency', '0'], /--concurrency/],
    [['alice/Docs', 'out', ...T, '--limit-rate', 'fast'], /--limit-rate/],
    [['alice/Docs', 'out', ...T, '--server', 'ftp://x'], /--server/],
    [['alice/Docs', 'out', ...T, '--bogus'], /unknown option --bogus/],
    [['alice/../x', 'out', ...T], /"\.\."/],
  ])('%j is bad usage', (argv, message) => {
    expect(() => parseRestoreArgs(argv, linux)).toThrow(UsageError);
    expect(() => parseRestoreArgs(argv, linux)).toThrow(message);
  });
});
