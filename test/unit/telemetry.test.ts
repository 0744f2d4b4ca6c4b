import { describe, expect, it } from 'vitest';
import { createTelemetry } from '../../src/infra/telemetry.js';

describe('telemetry as Prometheus text', () => {
  it('exports every metric of contract §9 under its exact name and labels', async () => {
    const t = createTelemetry();
    t.recordStartOutcome('failure', 'image_pull_failed', 'lobby_stream');
    t.recordStartOutcome('failure', 'image_pull_failed', 'lobby_stream');
    t.recordLeaseAcquireLatency(0.002);
    t.recordDockerOp('run', 0.8);
    t.recordHealthEvent('container_started');
    t.recordNotificationIntent('runtime.image_pull_failed');
    t.setQueueDepthSource(() => Promise.resolve([{ queue: 'start-runtime', state: 'waiting', count: 7 }]));
    const text = await t.metricsText();
    expect(text).toMatch(/^rtmanager_start_outcomes_total\{outcome="failure",error_code="image_pull_failed",op_source="lobby_stream"[^}]*\} 2$/m);
    expect(text).toMatch(/^rtmanager_lease_acquire_latency_seconds_bucket\{[^}]*le="0.0025"\} 1$/m);
    expect(text).toMatch(/^rtmanager_lease_acquire_latency_seconds_bucket\{[^}]*le="0.001"\} 0$/m);
    expect(text).toMatch(/^rtmanager_docker_op_latency_seconds_count\{op="run"[^}]*\} 1$/m);
    expect(text).toMatch(/^rtmanager_health_events_total\{event_type="container_started"[^}]*\} 1$/m);
    expect(text).toMatch(/^rtmanager_notification_intents_total\{notification_type="runtime.image_pull_failed"[^}]*\} 1$/m);
    expect(text).toMatch(/^rtmanager_queue_jobs\{queue="start-runtime",state="waiting"[^}]*\} 7$/m);
    expect(text).not.toMatch(/_total_total/);
  });

  it('keeps the last queue depths when the source fails', async () => {
    const t = createTelemetry();
    t.setQueueDepthSource(() => Promise.resolve([{ queue: 'q', state: 'active', count: 2 }]));
    await t.metricsText();
    t.setQueueDepthSource(() => Promise.reject(new Error('redis down')));
    expect(await t.metricsText()).toMatch(/^rtmanager_queue_jobs\{queue="q",state="active"[^}]*\} 2$/m);
  });
});
