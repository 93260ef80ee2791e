// @ts-check
/*
 * The listing page's history views, served from /assets/ beside browse.js and built the same way
 * (checked by tsc from JSDoc, embedded by `npm run generate:assets`). Three views over the v2 API:
 * a file's versions (download any, restore one), the deleted files below this folder (restore),
 * and the folder "as of" a moment (read-only, from ?at= listings; download as .zip, roll back).
 * The server renders the empty panels; this script fills them with names as textContent and
 * links through encodeURIComponent only, never as markup.
 */
/* The answers' types come from the wire contract the server is typed against (shared/wire.ts). */
/** @typedef {import('../../shared/wire.js').VersionJson} VersionItem */
/** @typedef {import('../../shared/wire.js').Page<VersionItem> & { path: string }} VersionPage */
/** @typedef {import('../../shared/wire.js').HistoryFileJson} HistoryFile */
/** @typedef {import('../../shared/wire.js').Page<HistoryFile>} HistoryFilePage */
(function () {
  'use strict';
  var main = document.getElementById('listing');
  if (!main) return;
  var dir = main.getAttribute('data-dir') || '';
  // The admin's list of namespaces has no history of its own.
  if (dir === '') return;
  var writable = main.hasAttribute('data-writable');
  var listing = main;
  /** @param {string} id */
  function byId(id) { return /** @type {HTMLElement} */ (document.getElementById(id)); }

  var VERSIONS_PAGE = 50;
  var TRASH_PAGE = 200;
  // The largest page /api/files gives: a folder "as of" is read in as few requests as possible.
  var SNAPSHOT_PAGE = 1000;

  /** @param {string} p */
  function encodePath(p) { return p.split('/').map(encodeURIComponent).join('/'); }
  /**
   * @param {number} n
   * @param {number} [width]
   */
  function pad(n, width) {
    var s = String(n);
    while (s.length < (width || 2)) s = '0' + s;
    return s;
  }
  /** @param {number} bytes */
  function humanSize(bytes) {
    var units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
    var v = bytes;
    var i = 0;
    while (v >= 1024 && i < units.length - 1) {
      v /= 1024;
      i++;
    }
    return i === 0 ? v + ' B' : (v < 10 ? v.toFixed(1) : String(Math.round(v))) + ' ' + units[i];
  }
  /** Local time to the second: versions of one file are often minutes apart. @param {Date} d */
  function localText(d) {
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }
  /** The value a datetime-local input shows for `ms`, in the reader's zone. @param {number} ms */
  function pickerValue(ms) {
    var d = new Date(ms);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + 'T' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  /**
   * @param {string} tag
   * @param {string} [cls]
   * @param {string} [text]
   */
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }
  /** @param {number | null} ms */
  function timeEl(ms) {
    if (ms === null) return el('span', 'none', '\u2014');
    var d = new Date(ms);
    var t = /** @type {HTMLTimeElement} */ (el('time', '', localText(d)));
    t.dateTime = d.toISOString();
    t.title = d.toISOString();
    return t;
  }
  function icon() {
    var i = el('span', 'icon');
    i.setAttribute('aria-hidden', 'true');
    return i;
  }
  /** @param {number} bytes */
  function sizeEl(bytes) {
    var s = el('span', '', humanSize(bytes));
    s.title = bytes.toLocaleString('en-US') + ' bytes';
    return s;
  }
  /**
   * @param {string} cls
   * @param {Node[]} children
   */
  function cell(cls, children) {
    var td = el('td', cls);
    children.forEach(function (c) { td.appendChild(c); });
    return td;
  }
  /**
   * A download link for one version: the browser's own download manager does the work.
   * @param {string} path
   * @param {string} version
   * @param {string} text
   * @param {string} label
   */
  function versionLink(path, version, text, label) {
    var a = /** @type {HTMLAnchorElement} */ (el('a', '', text));
    a.href = '/files/' + encodePath(path) + '?version=' + encodeURIComponent(version);
    a.setAttribute('download', '');
    a.setAttribute('aria-label', label);
    return a;
  }
  /**
   * @param {string} text
   * @param {string} label
   * @param {() => void} onClick
   */
  function button(text, label, onClick) {
    var b = /** @type {HTMLButtonElement} */ (el('button', '', text));
    b.type = 'button';
    b.setAttribute('aria-label', label);
    b.addEventListener('click', onClick);
    return b;
  }
  /** The part of a path below this folder, as the rows show it. @param {string} path */
  function below(path) { return path.slice(dir.length + 1); }

  /**
   * @param {string} url
   * @param {RequestInit} [init]
   * @returns {Promise<unknown>}
   */
  function request(url, init) {
    return fetch(url, init).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error((body && body.error) || 'HTTP ' + r.status);
        return body;
      });
    });
  }
  /**
   * GET /api/files for this folder with extra parameters.
   * @param {Record<string, string>} params
   * @param {string | null} cursor
   * @param {number} limit
   * @returns {Promise<HistoryFilePage>}
   */
  function filesPage(params, cursor, limit) {
    var u = new URL('/api/files', location.href);
    u.searchParams.set('prefix', dir + '/');
    Object.keys(params).forEach(function (k) { u.searchParams.set(k, params[k]); });
    u.searchParams.set('limit', String(limit));
    if (cursor) u.searchParams.set('cursor', cursor);
    return /** @type {Promise<HistoryFilePage>} */ (request(u.href, { headers: { Accept: 'application/json' } }));
  }
  /**
   * POST /api/restore ({path, version} or {prefix, at}); JSON, so a cross-site form cannot send it.
   * @param {{ path: string, version: string } | { prefix: string, at: number }} body
   */
  function restore(body) {
    return request('/api/restore', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
      body: JSON.stringify(body),
    });
  }
  // browse.js refreshes the listing and the totals when history changes the folder.
  function changed() { document.dispatchEvent(new CustomEvent('cb-listing-changed')); }
  /**
   * A button that makes one version current again and says so in `status`.
   * @param {string} label what it does, for screen readers
   * @param {string} what how the status names the version
   * @param {HTMLElement} status
   * @param {{ path: string, version: string }} body
   * @param {(b: HTMLButtonElement) => void} done
   */
  function restoreButton(label, what, status, body, done) {
    var b = button('Restore', label, function () {
      b.disabled = true;
      status.textContent = 'Restoring ' + what + '\u2026';
      restore(body).then(function () {
        status.textContent = 'Restored ' + what + '.';
        changed();
        done(b);
      }, function (err) {
        b.disabled = false;
        status.textContent = 'Could not restore ' + what + ': ' + err.message;
      });
    });
    return b;
  }

  // --- a file's versions, in a dialog
  var versions = /** @type {HTMLDialogElement} */ (byId('versions'));
  var versionsName = byId('versions-name');
  var versionsRows = byId('versions-rows');
  var versionsMore = /** @type {HTMLButtonElement} */ (byId('versions-more'));
  var versionsStatus = byId('versions-status');
  var shown = { path: '', cursor: /** @type {string | null} */ (null), generation: 0, rows: 0 };

  /** @param {string} path */
  function openVersions(path) {
    shown.path = path;
    versionsName.textContent = below(path);
    if (!versions.open) versions.showModal();
    loadVersions(true);
  }

  /**
   * @param {boolean} fresh from the newest again, or the next page
   * @param {string} [note] said before the count once loaded
   */
  function loadVersions(fresh, note) {
    var gen = ++shown.generation;
    var path = shown.path;
    if (fresh) {
      shown.cursor = null;
      shown.rows = 0;
    }
    var u = new URL('/api/versions', location.href);
    u.searchParams.set('path', path);
    u.searchParams.set('limit', String(VERSIONS_PAGE));
    if (shown.cursor) u.searchParams.set('cursor', shown.cursor);
    versionsMore.hidden = true;
    versionsStatus.textContent = 'Loading\u2026';
    request(u.href, { headers: { Accept: 'application/json' } }).then(function (body) {
      if (gen !== shown.generation) return;
      var page = /** @type {VersionPage} */ (body);
      if (fresh) versionsRows.textContent = '';
      page.items.forEach(function (item) {
        versionsRows.appendChild(versionRow(path, item, shown.rows === 0));
        shown.rows++;
      });
      shown.cursor = page.nextCursor;
      versionsMore.hidden = !page.nextCursor;
      versionsStatus.textContent = (note ? note + ' ' : '') + shown.rows + (page.nextCursor ? '+' : '') + (shown.rows === 1 ? ' version.' : ' versions.');
    }, function (err) {
      if (gen !== shown.generation) return;
      versionsStatus.textContent = 'Could not load the versions: ' + err.message;
    });
  }

  /**
   * @param {string} path
   * @param {VersionItem} item
   * @param {boolean} newest
   */
  function versionRow(path, item, newest) {
    var tr = el('tr', item.deleted ? 'deleted' : newest ? 'current' : '');
    var when = cell('uploaded', [timeEl(item.uploadedAt)]);
    if (item.deleted) when.appendChild(el('span', 'badge gone', 'deleted'));
    else if (newest) when.appendChild(el('span', 'badge now', 'current'));
    tr.appendChild(when);
    tr.appendChild(cell('size num', [item.deleted ? el('span', 'none', '\u2014') : sizeEl(item.size)]));
    tr.appendChild(cell('mtime', [timeEl(item.deleted ? null : item.mtime)]));
    var sha = el('code', '', item.sha256 ? item.sha256.slice(0, 12) : '');
    if (item.sha256) sha.title = 'SHA-256 ' + item.sha256;
    tr.appendChild(cell('sha', [sha]));
    var actions = cell('row-actions', []);
    var label = ' the version of ' + localText(new Date(item.uploadedAt));
    if (!item.deleted) actions.appendChild(versionLink(path, item.version, 'Download', 'Download' + label));
    if (writable && !item.deleted && !newest) {
      actions.appendChild(restoreButton('Restore' + label, label.slice(1), versionsStatus, { path: path, version: item.version }, function () {
        loadVersions(true, /** @type {string} */ (versionsStatus.textContent));
      }));
    }
    tr.appendChild(actions);
    return tr;
  }

  versionsMore.addEventListener('click', function () { loadVersions(false); });
  byId('versions-close').addEventListener('click', function () { versions.close(); });
  versions.addEventListener('close', function () { shown.generation++; });
  // "Versions" buttons of the listing rows, including rows browse.js appends later.
  byId('rows').addEventListener('click', function (e) {
    var target = /** @type {Element} */ (e.target);
    var b = target.closest ? target.closest('button.versions') : null;
    var path = b && b.getAttribute('data-path');
    if (path) openVersions(path);
  });

  // --- deleted files below this folder
  var trash = byId('trash');
  var trashToggle = byId('show-trash');
  var trashRows = byId('trash-rows');
  var trashEmpty = byId('trash-empty');
  var trashMore = /** @type {HTMLButtonElement} */ (byId('trash-more'));
  var trashStatus = byId('trash-status');
  var trashState = { cursor: /** @type {string | null} */ (null), generation: 0, rows: 0 };

  /** @param {boolean} fresh */
  function loadTrash(fresh) {
    var gen = ++trashState.generation;
    if (fresh) {
      trashState.cursor = null;
      trashState.rows = 0;
    }
    trashMore.hidden = true;
    trashStatus.textContent = 'Loading\u2026';
    filesPage({ deleted: 'true' }, trashState.cursor, TRASH_PAGE).then(function (page) {
      if (gen !== trashState.generation) return;
      if (fresh) trashRows.textContent = '';
      page.items.forEach(function (item) {
        trashRows.appendChild(trashRow(item));
        trashState.rows++;
      });
      trashState.cursor = page.nextCursor;
      trashMore.hidden = !page.nextCursor;
      trashEmpty.hidden = trashState.rows > 0;
      trashStatus.textContent = trashState.rows + (page.nextCursor ? '+' : '') + ' deleted.';
    }, function (err) {
      if (gen !== trashState.generation) return;
      trashStatus.textContent = 'Could not load the deleted files: ' + err.message;
    });
  }

  /** @param {HistoryFile} item */
  function trashRow(item) {
    var tr = el('tr', 'file');
    var name = below(item.path);
    tr.appendChild(cell('name', [versionLink(item.path, item.version, name, 'Download the last content of ' + name)]));
    tr.appendChild(cell('size num', [sizeEl(item.size)]));
    tr.appendChild(cell('deleted-at', [timeEl(item.deletedAt === undefined ? null : item.deletedAt)]));
    var actions = cell('row-actions', [button('Versions', 'Versions of ' + name, function () { openVersions(item.path); })]);
    if (writable) {
      actions.appendChild(restoreButton('Restore ' + name, name, trashStatus, { path: item.path, version: item.version }, function (b) {
        tr.className = 'file restored';
        b.remove();
        actions.appendChild(el('span', 'done', 'restored'));
      }));
    }
    tr.appendChild(actions);
    return tr;
  }

  trashToggle.addEventListener('click', function () {
    var open = trash.hidden;
    trash.hidden = !open;
    trashToggle.setAttribute('aria-expanded', String(open));
    if (open) loadTrash(true);
  });
  trashMore.addEventListener('click', function () { loadTrash(false); });

  // --- the folder as of a moment
  var asOf = /** @type {HTMLFormElement} */ (byId('as-of'));
  var asOfTime = /** @type {HTMLInputElement} */ (byId('as-of-time'));
  var asOfError = byId('as-of-error');

  asOf.addEventListener('submit', function (e) {
    e.preventDefault();
    // datetime-local has no zone: the browser reads it as the reader's local time.
    var ms = asOfTime.value ? new Date(asOfTime.value).getTime() : NaN;
    if (isNaN(ms)) {
      asOfError.textContent = 'Choose a date and time.';
      asOfError.hidden = false;
      return;
    }
    var u = new URL(location.pathname, location.href);
    u.searchParams.set('at', new Date(ms).toISOString());
    location.assign(u.href);
  });

  // The server read ?at= (as the API does) and refused a bad one with a 400 page.
  var atAttr = listing.getAttribute('data-at');
  if (atAttr !== null) showSnapshot(Number(atAttr));

  /** @param {number} at */
  function showSnapshot(at) {
    var iso = new Date(at).toISOString();
    var snapshot = byId('snapshot');
    var folders = byId('snapshot-folders');
    var files = byId('snapshot-files');
    var status = byId('snapshot-status');
    var empty = byId('snapshot-empty');
    // No prototype: a folder may be called "constructor" or "__proto__".
    /** @type {Record<string, boolean>} */
    var seen = Object.create(null);
    var counts = { files: 0, folders: 0 };
    asOfTime.value = pickerValue(at);
    listing.classList.add('viewing-past');
    snapshot.hidden = false;
    byId('snapshot-time').appendChild(timeEl(at));
    /** @type {HTMLAnchorElement} */ (byId('snapshot-zip')).href = '/zip/' + encodePath(dir) + '/?at=' + encodeURIComponent(iso);

    /** @param {HistoryFile} item */
    function add(item) {
      var rel = below(item.path);
      var slash = rel.indexOf('/');
      if (slash >= 0) {
        // Paths come in order, so a child folder's files follow one another: one row for it.
        var name = rel.slice(0, slash);
        if (seen[name]) return;
        seen[name] = true;
        counts.folders++;
        var link = /** @type {HTMLAnchorElement} */ (el('a'));
        link.href = '/browse/' + encodePath(dir + '/' + name) + '/?at=' + encodeURIComponent(iso);
        link.appendChild(icon());
        link.appendChild(document.createTextNode(name + '/'));
        var tr = el('tr', 'folder');
        tr.appendChild(cell('name', [link]));
        tr.appendChild(cell('size num', [el('span', 'none', 'folder')]));
        tr.appendChild(cell('mtime', []));
        tr.appendChild(cell('uploaded', []));
        tr.appendChild(cell('row-actions', []));
        folders.appendChild(tr);
        return;
      }
      counts.files++;
      var row = el('tr', 'file');
      var a = versionLink(item.path, item.version, '', 'Download ' + rel + ' as it was');
      a.appendChild(icon());
      a.appendChild(document.createTextNode(rel));
      row.appendChild(cell('name', [a]));
      row.appendChild(cell('size num', [sizeEl(item.size)]));
      row.appendChild(cell('mtime', [timeEl(item.mtime)]));
      row.appendChild(cell('uploaded', [timeEl(item.uploadedAt)]));
      row.appendChild(cell('row-actions', [button('Versions', 'Versions of ' + rel, function () { openVersions(item.path); })]));
      files.appendChild(row);
    }

    function summary() {
      return counts.folders + (counts.folders === 1 ? ' folder, ' : ' folders, ') + counts.files + (counts.files === 1 ? ' file' : ' files');
    }

    // Every page in turn: a child folder is one row however many files it held.
    /** @param {string | null} cursor */
    function load(cursor) {
      filesPage({ at: String(at) }, cursor, SNAPSHOT_PAGE).then(function (page) {
        page.items.forEach(add);
        if (page.nextCursor) {
          status.textContent = 'Loading\u2026 ' + summary() + ' so far.';
          load(page.nextCursor);
          return;
        }
        empty.hidden = counts.files + counts.folders > 0;
        status.textContent = summary() + '.';
      }, function (err) {
        status.textContent = 'Could not load the folder as of that moment: ' + err.message;
      });
    }
    status.textContent = 'Loading\u2026';
    load(null);

    if (!writable) return;
    var confirm = /** @type {HTMLDialogElement} */ (byId('rollback-dialog'));
    var go = /** @type {HTMLButtonElement} */ (byId('rollback-confirm'));
    byId('rollback-time').appendChild(timeEl(at));
    byId('rollback').addEventListener('click', function () { confirm.showModal(); });
    byId('rollback-cancel').addEventListener('click', function () { confirm.close(); });
    go.addEventListener('click', function () {
      go.disabled = true;
      status.textContent = 'Rolling back\u2026';
      restore({ prefix: dir + '/', at: at }).then(function () {
        confirm.close();
        status.textContent = 'Rolled back: the folder now holds what it held at ' + localText(new Date(at)) + '.';
        changed();
      }, function (err) {
        confirm.close();
        go.disabled = false;
        status.textContent = 'Could not roll back: ' + err.message;
      });
    });
  }

  document.body.classList.add('history-on');
})();
