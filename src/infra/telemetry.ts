/**
 * Metrics of contract §9 (and §14's stream duplicates) through the OpenTelemetry API, serialised as
 * Prometheus text for `/metrics` (no exporter HTTP server of its own).
 *
 * Names are given in full (`…_total`, `…_seconds`) and without an OTel unit:
 * the serializer then appends nothing, so the text carries the contract's
 * names exactly. Scope and target info are left out so each series has
 * exactly the contract's labels.
 */
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import type { Attributes, Meter } from '@opentelemetry/api';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { Telemetry } from '../domain/ports.js';

/** Seconds: lease acquisitions take milliseconds, Docker runs take seconds. */
const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export interface QueueDepth {
  queue: string;
  state: string;
  count: number;
}

/** How many runtime records have one status and one health (contract §15), as the record store says. */
export interface RuntimeCount {
  status: string;
  health: string;
  count: number;
}

/** Each readiness check of the process by name: true when it passes. */
export type ReadinessState = Record<string, boolean>;

/**
 * Ours in addition to contract §9, for the alert rules
 * (deploy/prometheus/alerts.yml): readiness, the reconciler's last pass, what
 * retention deleted, and the runtimes by status and health. Process-level,
 * so not on the domain's port.
 */
export interface MetricsTelemetry extends Telemetry {
  metricsText(): Promise<string>;
  /** The gauge `rtmanager_queue_jobs{queue,state}` reads this at scrape time. */
  setQueueDepthSource(source: () => Promise<QueueDepth[]>): void;
  /** The gauge `rtmanager_runtimes{status,health}` reads this at scrape time. */
  setRuntimeCountSource(source: () => Promise<RuntimeCount[]>): void;
  /**
   * Shows `rtmanager_health_events_total` at 0 for each type from now on. A
   * counter series born at its first event is invisible to `increase()`
   * (Prometheus has no earlier sample to count from): the crash-loop alert
   * would miss a process's first crash loop.
   */
  initHealthEventSeries(eventTypes: readonly string[]): void;
  /** The gauge `rtmanager_ready{check}` (1 passes, 0 fails) reads this at scrape time. */
  setReadinessSource(source: () => Promise<ReadinessState>): void;
  /** `rtmanager_reconcile_last_success_timestamp_seconds`: when a reconcile pass last finished. */
  recordReconcilePass(at: Date): void;
  /** `rtmanager_operation_log_pruned_rows_total`. */
  recordOperationLogPruned(rows: number): void;
  /** `rtmanager_event_followers` (contract §16): +1 when a followed health events stream begins, -1 when it ends. */
  recordEventFollowers(delta: 1 | -1): void;
  /** The gauge `rtmanager_log_followers` (contract §16: streams followed now) reads this at scrape time. */
  setFollowersSource(source: () => number): void;
  /** `rtmanager_log_lines_dropped_total`: a line of an engine's output left out for a reader that did not keep up. */
  recordLogLineDropped(): void;
}

export interface TelemetryOptions {
  /**
   * How long a scrape waits for a gauge read from a store [1000]: the queue
   * depths from Redis, the runtime counts from the record store. BullMQ's
   * connection retries forever while Redis is down; past this the scrape
   * answers with the last rows it read instead of hanging.
   */
  scrapeReadTimeoutMs?: number;
}

const latency = (meter: Meter, name: string, description: string) =>
  meter.createHistogram(name, { description, advice: { explicitBucketBoundaries: SECONDS_BUCKETS } });

/** Contract §9's instruments (and §14's stream duplicates): the domain's port. */
function domainTelemetry(meter: Meter): Telemetry & Pick<MetricsTelemetry, 'initHealthEventSeries'> {
  const startOutcomes = meter.createCounter('rtmanager_start_outcomes_total', { description: 'start operations by outcome, error code and op source' });
  const leaseLatency = latency(meter, 'rtmanager_lease_acquire_latency_seconds', 'time to acquire (or be refused) a game lease');
  const dockerLatency = latency(meter, 'rtmanager_docker_op_latency_seconds', 'Docker engine call latency by operation');
  const healthEvents = meter.createCounter('rtmanager_health_events_total', { description: 'health events published by type' });
  const notificationIntents = meter.createCounter('rtmanager_notification_intents_total', { description: 'admin notification intents published by type' });
  const streamDuplicates = meter.createCounter('rtmanager_stream_duplicates_total', {
    description: 'start stream entries acknowledged without a new operation (entry or request id already accepted for the game)',
  });
  return {
    recordStartOutcome: (outcome, errorCode, opSource) => startOutcomes.add(1, { outcome, error_code: errorCode, op_source: opSource }),
    recordLeaseAcquireLatency: (seconds) => leaseLatency.record(seconds),
    recordDockerOp: (op, seconds) => dockerLatency.record(seconds, { op }),
    recordHealthEvent: (eventType) => healthEvents.add(1, { event_type: eventType }),
    recordNotificationIntent: (notificationType) => notificationIntents.add(1, { notification_type: notificationType }),
    recordStreamDuplicate: () => streamDuplicates.add(1),
    initHealthEventSeries: (eventTypes) => {
      for (const eventType of eventTypes) healthEvents.add(0, { event_type: eventType });
    },
  };
}

/**
 * A gauge whose rows are read from a store at scrape time (observable
 * callbacks are synchronous, so before the collection): one read at a time,
 * and past the timeout the scrape answers with the last rows read. A read
 * that fails keeps them too.
 */
class ScrapedGauge<Row> {
  source: (() => Promise<Row[]>) | null = null;
  private last: Row[] = [];
  // One read at a time: scrapes during an outage share it rather than pile up.
  private inFlight: Promise<void> | null = null;

  constructor(
    meter: Meter,
    name: string,
    description: string,
    observe: (row: Row) => [number, Attributes],
    private readonly timeoutMs: number,
  ) {
    meter.createObservableGauge(name, { description }).addCallback((result) => {
      for (const row of this.last) result.observe(...observe(row));
    });
  }

  async refresh(): Promise<void> {
    const source = this.source;
    if (!source) return;
    this.inFlight ??= source()
      .then((rows) => {
        this.last = rows;
      })
      .catch(() => undefined)
      .finally(() => {
        this.inFlight = null;
      });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.inFlight, new Promise<void>((resolve) => (timer = setTimeout(resolve, this.timeoutMs)))]);
    clearTimeout(timer);
  }
}

/** `rtmanager_ready{check}`: 1 passes, 0 fails, as last read at a scrape. */
class ReadinessGauge {
  source: (() => Promise<ReadinessState>) | null = null;
  private state: ReadinessState = {};

  constructor(meter: Meter) {
    const gauge = meter.createObservableGauge('rtmanager_ready', {
      description: 'readiness checks of this process: 1 passes, 0 fails (the checks of /readyz)',
    });
    gauge.addCallback((result) => {
      for (const [check, passes] of Object.entries(this.state)) result.observe(passes ? 1 : 0, { check });
    });
  }

  async refresh(): Promise<void> {
    await this.source?.().then(
      (state) => {
        this.state = state;
      },
      // A source that throws says nothing about any one check: the series keep their last values.
      () => undefined,
    );
  }
}

/** `rtmanager_reconcile_last_success_timestamp_seconds`; the returned function records a finished pass. */
function reconcileGauge(meter: Meter): (at: Date) => void {
  let lastSeconds: number | null = null;
  const gauge = meter.createObservableGauge('rtmanager_reconcile_last_success_timestamp_seconds', {
    description: 'Unix time at which a reconcile pass of this process last finished',
  });
  gauge.addCallback((result) => {
    if (lastSeconds !== null) result.observe(lastSeconds);
  });
  return (at) => {
    lastSeconds = at.getTime() / 1000;
  };
}

/** Contract §16's streams: how many are followed now (read at scrape time), and the lines slow readers missed. */
function windowInstruments(meter: Meter): Pick<MetricsTelemetry, 'setFollowersSource' | 'recordLogLineDropped'> {
  let followers: (() => number) | null = null;
  const gauge = meter.createObservableGauge('rtmanager_log_followers', {
    description: 'followed streams open now (logs with follow=true, live events), against RTMANAGER_LOG_STREAM_MAX_FOLLOWERS',
  });
  gauge.addCallback((result) => {
    if (followers) result.observe(followers());
  });
  const dropped = meter.createCounter('rtmanager_log_lines_dropped_total', {
    description: "lines of engines' output left out of a log stream because its reader did not keep up (RTMANAGER_LOG_STREAM_BUFFER_BYTES)",
  });
  return {
    setFollowersSource(source) {
      followers = source;
    },
    recordLogLineDropped: () => dropped.add(1),
  };
}

export function createTelemetry(options: TelemetryOptions = {}): MetricsTelemetry {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const meter = new MeterProvider({ readers: [exporter] }).getMeter('rtmanager');
  const serializer = new PrometheusSerializer(undefined, false, undefined, true, true);
  // Created in this order, so the text lists them in it.
  const domain = domainTelemetry(meter);
  const timeoutMs = options.scrapeReadTimeoutMs ?? 1_000;
  const depths = new ScrapedGauge<QueueDepth>(
    meter,
    'rtmanager_queue_jobs',
    'BullMQ jobs per queue and state',
    (row) => [row.count, { queue: row.queue, state: row.state }],
    timeoutMs,
  );
  const readiness = new ReadinessGauge(meter);
  const recordReconcilePass = reconcileGauge(meter);
  const pruned = meter.createCounter('rtmanager_operation_log_pruned_rows_total', { description: 'operation_log rows deleted by the retention job' });
  const runtimes = new ScrapedGauge<RuntimeCount>(
    meter,
    'rtmanager_runtimes',
    'runtime records per status and health, as the record store says',
    (row) => [row.count, { status: row.status, health: row.health }],
    timeoutMs,
  );
  // Up and down: the exporter serves it as a gauge.
  const eventFollowers = meter.createUpDownCounter('rtmanager_event_followers', {
    description: 'followed health event streams (GET /events?follow=true) open now',
  });
  const window = windowInstruments(meter);
  return {
    ...domain,
    setQueueDepthSource(source) {
      depths.source = source;
    },
    setRuntimeCountSource(source) {
      runtimes.source = source;
    },
    setReadinessSource(source) {
      readiness.source = source;
    },
    recordReconcilePass,
    recordOperationLogPruned: (rows) => pruned.add(rows),
    recordEventFollowers: (delta) => eventFollowers.add(delta),
    ...window,
    async metricsText() {
      await Promise.all([depths.refresh(), runtimes.refresh(), readiness.refresh()]);
      const { resourceMetrics } = await exporter.collect();
      return serializer.serialize(resourceMetrics);
    },
  };
}
