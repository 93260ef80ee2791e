// @ts-check
/*
 * The listing page's script, served from /assets/ (the CSP forbids inline script). Plain ES2017
 * for any current browser, no build step: this file is served as written (embedded into
 * browse-js.ts by `npm run generate:assets`) and type-checked by tsc from its JSDoc
 * (tsconfig.browser.json). It only enhances the server-rendered page: filter as you type,
 * incremental loading, local times, and uploads (tus 1.0.0 when the server offers it, else PUT)
 * with a progress bar per file. Markup for rows comes escaped from the server; names from the
 * user's disk only ever go into textContent.
 */
/**
 * One page of /browse/<dir>/?format=json.
 * @typedef {{ rows: string, next: string | null, folders: string[], files: unknown[] }} ListingPage
 */
/** @typedef {Error & { status?: number }} HttpError */
/** @typedef {{ file: File, rel: string }} Picked */
/**
 * @typedef {{ file: File, rel: string, li: HTMLLIElement, bar: HTMLProgressElement, state: HTMLSpanElement }} Job
 */
/** @typedef {(file: File, path: string, progress: (sent: number) => void) => Promise<void>} Uploader */
(function () {
  'use strict';
  var main = document.getElementById('listing');
  if (!main) return;
  var dir = main.getAttribute('data-dir') || '';
  // The wire contract's (shared/wire.ts); test/unit/embedded-assets.test.ts holds them equal.
  var TUS_VERSION = '1.0.0';
  // The server renders all of these whenever it renders #listing.
  var rows = /** @type {HTMLElement} */ (document.getElementById('rows'));
  var more = /** @type {HTMLAnchorElement} */ (document.getElementById('more'));
  var empty = /** @type {HTMLElement} */ (document.getElementById('empty'));
  var status = /** @type {HTMLElement} */ (document.getElementById('status'));
  var filter = /** @type {HTMLInputElement | null} */ (document.getElementById('q'));
  var form = filter && filter.form;

  /** @param {string} text */
  function say(text) { status.textContent = text; }
  /** @param {number} n */
  function pad(n) { return n < 10 ? '0' + n : String(n); }

  // Server times are UTC; show them in the reader's zone.
  /** @param {ParentNode} scope */
  function localizeTimes(scope) {
    var times = scope.querySelectorAll('time[datetime]');
    for (var i = 0; i < times.length; i++) {
      var d = new Date(/** @type {string} */ (times[i].getAttribute('datetime')));
      if (isNaN(d.getTime())) continue;
      times[i].textContent = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) +
        ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
    }
  }
  localizeTimes(rows);

  /**
   * @param {string} href
   * @returns {Promise<ListingPage>}
   */
  function getJson(href) {
    var u = new URL(href, location.href);
    u.searchParams.set('format', 'json');
    return fetch(u.href, { headers: { Accept: 'application/json' }, credentials: 'same-origin' }).then(function (r) {
      return r.json().catch(function () { return {}; }).then(function (body) {
        if (!r.ok) throw new Error(body.error || 'HTTP ' + r.status);
        return body;
      });
    });
  }

  /** @param {string} html */
  function appendRows(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    localizeTimes(t.content);
    rows.appendChild(t.content);
  }

  /** @param {string | null} next */
  function setNext(next) {
    if (next) {
      more.setAttribute('href', next);
      more.hidden = false;
    } else {
      more.removeAttribute('href');
      more.hidden = true;
    }
  }

  // --- incremental loading: "Load more" works as a plain link; with script it appends in place,
  // and scrolling near it loads the next page by itself.
  var generation = 0;
  var loading = false;
  var observer = 'IntersectionObserver' in window ? new IntersectionObserver(function (entries) {
    for (var i = 0; i < entries.length; i++) if (entries[i].isIntersecting) loadMore();
  }, { rootMargin: '600px 0px' }) : null;

  // Re-observing makes the observer report again if the link is still in view after a page.
  function watchMore() {
    if (!observer) return;
    observer.unobserve(more);
    if (!more.hidden) observer.observe(more);
  }

  function loadMore() {
    var href = more.getAttribute('href');
    if (loading || !href) return;
    loading = true;
    var gen = generation;
    more.setAttribute('aria-busy', 'true');
    more.textContent = 'Loading\u2026';
    getJson(href).then(function (page) {
      if (gen !== generation) return;
      appendRows(page.rows);
      setNext(page.next);
      say('Loaded ' + (page.folders.length + page.files.length) + ' more entries.');
    }).catch(function (err) {
      say('Could not load more: ' + err.message);
    }).then(function () {
      loading = false;
      more.removeAttribute('aria-busy');
      more.textContent = 'Load more';
      watchMore();
    });
  }
  more.addEventListener('click', function (e) {
    e.preventDefault();
    loadMore();
  });
  watchMore();

  // --- filter as you type (server-side, so it covers the whole folder, not just this page)
  /** @param {HTMLFormElement} f */
  function formUrl(f) {
    var u = new URL(/** @type {string} */ (f.getAttribute('action')), location.href);
    new FormData(f).forEach(function (v, k) {
      v = String(v).trim();
      if (v) u.searchParams.set(k, v);
    });
    return u;
  }

  /** @param {string} q */
  function updateSortLinks(q) {
    var links = document.querySelectorAll('thead a[data-sort]');
    for (var i = 0; i < links.length; i++) {
      var u = new URL(/** @type {string} */ (links[i].getAttribute('href')), location.href);
      if (q) u.searchParams.set('q', q); else u.searchParams.delete('q');
      links[i].setAttribute('href', u.pathname + u.search);
    }
  }

  // Header totals come after the listing: they cost a pass over the whole namespace.
  var summary = document.getElementById('summary');
  function loadSummary() {
    var src = summary && summary.getAttribute('data-src');
    if (!src) return;
    var target = /** @type {HTMLElement} */ (summary);
    fetch(src, { headers: { Accept: 'application/json' }, credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (body) {
      if (body && typeof body.summary === 'string') target.innerHTML = body.summary;
    }).catch(function () { /* the placeholders stay */ });
  }
  loadSummary();

  /** @returns {Promise<void>} */
  function reload() {
    if (!form) return Promise.resolve();
    var u = formUrl(form);
    var gen = ++generation;
    return getJson(u.href).then(function (page) {
      if (gen !== generation) return;
      rows.textContent = '';
      appendRows(page.rows);
      setNext(page.next);
      var count = page.folders.length + page.files.length;
      var q = u.searchParams.get('q') || '';
      empty.hidden = count > 0;
      empty.textContent = q ? 'Nothing here matches the filter.' : empty.getAttribute('data-empty');
      var first = document.getElementById('first-page');
      if (first) first.hidden = true;
      history.replaceState(null, '', u.pathname + u.search);
      updateSortLinks(q);
      say(count === 0 ? 'No entries.' : count + (page.next ? '+' : '') + ' entries shown.');
      watchMore();
    }).catch(function (err) {
      say('Could not refresh the listing: ' + err.message);
    });
  }

  // A form always holds its filter; the second test is for the type checker.
  if (form && filter) {
    var input = filter;
    var timer = 0;
    input.addEventListener('input', function () {
      clearTimeout(timer);
      timer = setTimeout(reload, 250);
    });
    form.addEventListener('submit', function (e) {
      e.preventDefault();
      clearTimeout(timer);
      reload();
    });
    // "/" jumps to the filter, as on many listing sites.
    document.addEventListener('keydown', function (e) {
      var t = /** @type {HTMLElement | null} */ (e.target);
      var typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable);
      if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        input.focus();
        input.select();
      }
    });
  }

  // history.js restored something into this folder: show it.
  document.addEventListener('cb-listing-changed', function () {
    reload();
    loadSummary();
  });

  // --- uploads
  if (!main.hasAttribute('data-writable')) return;
  var list = /** @type {HTMLElement} */ (document.getElementById('uploads'));
  var CHUNK = 4 * 1024 * 1024;
  var RETRIES = 6;
  var PARALLEL = 2;
  /** @type {Job[]} */
  var queue = [];
  var running = 0;
  /** @type {Promise<boolean> | null} */
  var tusProbe = null;

  /** @param {string} p */
  function encodePath(p) { return p.split('/').map(encodeURIComponent).join('/'); }
  /** @param {string} s */
  function b64(s) {
    var bytes = new TextEncoder().encode(s);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin);
  }
  /**
   * @param {number} ms
   * @returns {Promise<void>}
   */
  function delay(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  /** @param {string | null} v */
  function isCount(v) { return v !== null && /^\d+$/.test(v); }

  // tus when OPTIONS /uploads/ announces version 1.0.0; otherwise plain PUT.
  function probeTus() {
    if (!tusProbe) {
      tusProbe = fetch('/uploads/', { method: 'OPTIONS', credentials: 'same-origin' }).then(function (r) {
        return (r.headers.get('Tus-Version') || '').split(',').some(function (v) { return v.trim() === TUS_VERSION; });
      }, function () { return false; });
    }
    return tusProbe;
  }

  // XHR rather than fetch: only XHR reports upload progress.
  /**
   * @param {string} method
   * @param {string} url
   * @param {Record<string, string>} headers
   * @param {Blob} [body]
   * @param {(loaded: number) => void} [onProgress]
   * @returns {Promise<XMLHttpRequest>}
   */
  function send(method, url, headers, body, onProgress) {
    return new Promise(function (resolve, reject) {
      var x = new XMLHttpRequest();
      x.open(method, url);
      Object.keys(headers).forEach(function (k) { x.setRequestHeader(k, headers[k]); });
      if (onProgress) x.upload.onprogress = function (e) { onProgress(e.loaded); };
      x.onload = function () { resolve(x); };
      x.onerror = function () { reject(new Error('network error')); };
      x.onabort = function () { reject(new Error('aborted')); };
      x.send(body === undefined ? null : body);
    });
  }

  /**
   * @param {XMLHttpRequest} x
   * @returns {HttpError}
   */
  function failure(x) {
    var message = 'HTTP ' + x.status;
    try {
      var body = JSON.parse(x.responseText);
      if (body && body.error) message = body.error;
    } catch (e) { /* not JSON */ }
    var err = /** @type {HttpError} */ (new Error(message));
    err.status = x.status;
    return err;
  }

  /** @type {Uploader} */
  function putUpload(file, path, progress) {
    return send('PUT', '/files/' + encodePath(path), { 'X-File-Mtime': String(file.lastModified) }, file, progress)
      .then(function (x) { if (x.status !== 200 && x.status !== 201) throw failure(x); });
  }

  // A small tus 1.0.0 client: POST creates, PATCH sends chunks, HEAD finds the offset again
  // after an error. The upload URL is kept in localStorage so a reload can resume it.
  /** @type {Uploader} */
  function tusUpload(file, path, progress) {
    var key = 'cb-tus:' + path + ':' + file.size + ':' + file.lastModified;
    /** @type {string | null} */
    var url = null;
    var offset = 0;
    var failures = 0;
    try { url = localStorage.getItem(key); } catch (e) { /* storage disabled */ }
    /** @param {string | null} v */
    function remember(v) {
      try { if (v) localStorage.setItem(key, v); else localStorage.removeItem(key); } catch (e) { /* ignore */ }
    }
    /**
     * @param {Record<string, string>} [extra]
     * @returns {Record<string, string>}
     */
    function tusHeaders(extra) {
      /** @type {Record<string, string>} */
      var h = { 'Tus-Resumable': TUS_VERSION };
      var add = extra || {};
      Object.keys(add).forEach(function (k) { h[k] = add[k]; });
      return h;
    }
    // Every caller runs after create() or with a remembered URL.
    function uploadUrl() { return /** @type {string} */ (url); }
    /** @returns {Promise<number | null>} */
    function head() {
      return send('HEAD', uploadUrl(), tusHeaders()).then(function (x) {
        var off = x.getResponseHeader('Upload-Offset');
        if (x.status >= 200 && x.status < 300 && isCount(off)) return Number(off);
        if (x.status === 403 || x.status === 404 || x.status === 410) return null;
        throw failure(x);
      });
    }
    /** @returns {Promise<void>} */
    function create() {
      var meta = 'path ' + b64(path) + ',mtime ' + b64(String(file.lastModified));
      return send('POST', '/uploads/', tusHeaders({ 'Upload-Length': String(file.size), 'Upload-Metadata': meta })).then(function (x) {
        var loc = x.getResponseHeader('Location');
        if (x.status !== 201 || !loc) throw failure(x);
        // Location may be relative to the creation URL, not to this page.
        url = new URL(loc, x.responseURL || new URL('/uploads/', location.href).href).href;
        remember(url);
        offset = 0;
      });
    }
    /** @param {number | null} off */
    function resume(off) {
      if (off === null) return create();
      offset = off;
      progress(offset);
    }
    /**
     * @param {HttpError} err
     * @returns {Promise<null>}
     */
    function recover(err) {
      if (err.status && err.status < 500 && err.status !== 409 && err.status !== 423) throw err;
      if (++failures > RETRIES) throw err;
      return delay(400 * Math.pow(2, failures - 1)).then(head).then(resume).then(patch, recover);
    }
    /** @returns {Promise<null> | null} */
    function patch() {
      if (offset >= file.size) return null;
      var start = offset;
      var end = Math.min(file.size, start + CHUNK);
      var headers = tusHeaders({ 'Upload-Offset': String(start), 'Content-Type': 'application/offset+octet-stream' });
      return send('PATCH', uploadUrl(), headers, file.slice(start, end), function (n) { progress(start + n); }).then(function (x) {
        var off = x.getResponseHeader('Upload-Offset');
        if (x.status >= 200 && x.status < 300 && isCount(off) && Number(off) > start) {
          offset = Number(off);
          failures = 0;
          progress(offset);
          return patch();
        }
        return recover(failure(x));
      }, recover);
    }
    var ready = url ? head().then(resume, create) : create();
    return ready.then(patch).then(function () { remember(null); }, function (err) {
      // A refused upload cannot be resumed; a network failure can, from a later attempt.
      if (err.status && err.status < 500) remember(null);
      throw err;
    });
  }

  /**
   * @param {number} n
   * @param {number} total
   */
  function percent(n, total) { return total > 0 ? Math.floor((n / total) * 100) + '%' : '100%'; }

  /** @param {Picked[]} items */
  function enqueue(items) {
    items.forEach(function (item) {
      var li = document.createElement('li');
      var name = document.createElement('span');
      name.className = 'file-name';
      name.textContent = item.rel;
      var bar = document.createElement('progress');
      bar.max = Math.max(1, item.file.size);
      bar.value = 0;
      bar.setAttribute('aria-label', 'Upload of ' + item.rel);
      var state = document.createElement('span');
      state.className = 'state';
      state.textContent = 'waiting';
      li.appendChild(name);
      li.appendChild(bar);
      li.appendChild(state);
      list.appendChild(li);
      queue.push({ file: item.file, rel: item.rel, li: li, bar: bar, state: state });
    });
    pump();
  }

  function pump() {
    while (running < PARALLEL && queue.length > 0) start(/** @type {Job} */ (queue.shift()));
  }

  /** @param {Job} job */
  function start(job) {
    running++;
    var size = job.file.size;
    job.li.className = 'running';
    job.state.textContent = '0%';
    /** @param {number} n */
    function progress(n) {
      job.bar.value = Math.min(n, size);
      job.state.textContent = percent(n, size);
    }
    probeTus().then(function (tus) {
      // An empty file has nothing to resume: one PUT.
      return (tus && size > 0 ? tusUpload : putUpload)(job.file, dir + '/' + job.rel, progress);
    }).then(function () {
      job.bar.value = job.bar.max;
      job.state.textContent = 'done';
      job.li.className = 'done';
    }, function (err) {
      job.li.className = 'failed';
      job.state.textContent = 'failed: ' + err.message;
    }).then(function () {
      running--;
      if (running === 0 && queue.length === 0) {
        say('Uploads finished.');
        reload();
        loadSummary();
      }
      pump();
    });
  }

  /**
   * @param {HTMLInputElement} input
   * @returns {Picked[]}
   */
  function pickerItems(input) {
    return /** @type {Picked[]} */ (Array.prototype.map.call(input.files, /** @param {File} f */ function (f) { return { file: f, rel: f.webkitRelativePath || f.name }; }));
  }
  ['upload-files', 'upload-folder'].forEach(function (id) {
    var input = /** @type {HTMLInputElement | null} */ (document.getElementById(id));
    if (!input) return;
    var picker = input;
    picker.addEventListener('change', function () {
      var items = pickerItems(picker);
      picker.value = '';
      enqueue(items);
    });
  });

  // --- drag and drop, folders included (walked with the entries API)
  /** @param {DragEvent} e */
  function hasFiles(e) {
    var types = e.dataTransfer && e.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, 'Files') >= 0;
  }
  /**
   * @param {FileSystemDirectoryReader} reader
   * @returns {Promise<FileSystemEntry[]>}
   */
  function readAll(reader) {
    return new Promise(function (resolve) {
      /** @type {FileSystemEntry[]} */
      var all = [];
      (function next() {
        reader.readEntries(function (batch) {
          if (batch.length === 0) return resolve(all);
          all = all.concat(Array.prototype.slice.call(batch));
          next();
        }, function () { resolve(all); });
      })();
    });
  }
  /**
   * @param {FileSystemEntry} entry
   * @param {string} prefix
   * @param {Picked[]} out
   * @returns {Promise<void>}
   */
  function walk(entry, prefix, out) {
    if (entry.isFile) {
      var fileEntry = /** @type {FileSystemFileEntry} */ (entry);
      return new Promise(function (resolve) {
        fileEntry.file(function (f) { out.push({ file: f, rel: prefix + entry.name }); resolve(); }, function () { resolve(); });
      });
    }
    if (!entry.isDirectory) return Promise.resolve();
    return readAll(/** @type {FileSystemDirectoryEntry} */ (entry).createReader()).then(function (children) {
      return children.reduce(function (p, child) {
        return p.then(function () { return walk(child, prefix + entry.name + '/', out); });
      }, Promise.resolve());
    });
  }
  /**
   * @param {DataTransfer} dt
   * @returns {Promise<Picked[]>}
   */
  function dropped(dt) {
    // Entries must be taken synchronously, while the drop event is being handled.
    /** @type {FileSystemEntry[]} */
    var entries = [];
    for (var i = 0; dt.items && i < dt.items.length; i++) {
      // Optional: a browser without the entries API gets the flat file list below.
      var item = /** @type {Partial<DataTransferItem>} */ (dt.items[i]);
      var en = item.webkitGetAsEntry ? item.webkitGetAsEntry() : null;
      if (en) entries.push(en);
    }
    if (entries.length === 0) {
      return Promise.resolve(/** @type {Picked[]} */ (Array.prototype.map.call(dt.files, /** @param {File} f */ function (f) { return { file: f, rel: f.name }; })));
    }
    /** @type {Picked[]} */
    var out = [];
    return entries.reduce(function (p, en) {
      return p.then(function () { return walk(en, '', out); });
    }, Promise.resolve()).then(function () { return out; });
  }
  var depth = 0;
  document.addEventListener('dragenter', function (e) {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    document.body.classList.add('dragging');
  });
  document.addEventListener('dragleave', function (e) {
    if (!hasFiles(e)) return;
    if (--depth <= 0) {
      depth = 0;
      document.body.classList.remove('dragging');
    }
  });
  document.addEventListener('dragover', function (e) {
    if (!hasFiles(e)) return;
    e.preventDefault();
    /** @type {DataTransfer} */ (e.dataTransfer).dropEffect = 'copy';
  });
  document.addEventListener('drop', function (e) {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    document.body.classList.remove('dragging');
    dropped(/** @type {DataTransfer} */ (e.dataTransfer)).then(enqueue);
  });

  window.addEventListener('beforeunload', function (e) {
    if (running > 0 || queue.length > 0) {
      e.preventDefault();
      e.returnValue = '';
    }
  });
})();
