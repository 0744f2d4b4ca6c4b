/**
 * The games pages' HTML, rendered with Hono's `html` helper: every value
 * interpolated into it is escaped (game ids follow a grammar, but image refs,
 * digests and error messages are whatever a caller or Docker sent), and only
 * the page's own style and script go in raw, each under the response's nonce.
 */
import { html, raw } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';
import type { RuntimeRecord, RuntimeStatus, StoredOperationEntry } from '../domain/model.js';
import { RUNTIME_STATUSES } from '../domain/model.js';
import { BULL_BOARD_BASE, GAMES_PAGE } from './dashboard-guards.js';
import { DETAIL_SCRIPT, PAGE_STYLE } from './games-script.js';

type Html = HtmlEscapedString | Promise<HtmlEscapedString>;

const DASH = '—';

/** `2026-12-08 10:11:12 UTC`: one zone for every operator, whatever their browser's. */
export function when(date: Date | null): string {
  return date ? `${date.toISOString().slice(0, 19).replace('T', ' ')} UTC` : DASH;
}

/** Docker's sizes as an operator reads them: binary units, one decimal. */
export function bytes(n: number | null): string {
  if (n === null) return DASH;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${n} B` : `${Number(value.toFixed(1))} ${units[unit]}`;
}

const cpus = (n: number | null) => (n === null ? DASH : `${n} CPU`);
const count = (n: number | null) => (n === null ? DASH : String(n));
/** `sha256:0123456789ab`: enough to tell two images apart in a table; the whole digest is on the game's page. */
const shortDigest = (digest: string | null) => (digest ? digest.replace(/^(sha256:[0-9a-f]{12})[0-9a-f]+$/, '$1') : DASH);
const gameUrl = (gameId: string) => `${GAMES_PAGE}/${encodeURIComponent(gameId)}`;

function layout(title: string, nonce: string, body: Html, script = ''): Html {
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>${title} · Runtime Manager</title>
        <link rel="icon" href="${BULL_BOARD_BASE}/static/favicon-32x32.png" />
        <style nonce="${nonce}">
          ${raw(PAGE_STYLE)}
        </style>
      </head>
      <body>
        <header>
          <strong>Runtime Manager</strong>
          <nav><a href="${GAMES_PAGE}">Games</a><a href="${BULL_BOARD_BASE}">Queues</a></nav>
        </header>
        <main>${body}</main>
        ${
          script
            ? html`<script nonce="${nonce}">
                ${raw(script)};
              </script>`
            : ''
        }
      </body>
    </html>`;
}

const badge = (kind: string, value: string) => html`<span class="badge ${kind}-${value}">${value}</span>`;

function gameRow(r: RuntimeRecord): Html {
  return html`<tr>
    <td><a href="${gameUrl(r.gameId)}">${r.gameId}</a></td>
    <td>${badge('status', r.status)}</td>
    <td>${badge('health', r.health)}</td>
    <td class="image">${r.currentImageRef ?? DASH}</td>
    <td class="digest" title="${r.currentImageDigest ?? ''}">${shortDigest(r.currentImageDigest)}</td>
    <td class="num">${cpus(r.effectiveCpuQuota)}</td>
    <td class="num">${bytes(r.effectiveMemoryBytes)}</td>
    <td class="num">${count(r.effectivePidsLimit)}</td>
    <td>${when(r.startedAt)}</td>
    <td class="num">${r.restartCount}</td>
  </tr>`;
}

export interface ListView {
  records: RuntimeRecord[];
  /** The next page's URL; null on the last page. */
  next: string | null;
  status: RuntimeStatus | undefined;
  /** Not the first page: it links back to it. */
  paged: boolean;
  nonce: string;
}

export function listPage(view: ListView): Html {
  const filter = (status: RuntimeStatus | undefined, label: string) =>
    status === view.status ? html`<strong>${label}</strong>` : html`<a href="${status ? `${GAMES_PAGE}?status=${status}` : GAMES_PAGE}">${label}</a>`;
  const body = html`<h1>Games</h1>
    <p class="filters">${filter(undefined, 'all')}${RUNTIME_STATUSES.map((s) => filter(s, s))}</p>
    ${
      view.records.length === 0
        ? html`<p class="empty">No game${view.status ? html` is ${view.status}` : ''}.</p>`
        : html`<table id="games">
            <thead>
              <tr>
                <th>Game</th>
                <th>Status</th>
                <th>Health</th>
                <th>Image</th>
                <th>Digest</th>
                <th>CPU</th>
                <th>Memory</th>
                <th>PIDs</th>
                <th>Started at</th>
                <th>Restarts</th>
              </tr>
            </thead>
            <tbody>
              ${view.records.map(gameRow)}
            </tbody>
          </table>`
    }
    <p class="pages">
      ${view.paged ? html`<a href="${view.status ? `${GAMES_PAGE}?status=${view.status}` : GAMES_PAGE}">first page</a>` : ''}${
        view.next ? html`<a rel="next" href="${view.next}">next page</a>` : ''
      }
    </p>`;
  return layout('Games', view.nonce, body);
}

function recordFacts(r: RuntimeRecord): Html {
  const facts: Array<[string, string | number]> = [
    ['status', r.status],
    ['health', r.health],
    ['image', r.currentImageRef ?? DASH],
    ['digest', r.currentImageDigest ?? DASH],
    ['container', r.currentContainerId ?? DASH],
    ['engine endpoint', r.engineEndpoint ?? DASH],
    ['network', r.dockerNetwork ?? DASH],
    ['node', r.nodeHostname ? `${r.nodeHostname} (${r.nodeId ?? DASH})` : DASH],
    ['state directory', r.statePath ?? DASH],
    ['CPU', cpus(r.effectiveCpuQuota)],
    ['memory', bytes(r.effectiveMemoryBytes)],
    ['PIDs', count(r.effectivePidsLimit)],
    ['started at', when(r.startedAt)],
    ['stopped at', when(r.stoppedAt)],
    ['last operation at', when(r.lastOpAt)],
    ['created at', when(r.createdAt)],
    ['crash restarts', r.restartCount],
    ['last exit code', count(r.lastExitCode)],
  ];
  return html`<dl id="record">
    ${facts.map(
      ([name, value]) =>
        html`<dt>${name}</dt>
          <dd>${value}</dd>`,
    )}
  </dl>`;
}

function operationRow(e: StoredOperationEntry): Html {
  const took = e.finishedAt.getTime() - e.startedAt.getTime();
  return html`<tr>
    <td>${when(e.startedAt)}</td>
    <td>${e.opKind}</td>
    <td>${e.opSource}</td>
    <td>${badge('outcome', e.outcome)}</td>
    <td>${e.errorCode || DASH}</td>
    <td class="message">${e.errorMessage || DASH}</td>
    <td class="image">${e.imageRef || DASH}</td>
    <td class="num">${count(e.exitCode)}</td>
    <td class="num">${took} ms</td>
  </tr>`;
}

export interface DetailView {
  record: RuntimeRecord;
  /** Newest first. */
  operations: StoredOperationEntry[];
  /** The game's page: its stats and logs routes are below it. */
  base: string;
  nonce: string;
}

export function detailPage(view: DetailView): Html {
  const { record } = view;
  const body = html`<h1>${record.gameId} ${badge('status', record.status)}</h1>
    ${recordFacts(record)}
    <section id="stats" data-url="${view.base}/stats">
      <h2>Usage <button type="button" id="stats-refresh">read again</button></h2>
      <p id="stats-state">reading…</p>
      <p id="stats-detail" class="note"></p>
      <dl id="stats-values" hidden></dl>
    </section>
    <section id="logs" data-url="${view.base}/logs?follow=true&amp;tail=100">
      <h2>Engine output <button type="button" id="logs-again" hidden>follow again</button></h2>
      <p id="logs-state">connecting…</p>
      <pre id="log-lines"></pre>
    </section>
    <section>
      <h2>Last operations</h2>
      ${
        view.operations.length === 0
          ? html`<p class="empty">No operation recorded.</p>`
          : html`<table id="operations">
              <thead>
                <tr>
                  <th>Started at</th>
                  <th>Kind</th>
                  <th>Source</th>
                  <th>Outcome</th>
                  <th>Error</th>
                  <th>Message</th>
                  <th>Image</th>
                  <th>Exit</th>
                  <th>Took</th>
                </tr>
              </thead>
              <tbody>
                ${view.operations.map(operationRow)}
              </tbody>
            </table>`
      }
    </section>`;
  return layout(record.gameId, view.nonce, body, DETAIL_SCRIPT);
}

export function missingPage(gameId: string, nonce: string): Html {
  return layout(
    'No such game',
    nonce,
    html`<h1>No such game</h1>
      <p>The Runtime Manager holds no record of a game <code>${gameId.slice(0, 200)}</code>.</p>`,
  );
}
