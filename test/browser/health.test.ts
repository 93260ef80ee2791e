import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, newPage, signedIn } from '../helpers/browser.js';
import { startTestServer, type TestServer } from '../helpers/server.js';

const DAY = 24 * 3600 * 1000;

let s: TestServer;
let browser: Browser;

beforeAll(async () => {
  s = await startTestServer();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await s?.stop();
});

// Issue 17.1: the admin sees at a glance who backed up when, and who needs a look.
describe('the backup health page', () => {
  it('an admin reaches it from the listing and sees each client, the silent one warned about; others get the 403 page', async () => {
    const at = Date.now() - 3 * DAY;
    await s.server.catalog.recordPass({ namespace: 'bob', root: 'bob/docs', host: 'bobs-pc', folder: 'C:\\Users\\bob\\Documents', startedAt: at - 5000, endedAt: at, receivedAt: at, scanned: 120, uploaded: 7, failed: 0, deleted: 0, bytes: 4096, stopped: false });
    const report = await fetch(`${s.url}/api/passes`, {
      method: 'POST',
      headers: { ...s.auth('alice'), 'Content-Type': 'application/json' },
      body: JSON.stringify({ root: 'alice/photos', host: 'laptop', folder: '/home/alice/Pictures', startedAt: Date.now() - 2000, endedAt: Date.now(), scanned: 30, uploaded: 30, failed: 0, deleted: 0, bytes: 1 << 20 }),
    });
    expect(report.status).toBe(201);

    const root = await signedIn(browser, 'root', s.tokens.root);
    const { page, errors } = await newPage(root);
    await page.goto(`${s.url}/`);
    await page.click('a.health-link');
    expect(new URL(page.url()).pathname).toBe('/health');
    await expect(page.textContent('h1')).resolves.toBe('Backup health');
    await expect(page.textContent('#verdict')).resolves.toMatch(/^1 of 3 client\(s\) need a look\./);
    const bob = page.locator('tr[data-client="bob"]');
    await expect(bob.locator('.health-state').textContent()).resolves.toMatch(/^stale: no successful backup for 3d/);
    await expect(bob.locator('.passes').textContent()).resolves.toContain('bob/docs/ from bobs-pc:C:\\Users\\bob\\Documents');
    const alice = page.locator('tr[data-client="alice"]');
    await expect(alice.locator('.health-state').textContent()).resolves.toBe('OK');
    await expect(alice.locator('.passes').textContent()).resolves.toContain('30 looked at, 30 sent, 0 deleted');
    // alice's own requests: seen just now.
    await expect(alice.locator('.last-seen').textContent()).resolves.toMatch(/\((\d+s|0s) ago\)$/);
    expect(errors).toEqual([]);
    await root.close();

    const aliceCtx = await signedIn(browser, 'alice', s.tokens.alice);
    const mine = await newPage(aliceCtx);
    const res = await mine.page.goto(`${s.url}/health`);
    expect(res?.status()).toBe(403);
    await expect(mine.page.textContent('h1')).resolves.toBe('Not yours');
    expect(await mine.page.locator('a.health-link').count()).toBe(0);
    await aliceCtx.close();
  });
});
