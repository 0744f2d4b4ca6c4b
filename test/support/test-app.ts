/**
 * The one way tests build the HTTP app: every dependency a fake unless the
 * test passes its own (the integration test passes real queues, a real
 * enqueuer and the job read model over them). Called with `app.request`, no
 * server.
 */
import type { Queue } from 'bullmq';
import type { AppDeps } from '../../src/http/app.js';
import { createApp } from '../../src/http/app.js';
import type { EnqueueOutcome, Enqueuer } from '../../src/jobs/enqueue.js';
import type { JobStatusDeps } from '../../src/jobs/job-status.js';
import { createJobStatus } from '../../src/jobs/job-status.js';
import type { LifecycleKind, LifecyclePayload, QueueName } from '../../src/jobs/queues.js';
import { QUEUE_NAMES } from '../../src/jobs/queues.js';
import { followerGate } from '../../src/http/follower-gate.js';
import { FakeDockerEngine } from '../fakes/fake-docker-engine.js';
import { InMemoryOperationLog } from '../fakes/in-memory-operation-log.js';
import { InMemoryRuntimeRecordStore } from '../fakes/in-memory-runtime-record-store.js';
import { RecordingLogger } from '../fakes/support.js';

export const TEST_TOKEN = 'a-test-token-of-32-characters-xx';
export const TEST_ADMIN = { user: 'admin', password: 'pw' };

/** An enqueuer that records calls and answers what the test says. */
export class StubEnqueuer implements Enqueuer {
  readonly calls: Array<{ kind: LifecycleKind; payload: LifecyclePayload }> = [];
  answer: EnqueueOutcome | Error | 'hang' = { kind: 'enqueued', jobId: 'g-1', seq: 1, state: 'waiting', carrier: 'r' };
  enqueue(kind: LifecycleKind, payload: LifecyclePayload): Promise<EnqueueOutcome> {
    this.calls.push({ kind, payload });
    if (this.answer === 'hang') return new Promise(() => undefined);
    return this.answer instanceof Error ? Promise.reject(this.answer) : Promise.resolve(this.answer);
  }
  enqueueReconcile(): Promise<void> {
    return Promise.resolve();
  }
  promote(): Promise<void> {
    return Promise.resolve();
  }
  promoteAll(): Promise<number> {
    return Promise.resolve(0);
  }
  hasDeferred(): Promise<boolean> {
    return Promise.resolve(false);
  }
}

/** Fake queues for the job read model; unless a test says otherwise none holds a job, so polls fall back to the operation log. */
export function queuesHolding(jobs: Partial<Record<QueueName, Record<string, object>>> = {}): Record<QueueName, Queue> {
  const fake = (n: QueueName) => ({
    getJob: (id: string) => Promise.resolve(jobs[n]?.[id]),
    // BullMQ answers 'unknown' for an id it does not hold; a fake job says its state through getState.
    getJobState: async (id: string) => {
      const job = jobs[n]?.[id] as { getState?: () => Promise<string> } | undefined;
      return job ? ((await job.getState?.()) ?? 'waiting') : 'unknown';
    },
  });
  return Object.fromEntries(QUEUE_NAMES.map((n) => [n, fake(n) as unknown as Queue])) as Record<QueueName, Queue>;
}

export interface TestAppOptions extends Partial<AppDeps> {
  /** The queues the job read model reads, and their events for `?wait=` (none by default: a wait answers 202). */
  queues?: JobStatusDeps['queues'];
  queueEvents?: JobStatusDeps['queueEvents'];
}

export function testApp(options: TestAppOptions = {}) {
  const { queues = queuesHolding(), queueEvents = {}, ...over } = options;
  const enqueuer = new StubEnqueuer();
  const records = over.records ?? new InMemoryRuntimeRecordStore();
  const operations = over.operations ?? new InMemoryOperationLog();
  // Readiness checks fail while a test marks their dependency down.
  const down = { redis: false, postgres: false, docker: false };
  const deps: AppDeps = {
    enqueuer,
    jobs: createJobStatus({ queues, queueEvents, records, operations }),
    records,
    operations,
    readiness: {
      redis: () => (down.redis ? Promise.reject(new Error('ECONNREFUSED')) : Promise.resolve()),
      postgres: () => (down.postgres ? Promise.reject(new Error('connection refused')) : Promise.resolve()),
      docker: () => (down.docker ? Promise.reject(new Error('no socket')) : Promise.resolve()),
    },
    metricsText: () => Promise.resolve('rtmanager_start_outcomes_total 1\n'),
    auth: { disabled: false, apiToken: TEST_TOKEN, adminUser: TEST_ADMIN.user, adminPassword: TEST_ADMIN.password },
    bodyLimitBytes: 1024,
    maxWaiters: 1000,
    logger: new RecordingLogger(),
    engine: new FakeDockerEngine(),
    followers: followerGate(100),
    logBufferBytes: 1024 * 1024,
    ...over,
  };
  const app = createApp(deps);
  /** A call with the token; a string body is sent as it is, anything else as JSON. */
  const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
    app.request(path, {
      method,
      headers: { authorization: `Bearer ${TEST_TOKEN}`, 'content-type': 'application/json', ...headers },
      ...(body === undefined ? {} : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
  return { app, call, enqueuer, records, operations, down, deps };
}
