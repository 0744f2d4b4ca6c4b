/**
 * Metrics of contract §9 through the OpenTelemetry API, serialised as
 * Prometheus text for `/metrics` (no exporter HTTP server of its own).
 */
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Telemetry } from '../domain/ports.js';

/** Seconds: lease acquisitions take milliseconds, Docker runs take seconds. */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface QueueDepth {
  queue: string;
  state: string;
  count: number;
}

export interface MetricsTelemetry extends Telemetry {
  metricsText(): Promise<string>;
  /** The gauge `rtmanager_queue_jobs{queue,state}` reads this at scrape time. */
  setQueueDepthSource(source: () => Promise<QueueDepth[]>): void;
}

export function createTelemetry(): MetricsTelemetry {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const meter = provider.getMeter('rtmanager');
  const serializer = new PrometheusSerializer();

  const startOutcomes = meter.createCounter('rtmanager_start_outcomes_total', { description: 'start operations by outcome, error code and op source' });
  const leaseLatency = meter.createHistogram('rtmanager_lease_acquire_latency_seconds', {
    description: 'time to acquire (or be refused) a game lease',
    advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
  });
  const dockerLatency = meter.createHistogram('rtmanager_docker_op_latency_seconds', {
    description: 'Docker engine call latency by operation',
    advice: { explicitBucketBoundaries: SECONDS_BUCKETS },
  });
  const healthEvents = meter.createCounter('rtmanager_health_events_total', { description: 'health events published by type' });
  const notificationIntents = meter.createCounter('rtmanager_notification_intents_total', { description: 'admin notification intents published by type' });

  let depthSource: (() => Promise<QueueDepth[]>) | null = null;
  let lastDepths: QueueDepth[] = [];
  const queueJobs = meter.createObservableGauge('rtmanager_queue_jobs', { description: 'BullMQ jobs per queue and state' });
  queueJobs.addCallback((result) => {
    for (const row of lastDepths) result.observe(row.count, { queue: row.queue, state: row.state });
  });

  return {
    recordStartOutcome: (outcome, errorCode, opSource) => startOutcomes.add(1, { outcome, error_code: errorCode, op_source: opSource }),
    recordLeaseAcquireLatency: (seconds) => leaseLatency.record(seconds),
    recordDockerOp: (op, seconds) => dockerLatency.record(seconds, { op }),
    recordHealthEvent: (eventType) => healthEvents.add(1, { event_type: eventType }),
    recordNotificationIntent: (notificationType) => notificationIntents.add(1, { notification_type: notificationType }),
    setQueueDepthSource(source) {
      depthSource = source;
    },
    async metricsText() {
      // Observable callbacks are synchronous: read the queues first.
      if (depthSource) lastDepths = await depthSource().catch(() => lastDepths);
      const { resourceMetrics } = await exporter.collect();
      return serializer.serialize(resourceMetrics);
    },
  };
}
