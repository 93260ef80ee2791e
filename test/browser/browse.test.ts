import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sha256, sha256Body, sha256File } from '../helpers/bytes.js';
import { launchChromium, newPage, signedIn } from '../helpers/browser.js';
import { ROOT, startTestServer, type TestServer } from '../helpers/server.js';
import { readZip } from '../helpers/zip.js';

const OUT = join(ROOT, 'test-output', 'browser');
const UNICODE = 'Ünïcødé 日本語 ✓.txt';
/** Contains '/', so it is a folder `<script>alert(1)<` holding `script>"&'.txt`. */
const HOSTILE = `<script>alert(1)</script>"&'.txt`;
const encode = (p: string) => p.split('/').map(encodeURIComponent).join('/');

let s: TestServer;
let browser: Browser;
let context: BrowserContext;
let tmp: string;
const contents = new Map<string, Buffer>();

async function put(path: string, body: Buffer, mtime: number): Promise<void> {
  const r = await fetch(`${s.url}/files/${encode(path)}`, {
    method: 'PUT',
    headers: { ...s.auth('alice'), 'X-File-Mtime': String(mtime) },
    body: new Uint8Array(body),
  });
  expect(r.status, await r.clone().text()).toBe(201);
  contents.set(path, body);
}

const rowNames = (page: Page) => page.$$eval('#rows td.name a', (els) => els.map((e) => e.textContent ?? ''));
const poll = <T>(fn: () => Promise<T>) => expect.poll(fn, { timeout: 15_000, interval: 100 });

beforeAll(async () => {
  s = await startTestServer({ maxUploadBytes: 64 * 1024 * 1024 });
  tmp = await mkdtemp(join(tmpdir(), 'cb-browser-'));
  await mkdir(OUT, { recursive: true });
  const t0 = Date.UTC(2024, 4, 1, 10, 0, 0);
  await put(`alice/photos/${UNICODE}`, randomBytes(300 * 1024), t0);
  await put('alice/photos/big.bin', randomBytes(3 * 1024 * 1024 + 17), t0 + 60_000);
  await put('alice/photos/trip/day1.txt', Buffer.from('first day\n'), t0 + 120_000);
  await put('alice/photos/trip/day2.txt', Buffer.from('second day\n'), t0 + 180_000);
  const mix: Array<[string, number]> = [
    ['apple.txt', 30],
    ['banana.txt', 10],
    ['cherry.log', 20],
    ['apricot.md', 5],
  ];
  for (const [i, [name, size]] of mix.entries()) await put(`alice/mix/${name}`, randomBytes(size), t0 + i * 1000);
  await put('alice/mix/archive/old.txt', Buffer.from('old'), t0);
  await put(`alice/${HOSTILE}`, Buffer.from('hostile'), t0);
  // More than one page (200 rows) in one folder; 'needle' sorts after the first page.
  const many = Array.from({ length: 205 }, (_, i) => `alice/many/f${String(i).padStart(3, '0')}.txt`).concat('alice/many/needle.txt');
  for (let i = 0; i < many.length; i += 16) {
    await Promise.all(many.slice(i, i + 16).map((p) => put(p, Buffer.from(p), t0)));
  }
  browser = await launchChromium();
  context = await signedIn(browser, 'alice', s.tokens.alice);
});

afterAll(async () => {
  await browser?.close();
  await s?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('listing in Chromium', () => {
  it('signs in, shows the Unicode file, walks into folders; screenshots', async () => {
    const { page, errors } = await newPage(context);
    const res = await page.goto(`${s.url}/`);
    expect(res?.status()).toBe(200);
    expect(new URL(page.url()).pathname).toBe('/browse/alice/');
    const h = res?.headers() ?? {};
    expect(h['content-security-policy']).toContain("script-src 'self'");
    expect(h['content-security-policy']).not.toContain('unsafe-inline');
    expect(h['cache-control']).toBe('no-store');
    expect(h['x-content-type-options']).toBe('nosniff');
    expect(h['referrer-policy']).toBe('no-referrer');
    await expect(page.textContent('.who')).resolves.toContain('alice');
    await poll(() => page.textContent('#summary')).toMatch(/216 files/);

    await page.click('#rows a:text-is("photos/")');
    await page.waitForURL('**/browse/alice/photos/');
    expect(await rowNames(page)).toEqual(['trip/', 'big.bin', UNICODE]);
    const row = page.locator('#rows tr', { hasText: UNICODE });
    await expect(row.locator('td.size').textContent()).resolves.toBe('300 KiB');
    await expect(row.locator('.badge').textContent()).resolves.toBe('hot');
    // The page script turned UTC into local time; the datetime attribute keeps the instant.
    await expect(row.locator('td.mtime time').getAttribute('datetime')).resolves.toBe('2024-05-01T10:00:00.000Z');
    await expect(row.locator('td.mtime time').textContent()).resolves.not.toContain('UTC');
    await poll(() => page.textContent('#summary')).toMatch(/216 files/);

    await page.screenshot({ path: join(OUT, 'listing.png'), fullPage: true });

    await page.click('#rows a:text-is("trip/")');
    await page.waitForURL('**/browse/alice/photos/trip/');
    expect(await rowNames(page)).toEqual(['day1.txt', 'day2.txt']);
    await expect(page.locator('.crumbs a[aria-current="page"]').textContent()).resolves.toBe('trip');
    await page.click('.crumbs a:text-is("photos")');
    await page.waitForURL('**/browse/alice/photos/');

    await page.setViewportSize({ width: 390, height: 844 });
    await page.screenshot({ path: join(OUT, 'listing-phone.png'), fullPage: true });
    // Readable at phone width: nothing wider than the screen.
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(0);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('filters on the server (beyond the loaded page) from the keyboard, loads more on scroll', async () => {
    const { page, errors } = await newPage(context);
    await page.goto(`${s.url}/browse/alice/many/`);
    expect((await rowNames(page)).length).toBe(200);
    expect(await rowNames(page)).not.toContain('needle.txt');
    await expect(page.locator('#more').isVisible()).resolves.toBe(true);

    await page.keyboard.press('/');
    await expect(page.evaluate(() => document.activeElement?.id)).resolves.toBe('q');
    await page.keyboard.type('NEEDLE');
    // 'N' alone already finds only needle.txt: wait for the reload of the whole word.
    await poll(async () => new URL(page.url()).searchParams.get('q')).toBe('NEEDLE');
    expect(await rowNames(page)).toEqual(['needle.txt']);
    await expect(page.locator('#more').isHidden()).resolves.toBe(true);

    await page.fill('#q', 'zzz-nothing');
    await poll(() => page.locator('#empty').isVisible()).toBe(true);
    await expect(page.textContent('#empty')).resolves.toContain('matches');

    await page.fill('#q', '');
    await poll(async () => (await rowNames(page)).length).toBe(200);
    await page.locator('#more').scrollIntoViewIfNeeded();
    await poll(async () => (await rowNames(page)).length).toBe(206);
    const names = await rowNames(page);
    expect(new Set(names).size).toBe(206);
    expect(names.at(-1)).toBe('needle.txt');
    await expect(page.locator('#more').isHidden()).resolves.toBe(true);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('sorts by size and date, both ways, keeping the filter', async () => {
    const { page } = await newPage(context);
    await page.goto(`${s.url}/browse/alice/mix/`);
    expect(await rowNames(page)).toEqual(['archive/', 'apple.txt', 'apricot.md', 'banana.txt', 'cherry.log']);
    await page.click('thead a[data-sort="size"]');
    await page.waitForURL('**/mix/?sort=size');
    expect(await rowNames(page)).toEqual(['archive/', 'apricot.md', 'banana.txt', 'cherry.log', 'apple.txt']);
    await expect(page.getAttribute('th.size', 'aria-sort')).resolves.toBe('ascending');
    await page.click('thead a[data-sort="size"]');
    await page.waitForURL('**/mix/?sort=size&order=desc');
    expect(await rowNames(page)).toEqual(['archive/', 'apple.txt', 'cherry.log', 'banana.txt', 'apricot.md']);
    await expect(page.getAttribute('th.size', 'aria-sort')).resolves.toBe('descending');

    await page.fill('#q', 'ap');
    await poll(() => rowNames(page)).toEqual(['apple.txt', 'apricot.md']);
    await page.click('thead a[data-sort="mtime"]');
    await page.waitForURL((u) => u.searchParams.get('sort') === 'mtime' && u.searchParams.get('q') === 'ap');
    expect(await rowNames(page)).toEqual(['apple.txt', 'apricot.md']);
    await page.click('thead a[data-sort="mtime"]');
    await page.waitForURL((u) => u.searchParams.get('order') === 'desc');
    expect(await rowNames(page)).toEqual(['apricot.md', 'apple.txt']);
    await page.close();
  });

  it('downloads a file under its Unicode name with the right bytes', async () => {
    const { page } = await newPage(context);
    await page.goto(`${s.url}/browse/alice/photos/`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click(`#rows a:text-is("${UNICODE}")`)]);
    expect(download.suggestedFilename()).toBe(UNICODE);
    const saved = join(tmp, 'download.bin');
    await download.saveAs(saved);
    expect(await sha256File(saved)).toBe(sha256(contents.get(`alice/photos/${UNICODE}`) as Buffer));
    await page.close();
  });

  it('downloads a folder as one .zip with every file below it', async () => {
    const { page } = await newPage(context);
    await page.goto(`${s.url}/browse/alice/photos/`);
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#zip')]);
    expect(download.suggestedFilename()).toBe('photos.zip');
    const saved = join(tmp, 'photos.zip');
    await download.saveAs(saved);
    const entries = readZip(await readFile(saved));
    const expected = ['big.bin', 'trip/day1.txt', 'trip/day2.txt', UNICODE];
    expect(entries.map((e) => e.name)).toEqual(expected);
    for (const e of entries) {
      const body = contents.get(`alice/photos/${e.name}`) as Buffer;
      expect(e.size).toBe(body.byteLength);
      expect(e.sha256).toBe(sha256(body));
      expect(e.utf8Flag).toBe(true);
    }
    // DOS times have 2 s steps and no zone; the zip is written in the server's local time.
    expect(Math.abs((entries[3] as { modified: Date }).modified.getTime() - Date.UTC(2024, 4, 1, 10, 0, 0))).toBeLessThanOrEqual(2000);
    await page.close();
  });

  it('shows a hostile name as text and runs no script from it', async () => {
    const { page, dialogs, errors } = await newPage(context);
    await page.goto(`${s.url}/browse/alice/`);
    const folder = page.locator('#rows a', { hasText: '<script>alert(1)<' });
    await expect(folder.textContent()).resolves.toBe('<script>alert(1)</');
    await folder.click();
    await page.waitForURL((u) => u.pathname === '/browse/alice/%3Cscript%3Ealert(1)%3C/');
    expect(await page.title()).toBe('<script>alert(1)< - cloud-backup');
    expect(await rowNames(page)).toEqual([`script>"&'.txt`]);
    await expect(page.locator('#rows a').getAttribute('href')).resolves.toBe(`/files/alice/${encode(HOSTILE)}`);
    // Our own script is the only one; the filter reflects the name as text as well.
    expect(await page.$$eval('script', (els) => els.map((e) => new URL((e as HTMLScriptElement).src).pathname))).toEqual([
      '/assets/browse.js',
      '/assets/history.js',
    ]);
    await page.fill('#q', '"&\'');
    await page.waitForURL((u) => u.searchParams.get('q') === '"&\'');
    await poll(() => rowNames(page)).toEqual([`script>"&'.txt`]);
    await page.reload();
    await expect(page.inputValue('#q')).resolves.toBe('"&\'');
    expect(dialogs).toEqual([]);
    expect(errors).toEqual([]);
    const r = await fetch(`${s.url}/files/alice/${encode(HOSTILE)}`, { headers: s.auth('alice') });
    expect(await r.text()).toBe('hostile');
    await page.close();
  });
});

describe('uploads from the page', () => {
  let tusOffered = false;
  beforeAll(async () => {
    const r = await fetch(`${s.url}/uploads/`, { method: 'OPTIONS', headers: s.auth('alice') });
    tusOffered = (r.headers.get('tus-version') ?? '').split(',').includes('1.0.0');
  });

  async function uploaded(path: string) {
    const r = await fetch(`${s.url}/api/files?prefix=${encodeURIComponent(path)}`, { headers: s.auth('alice') });
    const body = (await r.json()) as { items: Array<{ path: string; sha256: string; size: number; mtime: number }> };
    return body.items.find((i) => i.path === path);
  }

  it('uploads through the file chooser (tus when offered, several chunks) and lists the file', async () => {
    const name = 'Ÿ upload ✓.bin';
    const local = join(tmp, name);
    const data = randomBytes(9 * 1024 * 1024 + 5);
    await writeFile(local, data);
    const mtime = new Date(Date.UTC(2023, 0, 2, 3, 4, 5));
    await utimes(local, mtime, mtime);
    const { page, errors } = await newPage(context);
    const requests: string[] = [];
    page.on('request', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/uploads') || path.startsWith('/files/')) requests.push(`${r.method()} ${path.split('/')[1]}`);
    });
    await page.goto(`${s.url}/browse/alice/photos/`);
    const [chooser] = await Promise.all([page.waitForEvent('filechooser'), page.click('label[for="upload-files"]')]);
    expect(chooser.isMultiple()).toBe(true);
    await chooser.setFiles(local);
    await page.locator('#uploads li.done').waitFor({ timeout: 30_000 });
    await poll(() => rowNames(page)).toContain(name);
    await expect(page.locator('#uploads li progress').getAttribute('value')).resolves.toBe(String(data.byteLength));

    const meta = await uploaded(`alice/photos/${name}`);
    expect(meta).toMatchObject({ size: data.byteLength, sha256: sha256(data), mtime: (await stat(local)).mtime.getTime() });
    const g = await fetch(`${s.url}/files/${encode(`alice/photos/${name}`)}`, { headers: s.auth('alice') });
    expect(await sha256Body(g)).toEqual({ sha256: sha256(data), size: data.byteLength });
    if (tusOffered) {
      expect(requests.filter((r) => r === 'POST uploads')).toHaveLength(1);
      expect(requests.filter((r) => r === 'PATCH uploads')).toHaveLength(3);
    } else {
      expect(requests).toContain('PUT files');
    }
    // The summary in the header was refreshed after the upload.
    await poll(() => page.textContent('#summary')).toMatch(/217 files/);
    await page.screenshot({ path: join(OUT, 'uploaded.png') });
    expect(errors).toEqual([]);
    await page.close();
  });

  it('falls back to PUT with progress when the server offers no tus', async () => {
    const local = join(tmp, 'fallback.txt');
    await writeFile(local, 'uploaded with PUT\n');
    const { page } = await newPage(context);
    await page.route('**/uploads/', (route) =>
      route.request().method() === 'OPTIONS' ? route.fulfill({ status: 404, body: '{"error":"not found"}' }) : route.continue(),
    );
    const methods: string[] = [];
    page.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/files/')) methods.push(r.method());
    });
    await page.goto(`${s.url}/browse/alice/mix/`);
    await page.setInputFiles('#upload-files', local);
    await poll(() => rowNames(page)).toContain('fallback.txt');
    expect(methods).toContain('PUT');
    expect((await uploaded('alice/mix/fallback.txt'))?.sha256).toBe(sha256('uploaded with PUT\n'));
    await page.close();
  });

  it('resumes a tus upload after a failed chunk', async () => {
    if (!tusOffered) return;
    const local = join(tmp, 'resume.bin');
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(local, data);
    const { page } = await newPage(context);
    let patches = 0;
    const heads: string[] = [];
    await page.route(/\/uploads\/[^/]+$/, (route) => {
      const m = route.request().method();
      if (m === 'HEAD') heads.push(m);
      // The second chunk is lost on the way: the client must ask for the offset and go on.
      if (m === 'PATCH' && ++patches === 2) return route.abort('connectionreset');
      return route.continue();
    });
    await page.goto(`${s.url}/browse/alice/mix/`);
    await page.setInputFiles('#upload-files', local);
    await page.locator('#uploads li.done').waitFor({ timeout: 30_000 });
    expect(heads.length).toBeGreaterThanOrEqual(1);
    expect(patches).toBe(3);
    expect((await uploaded('alice/mix/resume.bin'))?.sha256).toBe(sha256(data));
    await page.close();
  });

  it('uploads files dropped onto the page', async () => {
    const { page } = await newPage(context);
    await page.goto(`${s.url}/browse/alice/mix/`);
    // A synthetic drop with File objects (a real OS drag cannot be scripted headless).
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File(['dropped one'], 'dropped-1.txt', { type: 'text/plain' }));
      dt.items.add(new File(['dropped two'], 'dropped-2.txt', { type: 'text/plain' }));
      document.body.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true }));
      document.body.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await poll(() => rowNames(page)).toEqual(expect.arrayContaining(['dropped-1.txt', 'dropped-2.txt']));
    expect((await uploaded('alice/mix/dropped-2.txt'))?.sha256).toBe(sha256('dropped two'));
    await expect(page.evaluate(() => document.body.classList.contains('dragging'))).resolves.toBe(false);
    await page.close();
  });

  it('shows a refused upload as failed with the server message', async () => {
    // A legal Linux name the server refuses (a backslash would be a separator on Windows).
    const local = join(tmp, 'back\\slash.txt');
    await writeFile(local, 'backslash');
    const { page } = await newPage(context);
    await page.goto(`${s.url}/browse/alice/mix/`);
    await page.setInputFiles('#upload-files', local);
    await page.locator('#uploads li.failed').waitFor({ timeout: 15_000 });
    await expect(page.textContent('#uploads li.failed .state')).resolves.toMatch(/failed: .*backslash/);
    await page.close();
  });
});

describe('sign-out in Chromium', () => {
  it('forgets cached Basic credentials after /logout', async () => {
    // No httpCredentials here: Chromium's own credential cache is what sign-out has to clear.
    const ctx = await browser.newContext();
    const page = await ctx.newPage();
    const withCreds = new URL(s.url);
    withCreds.username = 'alice';
    withCreds.password = s.tokens.alice;
    expect((await page.goto(`${withCreds.href}browse/alice/`))?.status()).toBe(200);
    // Plain URLs now work from the cache.
    expect((await page.goto(`${s.url}/browse/alice/mix/`))?.status()).toBe(200);
    const [res] = await Promise.all([page.waitForNavigation(), page.click('a.signout')]);
    expect(res?.status()).toBe(401);
    expect(res?.headers()['www-authenticate']).toBeUndefined();
    await expect(page.textContent('h1')).resolves.toBe('Signed out');
    // The style sheet is public, so the signed-out page still looks right.
    await expect(page.evaluate(() => getComputedStyle(document.body).margin)).resolves.toBe('0px');
    const after = await page.goto(`${s.url}/browse/alice/`).catch((e: Error) => e);
    // Headless Chromium has no password prompt: it either shows the 401 or fails the navigation.
    if (after instanceof Error) expect(after.message).toMatch(/ERR_INVALID_AUTH_CREDENTIALS/);
    else expect(after?.status()).toBe(401);
    await ctx.close();
  });
});
