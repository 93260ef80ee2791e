import { describe, expect, it } from 'vitest';
import { ASSET_URLS, contentVersion } from '../../handlers/browse/assets.js';
import { parseListingParams, type ListingParams } from '../../handlers/browse/listing.js';
import {
  listingHref,
  renderBreadcrumbs,
  renderListingPage,
  renderRows,
  renderSummary,
  storageHtml,
  timeHtml,
  type ListingView,
} from '../../handlers/browse/page.js';
import { BROWSE_JS } from '../../handlers/browse/browse-js.generated.js';
import { HISTORY_JS } from '../../handlers/browse/history-js.generated.js';
import { CONTENT_SECURITY_POLICY } from '../../handlers/browse/security.js';
import { zipName } from '../../handlers/browse/zip.js';
import type { DirListing, FileEntry, Stats } from '../../storage/catalog/catalog.js';

const HOSTILE = `<img src=x onerror=alert(1)>"&'.txt`;

function entry(name: string, over: Partial<FileEntry> = {}): FileEntry {
  return {
    path: `alice/docs/${name}`,
    namespace: 'alice',
    dir: 'alice/docs',
    name,
    sha256: 'a'.repeat(64),
    size: 1536,
    mtime: Date.UTC(2024, 0, 2, 3, 4, 5),
    uploadedAt: Date.UTC(2024, 5, 6, 7, 8, 9),
    version: '1',
    state: 'hot',
    codec: null,
    storedSize: 1536,
    lastAccess: 0,
    ...over,
  };
}

const PARAMS: ListingParams = { sort: 'name', descending: false, q: '' };
const STATS: Stats = { files: 3, versions: 3, historyBytes: 0, usedBytes: 1000, quotaBytes: null, deleted: 0, blobs: 2, logicalBytes: 1000, blobBytes: 600, storedBytes: 300, hot: 1, cold: 1 };

function view(over: Partial<ListingView> = {}): ListingView {
  return {
    dir: 'alice/docs',
    user: { name: 'alice', admin: false },
    params: PARAMS,
    listing: { folders: [], files: [], nextCursor: null },
    stats: STATS,
    writable: true,
    assets: ASSET_URLS,
    ...over,
  };
}

describe('rows', () => {
  it('escapes hostile folder and file names and percent-encodes their links', () => {
    const listing: DirListing = { folders: [`<script>alert(1)<`], files: [entry(HOSTILE)], nextCursor: null };
    const html = renderRows('alice/docs', listing, { admin: false });
    expect(html).not.toMatch(/<script|<img/i);
    expect(html).toContain('&#60;script&#62;alert(1)&#60;/</a>');
    expect(html).toContain('&#60;img src=x onerror=alert(1)&#62;&#34;&#38;&#39;.txt</a>');
    expect(html).toContain('href="/browse/alice/docs/%3Cscript%3Ealert(1)%3C/"');
    // encodeURIComponent leaves ' alone; escapeHtml must still keep it inside the attribute.
    expect(html).toContain('href="/files/alice/docs/%3Cimg%20src%3Dx%20onerror%3Dalert(1)%3E%22%26&#39;.txt"');
  });

  it('encodes Unicode, spaces, # and ? in links and keeps the name as text', () => {
    const html = renderRows('alice/docs', { folders: [], files: [entry('naïve #1?.txt')], nextCursor: null }, { admin: false });
    expect(html).toContain('href="/files/alice/docs/na%C3%AFve%20%231%3F.txt"');
    expect(html).toContain('naïve #1?.txt</a>');
  });

  it.each([
    ['hot', entry('a', { state: 'hot', size: 2048, storedSize: 2048 }), '<span class="badge hot" title="stored plain">hot</span> 2.0 KiB'],
    ['cold', entry('a', { state: 'cold', size: 4096, storedSize: 1024 }), '<span class="badge cold" title="compressed: 25% of the original">cold</span> 1.0 KiB'],
    ['cold empty', entry('a', { state: 'cold', size: 0, storedSize: 20 }), '<span class="badge cold" title="compressed: 100% of the original">cold</span> 20 B'],
  ])('storage badge for an admin: %s', (_label, f, expected) => {
    expect(storageHtml(f, { admin: true })).toBe(expected);
  });

  it.each([
    ['hot', entry('a', { state: 'hot', size: 2048, storedSize: 2048 }), '<span class="badge hot" title="downloaded or uploaded within the hot time">hot</span> 2.0 KiB'],
    ['cold', entry('a', { state: 'cold', size: 4096, storedSize: 4096 }), '<span class="badge cold" title="not downloaded for the hot time: due to be stored compressed">cold</span> 4.0 KiB'],
  ])('heat badge for a client: %s', (_label, f, expected) => {
    expect(storageHtml(f, { admin: false })).toBe(expected);
  });

  it.each([
    [null, '<span class="none">&#8212;</span>'],
    [Number.NaN, '<span class="none">&#8212;</span>'],
    [Date.UTC(2024, 0, 2, 3, 4, 5), '<time datetime="2024-01-02T03:04:05.000Z" title="2024-01-02T03:04:05.000Z">2024-01-02 03:04 UTC</time>'],
  ])('time %s', (ms, expected) => {
    expect(timeHtml(ms)).toBe(expected);
  });
});

describe('links and parameters', () => {
  it.each([
    ['', {}, '/'],
    ['alice', {}, '/browse/alice/'],
    ['alice/a b', { sort: 'name' as const }, '/browse/alice/a%20b/'],
    ['alice/x', { sort: 'size' as const, descending: true }, '/browse/alice/x/?sort=size&order=desc'],
    ['alice/x', { q: 'a&b=c', cursor: 'abc' }, '/browse/alice/x/?q=a%26b%3Dc&cursor=abc'],
  ])('listingHref(%j, %j)', (dir, p, expected) => {
    expect(listingHref(dir, p)).toBe(expected);
  });

  it.each([
    [{}, { sort: 'name', descending: false, q: '' }],
    [{ sort: 'mtime', order: 'desc', q: '  report  ' }, { sort: 'mtime', descending: true, q: 'report' }],
    [{ sort: '', order: '', cursor: '' }, { sort: 'name', descending: false, q: '' }],
    [{ cursor: 'eyJkIjoieCJ9' }, { sort: 'name', descending: false, q: '', cursor: 'eyJkIjoieCJ9' }],
  ])('parseListingParams(%j)', (query, expected) => {
    const q = query as Record<string, string>;
    expect(parseListingParams((k) => q[k])).toEqual({ cursor: undefined, ...expected });
  });

  it.each([
    [{ sort: 'colour' }, /sort must be/],
    [{ order: 'up' }, /order must be/],
    [{ q: 'x'.repeat(256) }, /at most 255/],
    [{ cursor: 'x'.repeat(3000) }, /invalid cursor/],
  ])('parseListingParams refuses %j', (query, message) => {
    const q = query as Record<string, string>;
    expect(() => parseListingParams((k) => q[k])).toThrow(message);
  });

  it.each([
    ['alice', 'alice.zip'],
    ['alice/docs', 'docs.zip'],
    ['alice/a/fötos', 'fötos.zip'],
  ])('zipName(%j)', (dir, expected) => {
    expect(zipName(dir)).toBe(expected);
  });
});

describe('header, breadcrumbs and page', () => {
  it('sums up totals and space saved (duplicates + compression)', () => {
    const html = renderSummary(STATS);
    expect(html).toContain('<dd>3 files</dd>');
    expect(html).toContain('<dd>1000 B</dd>');
    expect(html).toContain('<dd title="duplicates 400 B, compression 300 B">700 B (70%)</dd>');
    expect(renderSummary({ ...STATS, files: 1, logicalBytes: 0, blobBytes: 0, storedBytes: 0 })).toContain('<dd>1 file</dd>');
  });

  it('shows what the history holds beside the current files', () => {
    const html = renderSummary({ ...STATS, files: 3, versions: 10, historyBytes: 2048, deleted: 2 });
    expect(html).toContain('<div><dt>History</dt><dd title="7 older versions, 2 deleted files">2.0 KiB</dd></div>');
    expect(renderSummary({ ...STATS, files: 3, versions: 4, historyBytes: 0, deleted: 1 })).toContain('title="1 older version, 1 deleted file">0 B<');
  });

  it('shows used of the quota (current and history) when the namespace has one, marked when nearly full', () => {
    expect(renderSummary(STATS)).not.toContain('Quota');
    const html = renderSummary({ ...STATS, usedBytes: 3 * 1024 ** 3, quotaBytes: 50 * 1024 ** 3 });
    expect(html).toContain('<div><dt>Quota</dt><dd title="current files and history: 3,221,225,472 of 53,687,091,200 bytes">3.0 GiB of 50 GiB (6%)</dd></div>');
    expect(renderSummary({ ...STATS, usedBytes: 95, quotaBytes: 100 })).toContain('<div class="full"><dt>Quota</dt><dd title="current files and history: 95 of 100 bytes">95 B of 100 B (95%)</dd></div>');
  });

  it('without totals, renders placeholders and where the script fetches them', () => {
    const html = renderListingPage(view({ stats: undefined, dir: 'alice/a b' }));
    expect(html).toContain('<div id="summary" data-src="/browse/alice/a%20b/?format=summary"><dl class="summary"><div><dt>Files</dt><dd>&#8230;</dd></div>');
    expect(renderListingPage(view())).toContain('<div id="summary"><dl class="summary">');
  });

  it('breadcrumbs: admins get a root, the last crumb is the current page', () => {
    expect(renderBreadcrumbs('alice/a&b', { admin: false })).toBe(
      '<nav class="crumbs" aria-label="Breadcrumb"><ol><li><a href="/browse/alice/">alice</a></li>' +
        '<li><a href="/browse/alice/a%26b/" aria-current="page">a&#38;b</a></li></ol></nav>',
    );
    expect(renderBreadcrumbs('', { admin: true })).toContain('<a href="/" aria-current="page">all</a>');
    expect(renderBreadcrumbs('bob', { admin: true })).toContain('<li><a href="/">all</a></li><li><a href="/browse/bob/" aria-current="page">bob</a>');
  });

  it('has no inline script, style or handlers, escapes the filter and the user name', () => {
    const html = renderListingPage(
      view({
        user: { name: '"><b>x', admin: false },
        params: { ...PARAMS, q: `"><script>alert(1)</script>` },
        listing: { folders: ['sub'], files: [entry(HOSTILE)], nextCursor: 'CUR' },
      }),
    );
    expect(html.match(/<script/g)).toHaveLength(2);
    expect(html).toContain(`<script src="${ASSET_URLS.js}" defer></script><script src="${ASSET_URLS.history}" defer></script>`);
    // Inside any tag (text may mention "onerror=" harmlessly once its "<" is escaped, and so may a
    // quoted attribute value, which cannot end early: every '"' in it is escaped).
    expect(html.replace(/"[^"]*"/g, '""')).not.toMatch(/<[a-z][^>]*\s(style|on[a-z]+)=|<style/i);
    expect(html).toContain('value="&#34;&#62;&#60;script&#62;alert(1)&#60;/script&#62;"');
    expect(html).toContain('<strong>&#34;&#62;&#60;b&#62;x</strong>');
    // The next page and the sort links keep the filter.
    expect(html).toContain('id="more" class="button" href="/browse/alice/docs/?q=%22%3E%3Cscript%3Ealert%281%29%3C%2Fscript%3E&#38;cursor=CUR"');
    expect(html).toContain('data-sort="size"');
  });

  it('marks the sorted column and flips its order in the link', () => {
    const html = renderListingPage(view({ params: { ...PARAMS, sort: 'size', descending: true } }));
    expect(html).toContain('<th scope="col" class="size num" aria-sort="descending"><a href="/browse/alice/docs/?sort=size"');
    expect(html).toContain('<a href="/browse/alice/docs/?sort=mtime" data-sort="mtime">');
    expect(html).toContain('<input type="hidden" name="sort" value="size"><input type="hidden" name="order" value="desc">');
  });

  it('offers upload only when writable and the zip only below the root', () => {
    const mine = renderListingPage(view());
    expect(mine).toContain('id="upload-files"');
    expect(mine).toContain('data-writable=""');
    expect(mine).toContain('href="/zip/alice/docs/"');
    const theirs = renderListingPage(view({ writable: false, user: { name: 'root', admin: true } }));
    expect(theirs).not.toContain('id="upload-files"');
    expect(theirs).not.toContain('data-writable');
    const root = renderListingPage(view({ dir: '', writable: false, user: { name: 'root', admin: true }, listing: { folders: ['alice', 'bob'], files: [], nextCursor: null } }));
    expect(root).not.toContain('/zip/');
    expect(root).toContain('href="/browse/bob/"');
    expect(root).toContain('<p id="empty" class="empty" data-empty="This folder is empty." hidden>');
  });
});

describe('history views', () => {
  it('gives each file row a Versions button with the path escaped, hidden until history.js runs', () => {
    const html = renderRows('alice/docs', { folders: ['sub'], files: [entry(HOSTILE)], nextCursor: null }, { admin: false });
    expect(html).toContain(
      '<button type="button" class="versions needs-history" data-path="alice/docs/&#60;img src=x onerror=alert(1)&#62;&#34;&#38;&#39;.txt" ' +
        'aria-label="Versions of &#60;img src=x onerror=alert(1)&#62;&#34;&#38;&#39;.txt">Versions</button>',
    );
    expect(html).not.toMatch(/<img/);
    // Folders have no versions of their own.
    expect(html.match(/class="versions/g)).toHaveLength(1);
  });

  it('renders the trash, "as of" and versions shells for a folder, hidden; none at the root', () => {
    const mine = renderListingPage(view());
    for (const id of ['show-trash', 'as-of', 'trash', 'snapshot', 'versions', 'rollback', 'rollback-dialog']) expect(mine).toContain(`id="${id}"`);
    expect(mine).toContain('<div class="history-tools needs-history">');
    expect(mine).toMatch(/<section class="panel" id="trash"[^>]* hidden>/);
    expect(mine).toMatch(/<section class="panel snapshot" id="snapshot"[^>]* hidden>/);
    expect(mine).toContain('id="snapshot-exit" href="/browse/alice/docs/"');
    const root = renderListingPage(view({ dir: '', writable: false, user: { name: 'root', admin: true } }));
    expect(root).not.toContain('id="show-trash"');
    expect(root).not.toContain('id="snapshot"');
  });

  it('offers the rollback only to a writer, and escapes the folder in its dialog', () => {
    const dir = `alice/<b>"x"</b>`;
    const theirs = renderListingPage(view({ dir, writable: false, user: { name: 'root', admin: true } }));
    expect(theirs).not.toContain('id="rollback');
    expect(theirs).toContain('id="snapshot-zip"');
    const mine = renderListingPage(view({ dir }));
    expect(mine).toContain('<h2 id="rollback-title">Roll back alice/&#60;b&#62;&#34;x&#34;&#60;/b&#62; to');
    expect(mine).toContain('id="snapshot-exit" href="/browse/alice/%3Cb%3E%22x%22%3C/b%3E/"');
    expect(mine).not.toMatch(/<b>/);
  });
});

describe('as of a moment', () => {
  it('names the archive by the moment in UTC, without colons', () => {
    expect(zipName('alice/docs', Date.UTC(2024, 4, 1, 10, 0, 5, 250))).toBe('docs-2024-05-01T100005Z.zip');
    expect(zipName('alice', 0)).toBe('alice-1970-01-01T000000Z.zip');
    expect(zipName('alice/docs')).toBe('docs.zip');
  });

  it('hands the moment to the page script, only when there is one', () => {
    expect(renderListingPage(view({ at: 1714557600000 }))).toContain('data-at="1714557600000"');
    expect(renderListingPage(view())).not.toContain('data-at');
  });
});

describe('assets and headers', () => {
  it('the page scripts are valid JavaScript', () => {
    // Parsing only: new Function compiles the body without running it.
    expect(() => new Function(BROWSE_JS)).not.toThrow();
    expect(() => new Function(HISTORY_JS)).not.toThrow();
  });

  it('asset URLs carry a content version', () => {
    expect(contentVersion('a')).toMatch(/^[0-9a-f]{8}$/);
    expect(contentVersion('a')).not.toBe(contentVersion('b'));
    expect(ASSET_URLS.js).toBe(`/assets/browse.js?v=${contentVersion(BROWSE_JS)}`);
  });

  it('the CSP forbids inline script and style and framing', () => {
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("frame-ancestors 'none'");
    expect(CONTENT_SECURITY_POLICY).not.toContain('unsafe');
  });
});
