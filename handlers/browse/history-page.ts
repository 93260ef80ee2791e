import { escapeHtml } from '../http/html.js';
import { encodePath } from '../../core/path.js';

/**
 * The empty shells of the history views (history.js fills them from the v2 API). They are all
 * hidden until the script runs: without it they could do nothing, so nobody sees them.
 */

/** Toolbar controls: the trash toggle and the "as of" picker. */
export function renderHistoryTools(): string {
  return (
    '<div class="history-tools needs-history">' +
    '<button type="button" id="show-trash" aria-expanded="false" aria-controls="trash">Deleted files</button>' +
    '<form class="as-of" id="as-of"><label for="as-of-time">As of</label>' +
    '<input id="as-of-time" type="datetime-local" step="1">' +
    '<button type="submit">Show</button></form>' +
    '<p class="as-of-error" id="as-of-error" role="alert" hidden></p></div>'
  );
}

const TRASH =
  '<section class="panel" id="trash" aria-labelledby="trash-title" hidden>' +
  '<h2 id="trash-title">Deleted files below this folder</h2>' +
  '<table class="listing"><thead><tr><th scope="col">Name</th><th scope="col" class="num">Size</th>' +
  '<th scope="col">Deleted</th><th scope="col" class="row-actions"><span class="sr-only">Actions</span></th></tr></thead>' +
  '<tbody id="trash-rows"></tbody></table>' +
  '<p class="empty" id="trash-empty" hidden>Nothing was deleted here.</p>' +
  '<p class="paging"><button type="button" id="trash-more" hidden>Load more</button></p>' +
  '<p class="status" id="trash-status" aria-live="polite"></p></section>';

const VERSIONS =
  '<dialog class="versions" id="versions" aria-labelledby="versions-title">' +
  '<h2 id="versions-title">Versions of <span id="versions-name"></span></h2>' +
  '<p class="hint">Newest first. Restoring a version makes it the current content again; nothing is removed.</p>' +
  '<div class="scroll"><table class="listing"><thead><tr><th scope="col">Uploaded</th><th scope="col" class="num">Size</th>' +
  '<th scope="col">Modified</th><th scope="col">Content</th><th scope="col" class="row-actions"><span class="sr-only">Actions</span></th></tr></thead>' +
  '<tbody id="versions-rows"></tbody></table></div>' +
  '<p class="paging"><button type="button" id="versions-more" hidden>Load more</button></p>' +
  '<p class="status" id="versions-status" aria-live="polite"></p>' +
  '<p class="dialog-actions"><button type="button" id="versions-close">Close</button></p></dialog>';

/** The folder as of a moment: read-only rows, its .zip, and (for the owner) the rollback. */
function snapshot(dir: string, writable: boolean): string {
  const rollback = writable
    ? '<button type="button" id="rollback" aria-haspopup="dialog">Roll back this folder&#8230;</button>'
    : '';
  const dialog = writable
    ? '<dialog class="confirm" id="rollback-dialog" aria-labelledby="rollback-title">' +
      `<h2 id="rollback-title">Roll back ${escapeHtml(dir)} to <span id="rollback-time"></span>?</h2>` +
      '<p>Files changed since then get their old content back, files added since are deleted and deleted ones come back. ' +
      'Nothing is lost: this adds versions, so it can be undone in the same way.</p>' +
      '<p class="dialog-actions"><button type="button" id="rollback-cancel">Cancel</button>' +
      '<button type="button" class="danger" id="rollback-confirm">Roll back</button></p></dialog>'
    : '';
  return (
    '<section class="panel snapshot" id="snapshot" aria-labelledby="snapshot-title" hidden>' +
    '<h2 id="snapshot-title">As of <span id="snapshot-time"></span></h2>' +
    '<p class="hint">This folder as it was at that moment (read-only).</p>' +
    '<div class="actions"><a class="button" id="snapshot-zip" download>Download as .zip</a>' +
    rollback +
    `<a class="button" id="snapshot-exit" href="${escapeHtml(`/browse/${encodePath(dir)}/`)}">Back to now</a></div>` +
    '<table class="listing"><thead><tr><th scope="col">Name</th><th scope="col" class="num">Size</th>' +
    '<th scope="col" class="mtime">Modified</th><th scope="col" class="uploaded">Uploaded</th>' +
    '<th scope="col" class="row-actions"><span class="sr-only">Actions</span></th></tr></thead>' +
    '<tbody id="snapshot-folders"></tbody><tbody id="snapshot-files"></tbody></table>' +
    '<p class="empty" id="snapshot-empty" hidden>Nothing was in this folder at that moment.</p>' +
    '<p class="status" id="snapshot-status" aria-live="polite"></p></section>' +
    dialog
  );
}

/** Panels and dialogs of a folder page (never of the admin's root: it has no history). */
export function renderHistoryPanels(dir: string, writable: boolean): string {
  return TRASH + snapshot(dir, writable) + VERSIONS;
}

/** The "Versions" button of a file row; history.js opens the file's versions from it. */
export function versionsButton(path: string, name: string): string {
  return (
    `<button type="button" class="versions needs-history" data-path="${escapeHtml(path)}" ` +
    `aria-label="${escapeHtml(`Versions of ${name}`)}">Versions</button>`
  );
}
