/** The listing's stylesheet, served from /assets/ (the CSP forbids inline styles). */
export const BROWSE_CSS = `
:root{--bg:#fff;--fg:#1b2130;--muted:#5d6878;--line:#e2e6ed;--accent:#2456c4;--soft:#f5f7fb;
--hot:#a23c12;--hot-bg:#fdebe1;--cold:#1b5a94;--cold-bg:#e2effb;--bad:#b3261e;--folder:#d9a73a}
@media (prefers-color-scheme:dark){:root{--bg:#13161b;--fg:#e5e8ee;--muted:#98a3b3;--line:#2a3039;
--accent:#86aaff;--soft:#1b1f26;--hot:#ffb089;--hot-bg:#3b2317;--cold:#8fc6ff;--cold-bg:#15304a;--bad:#ff8a80}}
*{box-sizing:border-box}
[hidden]{display:none!important}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--fg);font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif}
a{color:var(--accent)}
:focus-visible{outline:3px solid var(--accent);outline-offset:2px;border-radius:2px}
.sr-only{position:absolute;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);white-space:nowrap;border:0}
.top{display:flex;align-items:center;gap:1rem;padding:.65rem 1.25rem;border-bottom:1px solid var(--line)}
.brand{font-weight:700;color:var(--fg);text-decoration:none;letter-spacing:.01em}
.who{margin-left:auto;color:var(--muted)}
.who strong{color:var(--fg);font-weight:600}
#summary,main{max-width:74rem;margin:0 auto;padding:0 1.25rem}
#summary dd{min-width:3.5rem}
.summary{display:flex;flex-wrap:wrap;gap:.5rem 2.25rem;margin:1rem 0 0;padding:.75rem 1rem;background:var(--soft);border-radius:.5rem}
.summary dt{font-size:.7rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted)}
.summary dd{margin:0;font-weight:600;font-variant-numeric:tabular-nums}
.crumbs ol{list-style:none;display:flex;flex-wrap:wrap;padding:0;margin:1.1rem 0 0;color:var(--muted)}
.crumbs li{overflow-wrap:anywhere}
.crumbs li+li::before{content:"/";margin:0 .45rem;color:var(--muted)}
.crumbs a{text-decoration:none}
.crumbs a[aria-current]{color:var(--fg)}
h1{font-size:1.45rem;margin:.2rem 0 1rem;overflow-wrap:anywhere}
.toolbar{display:flex;flex-wrap:wrap;gap:.75rem 1.5rem;align-items:center;justify-content:space-between;margin-bottom:.75rem}
.filter{display:flex;gap:.45rem;align-items:center;flex:1 1 18rem;max-width:28rem}
.filter label{color:var(--muted);white-space:nowrap}
.filter input{flex:1;min-width:0;font:inherit;padding:.4rem .6rem;border:1px solid var(--line);border-radius:.4rem;background:var(--bg);color:var(--fg)}
.button,button{display:inline-block;font:inherit;line-height:1.3;padding:.4rem .85rem;border:1px solid var(--line);border-radius:.4rem;background:var(--soft);color:var(--fg);text-decoration:none;cursor:pointer;white-space:nowrap}
.button:hover,button:hover{border-color:var(--accent)}
.actions,.upload{display:flex;flex-wrap:wrap;gap:.5rem;align-items:center}
.sr-only:focus-visible+label{outline:3px solid var(--accent);outline-offset:2px}
.hint{color:var(--muted);font-size:.85rem}
table.listing{width:100%;border-collapse:collapse}
th,td{padding:.5rem .6rem;text-align:left;border-bottom:1px solid var(--line);vertical-align:middle}
thead th{font-size:.72rem;text-transform:uppercase;letter-spacing:.06em;color:var(--muted);white-space:nowrap;font-weight:600}
thead th a{color:inherit;text-decoration:none}
thead th[aria-sort]{color:var(--fg)}
.arrow{margin-left:.3rem;font-size:.8em}
tbody tr:hover{background:var(--soft)}
td.name{overflow-wrap:anywhere;width:48%}
td.name a{text-decoration:none;color:var(--fg)}
td.name a:hover{color:var(--accent);text-decoration:underline}
.icon{display:inline-block;vertical-align:-.1em;margin-right:.55rem}
.folder .icon{width:1.05rem;height:.8rem;background:var(--folder);border-radius:2px 3px 3px 3px}
.file .icon{width:.75rem;height:.95rem;border:1.5px solid var(--muted);border-radius:2px 5px 2px 2px;margin-left:.15rem;margin-right:.7rem}
.num{text-align:right}
td.size,.mtime,.uploaded,.storage{white-space:nowrap;font-variant-numeric:tabular-nums}
td.mtime,td.uploaded,td.storage{color:var(--muted)}
.badge{display:inline-block;font-size:.68rem;font-weight:700;padding:.05rem .5rem;border-radius:1rem;text-transform:uppercase;letter-spacing:.05em;margin-right:.3rem}
.badge.hot{color:var(--hot);background:var(--hot-bg)}
.badge.cold{color:var(--cold);background:var(--cold-bg)}
.none{color:var(--muted)}
.empty{color:var(--muted);padding:2.5rem 0;text-align:center}
.paging{text-align:center;margin:1rem 0 2rem}
.uploads{list-style:none;padding:0;margin:0 0 .75rem}
.uploads li{display:grid;grid-template-columns:minmax(0,1fr) minmax(6rem,12rem) 7rem;gap:.75rem;align-items:center;padding:.35rem .6rem;border-radius:.4rem;background:var(--soft);margin-bottom:.3rem}
.uploads .file-name{overflow-wrap:anywhere}
.uploads progress{width:100%}
.uploads .state{font-size:.85rem;color:var(--muted);text-align:right;font-variant-numeric:tabular-nums}
.uploads li.failed .state{color:var(--bad);text-align:left;grid-column:1/-1}
body.dragging main{outline:3px dashed var(--accent);outline-offset:.4rem;border-radius:.5rem}
.message{max-width:36rem;margin:4rem auto;padding:0 1.25rem}
@media (max-width:52rem){.uploaded{display:none}}
@media (max-width:36rem){
body{font-size:14px}
.top{flex-wrap:wrap;gap:.3rem 1rem;padding:.6rem .9rem}
.who{margin-left:0;order:3;width:100%}
.signout{margin-left:auto}
#summary,main{padding:0 .9rem}
.summary{gap:.4rem 1.25rem}
.storage{display:none}
th,td{padding:.45rem .3rem}
.uploads li{grid-template-columns:minmax(0,1fr) 5rem}
.uploads progress{grid-column:1/-1;grid-row:2}
.hint{display:none}
}
`;
