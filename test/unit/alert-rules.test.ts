/**
 * deploy/prometheus/alerts.yml read as YAML: the rules the README promises,
 * each complete, and every series an expression names is one the service
 * exports (read from the telemetry adapter's own output) or Prometheus's `up`.
 * `promtool check rules` / `promtool test rules` (scripts/test.sh) check the
 * PromQL itself.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createTelemetry } from '../../src/infra/telemetry.js';

interface Rule {
  alert?: string;
  record?: string;
  expr: string;
  for?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

const file = parse(readFileSync('deploy/prometheus/alerts.yml', 'utf8')) as { groups: Array<{ name: string; rules: Rule[] }> };
const rules = file.groups.flatMap((g) => g.rules);

/** Every series name the service's /metrics can carry: each recorder used once, histograms with their three suffixes. */
async function exportedSeries(): Promise<Set<string>> {
  const t = createTelemetry();
  t.recordStartOutcome('success', '', 'gm_rest');
  t.recordLeaseAcquireLatency(0.001);
  t.recordDockerOp('pull', 1);
  t.recordHealthEvent('container_started');
  t.recordNotificationIntent('runtime.image_pull_failed');
  t.recordStreamDuplicate();
  t.setQueueDepthSource(() => Promise.resolve([{ queue: 'start-runtime', state: 'waiting', count: 1 }]));
  t.setReadinessSource(() => Promise.resolve({ redis: true }));
  t.setRuntimeCountSource(() => Promise.resolve([{ status: 'running', health: 'unhealthy', count: 1 }]));
  t.recordReconcilePass(new Date());
  t.recordOperationLogPruned(1);
  const names = new Set<string>();
  for (const line of (await t.metricsText()).split('\n')) {
    const [, name, type] = /^# TYPE (\S+) (\S+)$/.exec(line) ?? [];
    if (!name) continue;
    names.add(name);
    if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(name + suffix);
  }
  return names;
}

const KEYWORDS = new Set(['and', 'or', 'unless', 'by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'offset', 'inf', 'nan']);

/**
 * The series an expression selects: what is left once strings, label
 * matchers, ranges and grouping clauses are taken out, and that is neither
 * a function or aggregation (followed by `(`) nor a keyword.
 */
function seriesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ')
    // Numbers and durations: 0.5, 1e3, 1h (after offset).
    .replace(/\b\d[\w.]*/g, ' ');
  const names: string[] = [];
  for (const match of bare.matchAll(/[A-Za-z_:][\w:]*/g)) {
    const after = bare.slice(match.index + match[0].length).trimStart();
    if (after.startsWith('(') || KEYWORDS.has(match[0].toLowerCase())) continue;
    names.push(match[0]);
  }
  return [...new Set(names)];
}

describe('deploy/prometheus/alerts.yml', () => {
  it('has one group of the seven alerts docs/operations.md lists, and nothing else', () => {
    expect(file.groups.map((g) => g.name)).toEqual(['rtmanager']);
    expect(rules.map((r) => r.alert)).toEqual([
      'RtmanagerStartFailureRatioHigh',
      'RtmanagerLeaseAcquireSlow',
      'RtmanagerQueueBacklogGrowing',
      'RtmanagerReconcileNotRunning',
      'RtmanagerProcessNotReady',
      'RtmanagerEngineCrashLoop',
      'RtmanagerEnginesUnhealthy',
    ]);
  });

  it.each(rules.map((r) => [r.alert, r] as const))('%s: an expression, a for, a severity, a summary and a description', (_name, rule) => {
    expect(Object.keys(rule).sort()).toEqual(['alert', 'annotations', 'expr', 'for', 'labels']);
    expect(typeof rule.expr).toBe('string');
    expect(rule.for).toMatch(/^\d+[smh]$/);
    expect(rule.labels).toEqual({ severity: expect.stringMatching(/^(warning|critical)$/) });
    expect(Object.keys(rule.annotations ?? {}).sort()).toEqual(['description', 'summary']);
  });

  it('names only series the service exports, or Prometheus\'s own "up"', async () => {
    const exported = await exportedSeries();
    // The §9 and §14 series and ours, so a rename on either side shows here.
    expect([...exported].filter((n) => !/_(bucket|sum|count)$/.test(n)).sort()).toEqual([
      'rtmanager_docker_op_latency_seconds',
      'rtmanager_health_events_total',
      'rtmanager_lease_acquire_latency_seconds',
      'rtmanager_notification_intents_total',
      'rtmanager_operation_log_pruned_rows_total',
      'rtmanager_queue_jobs',
      'rtmanager_ready',
      'rtmanager_reconcile_last_success_timestamp_seconds',
      'rtmanager_runtimes',
      'rtmanager_start_outcomes_total',
      'rtmanager_stream_duplicates_total',
    ]);
    const named: Record<string, string[]> = Object.fromEntries(rules.map((r) => [r.alert, seriesIn(r.expr)]));
    expect(named).toEqual({
      RtmanagerStartFailureRatioHigh: ['rtmanager_start_outcomes_total'],
      RtmanagerLeaseAcquireSlow: ['rtmanager_lease_acquire_latency_seconds_bucket'],
      RtmanagerQueueBacklogGrowing: ['rtmanager_queue_jobs'],
      RtmanagerReconcileNotRunning: ['rtmanager_reconcile_last_success_timestamp_seconds'],
      RtmanagerProcessNotReady: ['up', 'rtmanager_ready'],
      RtmanagerEngineCrashLoop: ['rtmanager_health_events_total'],
      RtmanagerEnginesUnhealthy: ['rtmanager_runtimes'],
    });
    for (const [alert, names] of Object.entries(named)) {
      for (const name of names) expect(name === 'up' || exported.has(name), `${alert}: ${name}`).toBe(true);
    }
  });

  it('reads series names out of PromQL, not functions, keywords, labels or durations', () => {
    expect(seriesIn('sum by (le, job) (rate(a_b{x="y",z=~"(or|and)"}[5m] offset 1h)) > bool 0.5 unless on (job) up')).toEqual(['a_b', 'up']);
    expect(seriesIn('histogram_quantile(0.99, sum without (state) (x_bucket)) / ignoring(le) group_left y')).toEqual(['x_bucket', 'y']);
    expect(seriesIn('deriv(max by (queue) (q)[15m:1m]) > 0 and absent(r) or time() - s > 1e3')).toEqual(['q', 'r', 's']);
  });
});
