/**
 * The listing page's script, served from /assets/ (the CSP forbids inline script). Plain ES2017
 * for any current browser, no build step. It only enhances the server-rendered page: filter as
 * you type, incremental loading, local times, and uploads (tus 1.0.0 when the server offers it,
 * else PUT) with a progress bar per file. Markup for rows comes escaped from the server; names
 * from the user's disk only ever go into textContent.
 */
export const BROWSE_JS = String.raw`
(function () {
  'use strict';
  var main = document.getElementById('listing');
  if (!main) return;
  var dir = main.getAttribute('data-dir') || '';
  var rows = document.getElementById('rows');
  var more = document.getElementById('more');
  var empty = document.getElementById('empty');
  var status = document.getElementById('status');
  var filter = document.getElementById('q');
  var form = filter && filter.form;

  function say(text) { status.textContent = text; }
  function pad(n) { return n < 10 ? '0' + n : String(n); }

  // Server times are UTC; show them in the reader's zone.
  function localizeTimes(scope) {
    var times = scope.querySelectorAll('time[datetime]');
    for (var i = 0; i < times.length; i++) {
      var d = new Date(times[i].getAttribute('datetime'));
      if (isNaN(d.getTime())) continue;
      times[i].textContent = d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) +
        ' ' + pad(d.getHours()) + ':' + pad(d.getMinutes());
    }
  }
  localizeTimes(rows);

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

  function appendRows(html) {
    var t = document.createElement('template');
    t.innerHTML = html;
    localizeTimes(t.content);
    rows.appendChild(t.content);
  }

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
  function formUrl() {
    var u = new URL(form.getAttribute('action'), location.href);
    new FormData(form).forEach(function (v, k) {
      v = String(v).trim();
      if (v) u.searchParams.set(k, v);
    });
    return u;
  }

  function updateSortLinks(q) {
    var links = document.querySelectorAll('thead a[data-sort]');
    for (var i = 0; i < links.length; i++) {
      var u = new URL(links[i].getAttribute('href'), location.href);
      if (q) u.searchParams.set('q', q); else u.searchParams.delete('q');
      links[i].setAttribute('href', u.pathname + u.search);
    }
  }

  // Header totals come after the listing: they cost a pass over the whole namespace.
  var summary = document.getElementById('summary');
  function loadSummary() {
    var src = summary && summary.getAttribute('data-src');
    if (!src) return;
    fetch(src, { headers: { Accept: 'application/json' }, credentials: 'same-origin' }).then(function (r) {
      return r.ok ? r.json() : null;
    }).then(function (body) {
      if (body && typeof body.summary === 'string') summary.innerHTML = body.summary;
    }).catch(function () { /* the placeholders stay */ });
  }
  loadSummary();

  function reload() {
    if (!form) return Promise.resolve();
    var u = formUrl();
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

  if (form) {
    var timer = 0;
    filter.addEventListener('input', function () {
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
      var t = e.target;
      var typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.isContentEditable);
      if (e.key === '/' && !typing && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        filter.focus();
        filter.select();
      }
    });
  }

  // --- uploads
  if (!main.hasAttribute('data-writable')) return;
  var list = document.getElementById('uploads');
  var CHUNK = 4 * 1024 * 1024;
  var RETRIES = 6;
  var PARALLEL = 2;
  var queue = [];
  var running = 0;
  var tusProbe = null;

  function encodePath(p) { return p.split('/').map(encodeURIComponent).join('/'); }
  function b64(s) {
    var bytes = new TextEncoder().encode(s);
    var bin = '';
    for (var i = 0; i < bytes.length; i++) bin += String.fromCharCode(bytes[i]);
    return btoa(bin);
  }
  function delay(ms) { return new Promise(function (r) { setTimeout(r, ms); }); }
  function isCount(v) { return v !== null && /^\d+$/.test(v); }

  // tus when OPTIONS /uploads/ announces version 1.0.0; otherwise plain PUT.
  function probeTus() {
    if (!tusProbe) {
      tusProbe = fetch('/uploads/', { method: 'OPTIONS', credentials: 'same-origin' }).then(function (r) {
        return (r.headers.get('Tus-Version') || '').split(',').some(function (v) { return v.trim() === '1.0.0'; });
      }, function () { return false; });
    }
    return tusProbe;
  }

  // XHR rather than fetch: only XHR reports upload progress.
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

  function failure(x) {
    var message = 'HTTP ' + x.status;
    try {
      var body = JSON.parse(x.responseText);
      if (body && body.error) message = body.error;
    } catch (e) { /* not JSON */ }
    var err = new Error(message);
    err.status = x.status;
    return err;
  }

  function putUpload(file, path, progress) {
    return send('PUT', '/files/' + encodePath(path), { 'X-File-Mtime': String(file.lastModified) }, file, progress)
      .then(function (x) { if (x.status !== 200 && x.status !== 201) throw failure(x); });
  }

  // A small tus 1.0.0 client: POST creates, PATCH sends chunks, HEAD finds the offset again
  // after an error. The upload URL is kept in localStorage so a reload can resume it.
  function tusUpload(file, path, progress) {
    var key = 'cb-tus:' + path + ':' + file.size + ':' + file.lastModified;
    var url = null;
    var offset = 0;
    var failures = 0;
    try { url = localStorage.getItem(key); } catch (e) { /* storage disabled */ }
    function remember(v) {
      try { if (v) localStorage.setItem(key, v); else localStorage.removeItem(key); } catch (e) { /* ignore */ }
    }
    function tusHeaders(extra) {
      var h = { 'Tus-Resumable': '1.0.0' };
      Object.keys(extra || {}).forEach(function (k) { h[k] = extra[k]; });
      return h;
    }
    function head() {
      return send('HEAD', url, tusHeaders()).then(function (x) {
        var off = x.getResponseHeader('Upload-Offset');
        if (x.status >= 200 && x.status < 300 && isCount(off)) return Number(off);
        if (x.status === 403 || x.status === 404 || x.status === 410) return null;
        throw failure(x);
      });
    }
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
    function resume(off) {
      if (off === null) return create();
      offset = off;
      progress(offset);
    }
    function recover(err) {
      if (err.status && err.status < 500 && err.status !== 409 && err.status !== 423) throw err;
      if (++failures > RETRIES) throw err;
      return delay(400 * Math.pow(2, failures - 1)).then(head).then(resume).then(patch, recover);
    }
    function patch() {
      if (offset >= file.size) return null;
      var start = offset;
      var end = Math.min(file.size, start + CHUNK);
      var headers = tusHeaders({ 'Upload-Offset': String(start), 'Content-Type': 'application/offset+octet-stream' });
      return send('PATCH', url, headers, file.slice(start, end), function (n) { progress(start + n); }).then(function (x) {
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

  function percent(n, total) { return total > 0 ? Math.floor((n / total) * 100) + '%' : '100%'; }

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
    while (running < PARALLEL && queue.length > 0) start(queue.shift());
  }

  function start(job) {
    running++;
    var size = job.file.size;
    job.li.className = 'running';
    job.state.textContent = '0%';
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

  function pickerItems(input) {
    return Array.prototype.map.call(input.files, function (f) { return { file: f, rel: f.webkitRelativePath || f.name }; });
  }
  ['upload-files', 'upload-folder'].forEach(function (id) {
    var input = document.getElementById(id);
    if (!input) return;
    input.addEventListener('change', function () {
      var items = pickerItems(input);
      input.value = '';
      enqueue(items);
    });
  });

  // --- drag and drop, folders included (walked with the entries API)
  function hasFiles(e) {
    var types = e.dataTransfer && e.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, 'Files') >= 0;
  }
  function readAll(reader) {
    return new Promise(function (resolve) {
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
  function walk(entry, prefix, out) {
    if (entry.isFile) {
      return new Promise(function (resolve) {
        entry.file(function (f) { out.push({ file: f, rel: prefix + entry.name }); resolve(); }, function () { resolve(); });
      });
    }
    if (!entry.isDirectory) return Promise.resolve();
    return readAll(entry.createReader()).then(function (children) {
      return children.reduce(function (p, child) {
        return p.then(function () { return walk(child, prefix + entry.name + '/', out); });
      }, Promise.resolve());
    });
  }
  function dropped(dt) {
    // Entries must be taken synchronously, while the drop event is being handled.
    var entries = [];
    for (var i = 0; dt.items && i < dt.items.length; i++) {
      var en = dt.items[i].webkitGetAsEntry ? dt.items[i].webkitGetAsEntry() : null;
      if (en) entries.push(en);
    }
    if (entries.length === 0) {
      return Promise.resolve(Array.prototype.map.call(dt.files, function (f) { return { file: f, rel: f.name }; }));
    }
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
    e.dataTransfer.dropEffect = 'copy';
  });
  document.addEventListener('drop', function (e) {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth = 0;
    document.body.classList.remove('dragging');
    dropped(e.dataTransfer).then(enqueue);
  });

  window.addEventListener('beforeunload', function (e) {
    if (running > 0 || queue.length > 0) {
      e.preventDefault();
      e.returnValue = '';
    }
  });
})();
`;
