import { createTelemetry } from '../../src/infra/telemetry.js';
import type { TelemetryReading } from '../contracts/telemetry.contract.js';
import { describeTelemetryContract } from '../contracts/telemetry.contract.js';
import { RecordingTelemetry } from '../fakes/support.js';

describeTelemetryContract('recording', () => {
  const port = new RecordingTelemetry();
  return Promise.resolve({
    port,
    read: () => {
      const reading = empty();
      for (const { outcome, errorCode, opSource } of port.startOutcomes) bump(reading.startOutcomes, `${outcome} ${errorCode} ${opSource}`, 1);
      for (const seconds of port.leaseLatencies) observe(reading.leaseAcquireLatency, seconds);
      for (const { op, seconds } of port.dockerOps) observe((reading.dockerOps[op] ??= { count: 0, sum: 0 }), seconds);
      for (const type of port.healthEvents) bump(reading.healthEvents, type, 1);
      for (const type of port.notificationIntents) bump(reading.notificationIntents, type, 1);
      return Promise.resolve(reading);
    },
    cleanup: () => Promise.resolve(),
  });
});

// The real adapter read the way Prometheus reads it: its /metrics text.
describeTelemetryContract('prometheus text', () => {
  const port = createTelemetry();
  return Promise.resolve({ port, read: async () => fromPrometheusText(await port.metricsText()), cleanup: () => Promise.resolve() });
});

function empty(): TelemetryReading {
  return { startOutcomes: {}, leaseAcquireLatency: { count: 0, sum: 0 }, dockerOps: {}, healthEvents: {}, notificationIntents: {} };
}

function bump(counts: Record<string, number>, key: string, by: number): void {
  counts[key] = (counts[key] ?? 0) + by;
}

function observe(histogram: { count: number; sum: number }, seconds: number): void {
  histogram.count += 1;
  histogram.sum += seconds;
}

/**
 * The port's series from Prometheus text exposition: every sample line is
 * parsed (a line of no known shape fails the read), the rest of the text
 * (ours beyond the port, bucket lines) is left out of the reading.
 */
function fromPrometheusText(text: string): TelemetryReading {
  const reading = empty();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!sample) throw new Error(`not a Prometheus sample line: ${JSON.stringify(line)}`);
    const [, name, labelText = '', valueText] = sample as unknown as [string, string, string | undefined, string];
    const labels = parseLabels(labelText);
    const value = Number(valueText);
    if (Number.isNaN(value)) throw new Error(`not a sample value: ${JSON.stringify(line)}`);
    switch (name) {
      case 'rtmanager_start_outcomes_total':
        bump(reading.startOutcomes, `${labels.outcome} ${labels.error_code} ${labels.op_source}`, value);
        break;
      case 'rtmanager_lease_acquire_latency_seconds_count':
        reading.leaseAcquireLatency.count = value;
        break;
      case 'rtmanager_lease_acquire_latency_seconds_sum':
        reading.leaseAcquireLatency.sum = value;
        break;
      case 'rtmanager_docker_op_latency_seconds_count':
        (reading.dockerOps[labels.op!] ??= { count: 0, sum: 0 }).count = value;
        break;
      case 'rtmanager_docker_op_latency_seconds_sum':
        (reading.dockerOps[labels.op!] ??= { count: 0, sum: 0 }).sum = value;
        break;
      case 'rtmanager_health_events_total':
        bump(reading.healthEvents, labels.event_type!, value);
        break;
      case 'rtmanager_notification_intents_total':
        bump(reading.notificationIntents, labels.notification_type!, value);
        break;
    }
  }
  return reading;
}

/** `a="x",b="y \"q\""` → { a: 'x', b: 'y "q"' }, with the exposition format's escapes undone. */
function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  const pair = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
  let read = 0;
  for (let match = pair.exec(text); match; match = pair.exec(text)) {
    labels[match[1]!] = match[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    read = pair.lastIndex;
  }
  if (read !== text.length) throw new Error(`unparsed labels: ${JSON.stringify(text)}`);
  return labels;
}
