import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256File } from '../helpers/bytes.js';
import { launchChromium, newPage, signedIn } from '../helpers/browser.js';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.js';
import { waitFor } from '../helpers/wait.js';
import { readZip } from '../helpers/zip.js';

const OUT = join(ROOT, 'test-output', 'browser');
const HOSTILE = `<img src=x onerror=alert(1)>"&'.txt`;
const encode = (p: string) => p.split('/').map(encodeURIComponent).join('/');

let s: TestServer;
let browser: Browser;
let alice: BrowserContext;
let tmp: string;

/** PUT as alice; returns the server's upload time of the new version. */
async function put(path: string, body: string): Promise<number> {
  const r = await fetch(`${s.url}/files/${encode(path)}`, { method: 'PUT', headers: s.auth('alice'), body });
  expect([200, 201], await r.clone().text()).toContain(r.status);
  return ((await r.json()) as { uploadedAt: number }).uploadedAt;
}

async function del(path: string): Promise<void> {
  const r = await fetch(`${s.url}/files/${encode(path)}`, { method: 'DELETE', headers: s.auth('alice') });
  expect(r.status).toBe(204);
}

/** The current content of a path over HTTP: its SHA-256, or null when it is gone. */
async function currentSha(path: string): Promise<string | null> {
  const r = await fetch(`${s.url}/files/${encode(path)}`, { headers: s.auth('alice') });
  if (r.status === 404) return null;
  expect(r.status).toBe(200);
  return sha256(Buffer.from(await r.arrayBuffer()));
}

/** Every current path below `prefix` with its SHA-256, over /api/files. */
async function tree(prefix: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let cursor: string | null = null;
  do {
    const q = new URLSearchParams({ prefix, limit: '1000', ...(cursor ? { cursor } : {}) });
    const r = await fetch(`${s.url}/api/files?${q}`, { headers: s.auth('alice') });
    const page = (await r.json()) as { items: Array<{ path: string; sha256: string }>; nextCursor: string | null };
    for (const i of page.items) out[i.path] = i.sha256;
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/** A whole second after `ms`, then waits until the clock has passed it: writes after it are later. */
async function momentAfter(ms: number): Promise<number> {
  const t = Math.floor(ms / 1000) * 1000 + 1000;
  await waitFor('the clock to pass the moment', () => Date.now() > t, 5000, 10);
  return t;
}

const texts = (page: Page, selector: string) => page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ''));
const poll = <T>(fn: () => Promise<T> | T) => expect.poll(fn, { timeout: 15_000, interval: 100 });

beforeAll(async () => {
  s = await startTestServer();
  tmp = await mkdtemp(join(tmpdir(), 'cb-history-'));
  browser = await launchChromium();
  alice = await signedIn(browser, 'alice', s.tokens.alice);
});

afterAll(async () => {
  await browser?.close();
  await s?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('a file\'s versions', () => {
  it('lists them newest first, downloads an old one, restores it', async () => {
    const drafts = ['first draft\n', 'second, longer draft\n', 'final\n'];
    for (const d of drafts) await put('alice/docs/report.txt', d);
    const { page, errors } = await newPage(alice);
    await page.goto(`${s.url}/browse/alice/docs/`);
    await page.click('#rows tr:has-text("report.txt") button.versions');
    await expect(page.locator('#versions').isVisible()).resolves.toBe(true);
    await expect(page.textContent('#versions-name')).resolves.toBe('report.txt');
    await poll(() => page.locator('#versions-rows tr').count()).toBe(3);
    await expect(page.locator('#versions-rows tr').first().locator('.badge').textContent()).resolves.toBe('current');
    // The newest has nothing to restore; every older one has.
    expect(await page.locator('#versions-rows tr').first().locator('button').count()).toBe(0);
    expect(await texts(page, '#versions-rows td.size')).toEqual(['6 B', '21 B', '12 B']);

    const oldest = page.locator('#versions-rows tr').nth(2);
    const [download] = await Promise.all([page.waitForEvent('download'), oldest.locator('a').click()]);
    const saved = join(tmp, 'oldest.txt');
    await download.saveAs(saved);
    expect(await sha256File(saved)).toBe(sha256(drafts[0] as string));
    await page.screenshot({ path: join(OUT, 'versions.png') });

    await oldest.locator('button:text-is("Restore")').click();
    await poll(() => currentSha('alice/docs/report.txt')).toBe(sha256(drafts[0] as string));
    // The restore is a new version on top; the listing shows the restored size.
    await poll(() => page.locator('#versions-rows tr').count()).toBe(4);
    expect(await texts(page, '#versions-rows td.size')).toEqual(['12 B', '6 B', '21 B', '12 B']);
    await poll(() => page.textContent('#rows tr:has-text("report.txt") td.size')).toBe('12 B');
    await page.click('#versions-close');
    await expect(page.locator('#versions').isVisible()).resolves.toBe(false);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('deleted files', () => {
  it('lists what was deleted below the folder, as text, and restores one', async () => {
    await put('alice/bin/keep.txt', 'kept');
    await put(`alice/bin/${HOSTILE}`, 'hostile content');
    await put('alice/bin/sub/deep.txt', 'deep content');
    await del(`alice/bin/${HOSTILE}`);
    await del('alice/bin/sub/deep.txt');
    const { page, dialogs, errors } = await newPage(alice);
    await page.goto(`${s.url}/browse/alice/bin/`);
    expect(await texts(page, '#rows td.name a')).toEqual(['keep.txt']);
    await page.click('#show-trash');
    await expect(page.getAttribute('#show-trash', 'aria-expanded')).resolves.toBe('true');
    await poll(() => texts(page, '#trash-rows td.name a')).toEqual([HOSTILE, 'sub/deep.txt']);

    const row = page.locator('#trash-rows tr', { hasText: HOSTILE });
    await row.locator('button:text-is("Restore")').click();
    await poll(() => currentSha(`alice/bin/${HOSTILE}`)).toBe(sha256('hostile content'));
    await expect(row.locator('.done').textContent()).resolves.toBe('restored');
    // The listing was reloaded with the restored file; the other one stays deleted.
    await poll(() => texts(page, '#rows td.name a')).toEqual([HOSTILE, 'keep.txt']);
    expect(await currentSha('alice/bin/sub/deep.txt')).toBeNull();
    await page.screenshot({ path: join(OUT, 'trash.png') });
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  });
});

describe('the folder as of a moment', () => {
  const before: Record<string, string> = {
    'alice/proj/a.txt': 'a, as it was\n',
    'alice/proj/b.txt': 'b, deleted later\n',
    'alice/proj/constructor/c.txt': 'c in a folder\n',
    'alice/proj/constructor/d.txt': 'd in a folder\n',
  };
  let at = 0;

  beforeAll(async () => {
    let last = 0;
    for (const [path, body] of Object.entries(before)) last = Math.max(last, await put(path, body));
    at = await momentAfter(last);
    // Then: a changed, b deleted, a new file, and the whole of constructor/ deleted.
    await put('alice/proj/a.txt', 'a, changed since\n');
    await del('alice/proj/b.txt');
    await put('alice/proj/new.txt', 'added since\n');
    await del('alice/proj/constructor/c.txt');
    await del('alice/proj/constructor/d.txt');
  });

  it('shows the folder at the moment picked, walks into a folder that is gone now, downloads the .zip', async () => {
    const { page, errors } = await newPage(alice);
    await page.goto(`${s.url}/browse/alice/proj/`);
    expect(await texts(page, '#rows td.name a')).toEqual(['a.txt', 'new.txt']);
    // The picker takes local time to the second, as a reader would type it.
    const local = await page.evaluate((ms) => {
      const d = new Date(ms);
      const p = (n: number) => String(n).padStart(2, '0');
      return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
    }, at);
    await page.fill('#as-of-time', local);
    await page.click('#as-of button[type="submit"]');
    await page.waitForURL((u) => u.searchParams.get('at') === new Date(at).toISOString());
    await poll(() => page.textContent('#snapshot-status')).toBe('1 folder, 2 files.');
    expect(await texts(page, '#snapshot-folders td.name a')).toEqual(['constructor/']);
    expect(await texts(page, '#snapshot-files td.name a')).toEqual(['a.txt', 'b.txt']);
    await expect(page.locator('#snapshot-files tr', { hasText: 'a.txt' }).locator('td.size').textContent()).resolves.toBe('13 B');
    await expect(page.locator('#rows').isVisible()).resolves.toBe(false);
    await expect(page.inputValue('#as-of-time')).resolves.toBe(local);
    await page.screenshot({ path: join(OUT, 'as-of.png'), fullPage: true });

    // A file of the past downloads with the bytes it had then.
    const [one] = await Promise.all([page.waitForEvent('download'), page.click('#snapshot-files a:text-is("a.txt")')]);
    await one.saveAs(join(tmp, 'a-then.txt'));
    expect(await sha256File(join(tmp, 'a-then.txt'))).toBe(sha256(before['alice/proj/a.txt'] as string));

    const [zip] = await Promise.all([page.waitForEvent('download'), page.click('#snapshot-zip')]);
    const saved = join(tmp, 'proj-then.zip');
    await zip.saveAs(saved);
    const entries = readZip(await readFile(saved));
    expect(entries.map((e) => e.name)).toEqual(['a.txt', 'b.txt', 'constructor/c.txt', 'constructor/d.txt']);
    for (const e of entries) expect(e.sha256).toBe(sha256(before[`alice/proj/${e.name}`] as string));

    // constructor/ (a prototype name must not trip the grouping) holds nothing now, yet opens as it was.
    await page.click('#snapshot-folders a:text-is("constructor/")');
    await page.waitForURL((u) => u.pathname === '/browse/alice/proj/constructor/' && u.searchParams.has('at'));
    await poll(() => texts(page, '#snapshot-files td.name a')).toEqual(['c.txt', 'd.txt']);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('rolls the folder back only after the confirmation', async () => {
    const { page, errors } = await newPage(alice);
    const now = await tree('alice/proj/');
    await page.goto(`${s.url}/browse/alice/proj/?at=${at}`);
    await poll(() => page.textContent('#snapshot-status')).toBe('1 folder, 2 files.');
    await page.click('#rollback');
    await expect(page.locator('#rollback-dialog').isVisible()).resolves.toBe(true);
    await page.screenshot({ path: join(OUT, 'rollback-confirm.png') });
    await page.click('#rollback-cancel');
    await expect(page.locator('#rollback-dialog').isVisible()).resolves.toBe(false);
    expect(await tree('alice/proj/')).toEqual(now);

    await page.click('#rollback');
    await page.click('#rollback-confirm');
    await poll(() => page.textContent('#snapshot-status')).toMatch(/^Rolled back/);
    const expected = Object.fromEntries(Object.entries(before).map(([p, body]) => [p, sha256(body)]));
    expect(await tree('alice/proj/')).toEqual(expected);
    expect(await currentSha('alice/proj/new.txt')).toBeNull();
    expect(await currentSha('alice/proj/constructor/c.txt')).toBe(sha256(before['alice/proj/constructor/c.txt'] as string));
    expect(errors).toEqual([]);
    await page.close();
  });

  it('is read-only for an admin looking at another namespace', async () => {
    const root = await signedIn(browser, 'root', s.tokens.root);
    const { page, errors } = await newPage(root);
    await page.goto(`${s.url}/browse/alice/proj/?at=${at}`);
    await poll(() => page.textContent('#snapshot-status')).toBe('1 folder, 2 files.');
    expect(await page.locator('#rollback').count()).toBe(0);
    await expect(page.locator('#snapshot-zip').isVisible()).resolves.toBe(true);
    await page.click('#snapshot-files tr:has-text("a.txt") button:text-is("Versions")');
    await poll(() => page.locator('#versions-rows tr').count()).toBeGreaterThan(1);
    expect(await page.locator('#versions-rows button').count()).toBe(0);
    expect(await page.locator('#versions-rows a').count()).toBeGreaterThan(1);
    expect(errors).toEqual([]);
    await root.close();
  });
});
