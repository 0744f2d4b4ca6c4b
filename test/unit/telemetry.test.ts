import { describe, expect, it, vi } from 'vitest';
import { HEALTH_EVENT_TYPES } from '../../src/domain/model.js';
import { createTelemetry } from '../../src/infra/telemetry.js';

/** The sample lines of one metric family, without HELP/TYPE. */
const samples = (text: string, name: string): string[] => text.split('\n').filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `));

describe('telemetry as Prometheus text', () => {
  it('exports every metric of contract §9 and §14 under its exact name, type and labels', async () => {
    const t = createTelemetry();
    t.recordStartOutcome('failure', 'image_pull_failed', 'lobby_stream');
    t.recordStartOutcome('failure', 'image_pull_failed', 'lobby_stream');
    t.recordStartOutcome('success', 'replay_no_op', 'gm_rest');
    t.recordLeaseAcquireLatency(0.002);
    t.recordDockerOp('run', 0.8);
    t.recordHealthEvent('container_started');
    t.recordNotificationIntent('runtime.image_pull_failed');
    t.recordStreamDuplicate();
    t.recordStreamDuplicate();
    t.recordStreamDuplicate();
    t.setQueueDepthSource(() => Promise.resolve([{ queue: 'start-runtime', state: 'waiting', count: 7 }]));
    const text = await t.metricsText();

    const types = text
      .split('\n')
      .filter((line) => line.startsWith('# TYPE '))
      .sort();
    expect(types).toEqual([
      '# TYPE rtmanager_docker_op_latency_seconds histogram',
      '# TYPE rtmanager_health_events_total counter',
      '# TYPE rtmanager_lease_acquire_latency_seconds histogram',
      '# TYPE rtmanager_notification_intents_total counter',
      '# TYPE rtmanager_queue_jobs gauge',
      '# TYPE rtmanager_start_outcomes_total counter',
      '# TYPE rtmanager_stream_duplicates_total counter',
    ]);
    expect(samples(text, 'rtmanager_start_outcomes_total').sort()).toEqual([
      'rtmanager_start_outcomes_total{outcome="failure",error_code="image_pull_failed",op_source="lobby_stream"} 2',
      'rtmanager_start_outcomes_total{outcome="success",error_code="replay_no_op",op_source="gm_rest"} 1',
    ]);
    expect(samples(text, 'rtmanager_health_events_total')).toEqual(['rtmanager_health_events_total{event_type="container_started"} 1']);
    expect(samples(text, 'rtmanager_notification_intents_total')).toEqual([
      'rtmanager_notification_intents_total{notification_type="runtime.image_pull_failed"} 1',
    ]);
    expect(samples(text, 'rtmanager_queue_jobs')).toEqual(['rtmanager_queue_jobs{queue="start-runtime",state="waiting"} 7']);
    // No labels: the contract names none.
    expect(samples(text, 'rtmanager_stream_duplicates_total')).toEqual(['rtmanager_stream_duplicates_total 3']);

    expect(text).toContain('rtmanager_lease_acquire_latency_seconds_count 1\n');
    expect(text).toContain('rtmanager_lease_acquire_latency_seconds_bucket{le="0.001"} 0\n');
    expect(text).toContain('rtmanager_lease_acquire_latency_seconds_bucket{le="0.0025"} 1\n');
    expect(text).toContain('rtmanager_lease_acquire_latency_seconds_bucket{le="+Inf"} 1\n');
    expect(text).toContain('rtmanager_docker_op_latency_seconds_count{op="run"} 1\n');
    expect(text).toContain('rtmanager_docker_op_latency_seconds_sum{op="run"} 0.8\n');
    expect(text).toContain('rtmanager_docker_op_latency_seconds_bucket{op="run",le="0.5"} 0\n');
    expect(text).toContain('rtmanager_docker_op_latency_seconds_bucket{op="run",le="1"} 1\n');
  });

  it('exports ours in addition: readiness per check at scrape time, the last reconcile pass, rows pruned', async () => {
    const t = createTelemetry();
    // Nothing recorded yet: none of them shows, not even with a zero.
    expect(await t.metricsText()).not.toContain('rtmanager_');
    let state = { redis: true, workers: false };
    t.setReadinessSource(() => Promise.resolve(state));
    t.recordReconcilePass(new Date(Date.UTC(2026, 10, 25, 12, 0, 0, 500)));
    t.recordOperationLogPruned(1500);
    t.recordOperationLogPruned(0);
    const text = await t.metricsText();
    expect(text).toContain('# TYPE rtmanager_ready gauge\n');
    expect(samples(text, 'rtmanager_ready').sort()).toEqual(['rtmanager_ready{check="redis"} 1', 'rtmanager_ready{check="workers"} 0']);
    expect(samples(text, 'rtmanager_reconcile_last_success_timestamp_seconds')).toEqual(['rtmanager_reconcile_last_success_timestamp_seconds 1795608000.5']);
    expect(samples(text, 'rtmanager_operation_log_pruned_rows_total')).toEqual(['rtmanager_operation_log_pruned_rows_total 1500']);
    // Read again at every scrape.
    state = { redis: true, workers: true };
    expect(samples(await t.metricsText(), 'rtmanager_ready').sort()).toEqual(['rtmanager_ready{check="redis"} 1', 'rtmanager_ready{check="workers"} 1']);
  });

  it('counts the health events of contract §15 by type, each shown at 0 from the start once initialised', async () => {
    const t = createTelemetry();
    t.initHealthEventSeries(HEALTH_EVENT_TYPES);
    const zeros = samples(await t.metricsText(), 'rtmanager_health_events_total');
    expect(zeros).toEqual(HEALTH_EVENT_TYPES.map((type) => `rtmanager_health_events_total{event_type="${type}"} 0`));
    for (const type of ['container_unhealthy', 'container_healthy', 'container_unhealthy', 'container_restarted', 'container_crash_loop'] as const) {
      t.recordHealthEvent(type);
    }
    const counted = samples(await t.metricsText(), 'rtmanager_health_events_total').filter((line) => !line.endsWith(' 0'));
    expect(counted.sort()).toEqual([
      'rtmanager_health_events_total{event_type="container_crash_loop"} 1',
      'rtmanager_health_events_total{event_type="container_healthy"} 1',
      'rtmanager_health_events_total{event_type="container_restarted"} 1',
      'rtmanager_health_events_total{event_type="container_unhealthy"} 2',
    ]);
  });

  it('exports the runtimes per status and health as read at each scrape, keeping the last counts when the read fails', async () => {
    const t = createTelemetry();
    let unhealthy = 1;
    t.setRuntimeCountSource(() =>
      Promise.resolve([
        { status: 'running', health: 'healthy', count: 3 },
        { status: 'running', health: 'unhealthy', count: unhealthy },
      ]),
    );
    const text = await t.metricsText();
    expect(text).toContain('# TYPE rtmanager_runtimes gauge\n');
    expect(samples(text, 'rtmanager_runtimes')).toEqual([
      'rtmanager_runtimes{status="running",health="healthy"} 3',
      'rtmanager_runtimes{status="running",health="unhealthy"} 1',
    ]);
    unhealthy = 0;
    expect(samples(await t.metricsText(), 'rtmanager_runtimes')).toContain('rtmanager_runtimes{status="running",health="unhealthy"} 0');
    t.setRuntimeCountSource(() => Promise.reject(new Error('postgres down')));
    expect(samples(await t.metricsText(), 'rtmanager_runtimes')).toEqual([
      'rtmanager_runtimes{status="running",health="healthy"} 3',
      'rtmanager_runtimes{status="running",health="unhealthy"} 0',
    ]);
  });

  it("exports contract §16's in addition: followed streams now (read at scrape time) and the lines slow readers missed", async () => {
    const t = createTelemetry();
    let followers = 3;
    t.setFollowersSource(() => followers);
    t.recordLogLineDropped();
    t.recordLogLineDropped();
    const text = await t.metricsText();
    expect(text).toContain('# TYPE rtmanager_log_followers gauge\n');
    expect(text).toContain('# TYPE rtmanager_log_lines_dropped_total counter\n');
    expect(samples(text, 'rtmanager_log_followers')).toEqual(['rtmanager_log_followers 3']);
    expect(samples(text, 'rtmanager_log_lines_dropped_total')).toEqual(['rtmanager_log_lines_dropped_total 2']);
    followers = 0;
    expect(samples(await t.metricsText(), 'rtmanager_log_followers')).toEqual(['rtmanager_log_followers 0']);
  });

  it('keeps the last queue depths when the source fails', async () => {
    const t = createTelemetry();
    t.setQueueDepthSource(() => Promise.resolve([{ queue: 'q', state: 'active', count: 2 }]));
    await t.metricsText();
    t.setQueueDepthSource(() => Promise.reject(new Error('redis down')));
    expect(samples(await t.metricsText(), 'rtmanager_queue_jobs')).toEqual(['rtmanager_queue_jobs{queue="q",state="active"} 2']);
  });

  it('answers a scrape at its own timeout while the source hangs, sharing one pending read', async () => {
    // Time moves only when the test says: the scrapes can end by the code's own timer alone.
    vi.useFakeTimers();
    try {
      const t = createTelemetry({ scrapeReadTimeoutMs: 50 });
      t.setQueueDepthSource(() => Promise.resolve([{ queue: 'q', state: 'waiting', count: 1 }]));
      await t.metricsText();
      let reads = 0;
      let answer: (rows: Array<{ queue: string; state: string; count: number }>) => void = () => undefined;
      t.setQueueDepthSource(() => {
        reads += 1;
        return new Promise((resolve) => (answer = resolve));
      });
      let settled = false;
      const scrapes = Promise.all([t.metricsText(), t.metricsText()]).finally(() => (settled = true));
      await vi.advanceTimersByTimeAsync(49);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      expect(settled).toBe(true);
      const [first, second] = await scrapes;
      expect(samples(first, 'rtmanager_queue_jobs')).toEqual(['rtmanager_queue_jobs{queue="q",state="waiting"} 1']);
      expect(second).toBe(first);
      const third = t.metricsText();
      await vi.advanceTimersByTimeAsync(50);
      await third;
      expect(reads).toBe(1);
      // Once the slow read lands, the next scrape shows it.
      answer([{ queue: 'q', state: 'waiting', count: 9 }]);
      await vi.advanceTimersByTimeAsync(0);
      t.setQueueDepthSource(() => new Promise(() => undefined));
      const next = t.metricsText();
      await vi.advanceTimersByTimeAsync(50);
      expect(samples(await next, 'rtmanager_queue_jobs')).toEqual(['rtmanager_queue_jobs{queue="q",state="waiting"} 9']);
    } finally {
      vi.useRealTimers();
    }
  });
});
