/**
 * The games pages' own style and the detail page's script, inlined under the
 * response's nonce: no build step and nothing fetched (the machines are
 * offline). The script reads the game's stats and follows its log through
 * the page's own routes, and writes what the engine said only as text
 * (`textContent`), never as markup.
 */

export const PAGE_STYLE = `
[hidden]{display:none!important}
body{margin:0;font:14px/1.45 system-ui,sans-serif;color:#1f2328;background:#f6f8fa}
header{display:flex;gap:2em;align-items:center;padding:.6em 1.5em;background:#24292f;color:#fff}
header nav a{color:#fff;margin-right:1.2em}
main{padding:1em 1.5em}
h1 .badge{font-size:.6em;vertical-align:middle}
table{border-collapse:collapse;background:#fff;width:100%}
th,td{border:1px solid #d0d7de;padding:.3em .5em;text-align:left;vertical-align:top}
th{background:#eaeef2}
td.num{text-align:right;white-space:nowrap}
td.image,td.message,td.digest{word-break:break-all}
.badge{display:inline-block;padding:0 .5em;border-radius:1em;background:#eaeef2}
.status-running,.health-healthy,.outcome-success{background:#dafbe1}
.status-exited,.health-unhealthy,.outcome-failure{background:#ffebe9}
.health-starting{background:#fff8c5}
.filters a,.filters strong,.pages a{margin-right:1em}
dl{display:grid;grid-template-columns:max-content auto;gap:.2em 1em;background:#fff;padding:.8em;border:1px solid #d0d7de}
dt{color:#57606a}dd{margin:0;word-break:break-all}
section{margin-top:1.5em}
.note{color:#57606a}
#log-lines{background:#0d1117;color:#e6edf3;padding:.6em;max-height:32em;overflow:auto;white-space:pre-wrap;word-break:break-all;margin:0}
#log-lines:empty{display:none}
#log-lines span{display:block}
#log-lines .stderr{color:#ff9492}
#log-lines .note{color:#8b949e;font-style:italic}
`;

/** At most this many lines stay on the page: a chatty engine does not grow the operator's browser without end. */
const MAX_LINES = 2000;

export const DETAIL_SCRIPT = `(() => {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const bytes = (n) => {
    if (typeof n !== 'number') return '—';
    const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
    let v = n, u = 0;
    while (v >= 1024 && u < units.length - 1) { v /= 1024; u += 1; }
    return u === 0 ? n + ' B' : Number(v.toFixed(1)) + ' ' + units[u];
  };
  const text = (v) => (v === null || v === undefined ? '—' : String(v));

  const stats = $('stats'), statsState = $('stats-state'), statsDetail = $('stats-detail'), statsValues = $('stats-values');
  function showStats(r) {
    const rows = [
      ['CPU', typeof r.cpu_percent === 'number' ? r.cpu_percent.toFixed(1) + ' %' : '—'],
      ['memory', bytes(r.memory_bytes) + ' of ' + bytes(r.memory_limit_bytes)],
      ['PIDs', text(r.pids)],
      ['network in', bytes(r.net_rx_bytes)],
      ['network out', bytes(r.net_tx_bytes)],
      ['read at', text(r.read_at)],
    ];
    statsValues.replaceChildren(...rows.flatMap(([name, value]) => {
      const dt = document.createElement('dt'), dd = document.createElement('dd');
      dt.textContent = name; dd.textContent = value;
      return [dt, dd];
    }));
    statsValues.hidden = false;
  }
  async function readStats() {
    statsState.textContent = 'reading…';
    statsDetail.textContent = '';
    let res;
    try {
      res = await fetch(stats.dataset.url, { headers: { accept: 'application/json' }, cache: 'no-store' });
    } catch (error) {
      res = null;
    }
    const body = res ? await res.json().catch(() => null) : null;
    statsState.dataset.status = res ? String(res.status) : '0';
    if (res && res.status === 200 && body) {
      statsState.textContent = 'running';
      showStats(body);
      return;
    }
    statsValues.hidden = true;
    const label = res && res.status === 409 ? 'not running' : res && res.status === 404 ? 'no such game' : 'unavailable';
    const why = body && body.error ? text(body.error.message) : '';
    statsState.textContent = label;
    statsDetail.textContent = why === label ? '' : why;
  }
  $('stats-refresh').addEventListener('click', () => void readStats());

  const logs = $('logs'), lines = $('log-lines'), logsState = $('logs-state'), again = $('logs-again');
  let source = null, opened = false, ended = false;
  function add(kind, value) {
    const atEnd = lines.scrollTop + lines.clientHeight >= lines.scrollHeight - 4;
    const line = document.createElement('span');
    line.className = kind;
    line.textContent = value;
    lines.append(line);
    while (lines.childElementCount > ${MAX_LINES}) lines.firstElementChild.remove();
    if (atEnd) lines.scrollTop = lines.scrollHeight;
  }
  function stop(message) {
    source.close();
    logsState.textContent = message;
    again.hidden = false;
  }
  function onEnd(entry) {
    ended = true;
    stop('the engine stopped' + (entry && entry.exit_code !== null && entry.exit_code !== undefined ? ' (exit code ' + text(entry.exit_code) + ')' : ''));
  }
  function onLine(data) {
    let entry;
    try { entry = JSON.parse(data); } catch (error) { add('note', text(data)); return; }
    if (!entry || typeof entry !== 'object') { add('note', text(data)); return; }
    if (entry.end === true) { onEnd(entry); return; }
    if (typeof entry.dropped === 'number') { add('note', '… ' + entry.dropped + ' lines dropped: this page read too slowly'); return; }
    add(entry.stream === 'stderr' ? 'stderr' : 'stdout', (entry.ts ? entry.ts + '  ' : '') + text(entry.line) + (entry.truncated ? ' [cut]' : ''));
  }
  function follow() {
    lines.replaceChildren();
    again.hidden = true;
    opened = false;
    ended = false;
    logsState.textContent = 'connecting…';
    source = new EventSource(logs.dataset.url);
    source.addEventListener('open', () => { opened = true; logsState.textContent = 'following'; });
    source.addEventListener('log', (e) => onLine(e.data));
    source.addEventListener('message', (e) => onLine(e.data));
    source.addEventListener('dropped', (e) => onLine(e.data));
    source.addEventListener('end', (e) => { let entry = null; try { entry = JSON.parse(e.data); } catch (error) { entry = null; } onEnd(entry); });
    // A stream that ends without its end event, or was refused: the browser would reconnect and tail the same lines again.
    source.addEventListener('error', () => { if (!ended) stop(opened ? 'the log stream closed' : 'unavailable'); });
  }
  again.addEventListener('click', follow);

  void readStats();
  follow();
})();`;
