/**
 * The one way tests build the HTTP app: every dependency a fake unless the
 * test passes its own (the integration test passes real queues, a real
 * enqueuer and the job read model over them). Called with `app.request`, no
 * server.
 */
import type { Queue } from 'bullmq';
import type { AppDeps } from '../../src/http/app.js';
import { createApp } from '../../src/http/app.js';
import { followerGate as openFollowerGate } from '../../src/http/follower-gate.js';
import type { GameWindow, GamesPagesDeps } from '../../src/http/games-pages.js';
import { mountGamesPages } from '../../src/http/games-pages.js';
import type { EnqueueOutcome, Enqueuer } from '../../src/jobs/enqueue.js';
import type { JobStatusDeps } from '../../src/jobs/job-status.js';
import { createJobStatus } from '../../src/jobs/job-status.js';
import type { LifecycleKind, LifecyclePayload, QueueName } from '../../src/jobs/queues.js';
import { QUEUE_NAMES } from '../../src/jobs/queues.js';
import { FakeDockerEngine } from '../fakes/fake-docker-engine.js';
import { InMemoryHealthEventStream } from '../fakes/in-memory-health-event-stream.js';
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
  const docker = new FakeDockerEngine();
  const healthEvents = new InMemoryHealthEventStream();
  // One ceiling for the logs and the live events, as the web role has.
  const followerGate = openFollowerGate(100);
  // Readiness checks fail while a test marks their dependency down.
  const down = { redis: false, postgres: false, docker: false };
  const deps: AppDeps = {
    enqueuer,
    jobs: createJobStatus({ queues, queueEvents, records, operations }),
    records,
    operations,
    docker,
    healthEventsReader: healthEvents,
    followerGate,
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
    engine: docker,
    followers: followerGate,
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
  return { app, call, enqueuer, records, operations, down, docker, healthEvents, followerGate, deps };
}

/** The dashboard's credentials as a browser sends them. */
export const TEST_ADMIN_BASIC = `Basic ${Buffer.from(`${TEST_ADMIN.user}:${TEST_ADMIN.password}`).toString('base64')}`;

/** A window whose answers the test sets, and which remembers what it was asked. */
export class StubGameWindow implements GameWindow {
  readonly asked: Array<{ kind: 'stats' | 'logs'; gameId: string; query?: string; accept?: string; signal?: AbortSignal }> = [];
  statsAnswer: () => Response = () => Response.json({ error: { code: 'not_implemented', message: 'not wired' } }, { status: 501 });
  logsAnswer: () => Response = () => Response.json({ error: { code: 'not_implemented', message: 'not wired' } }, { status: 501 });
  stats(gameId: string): Promise<Response> {
    this.asked.push({ kind: 'stats', gameId });
    return Promise.resolve(this.statsAnswer());
  }
  logs(gameId: string, query: URLSearchParams, accept: string, signal: AbortSignal): Promise<Response> {
    this.asked.push({ kind: 'logs', gameId, query: query.toString(), accept, signal });
    return Promise.resolve(this.logsAnswer());
  }
}

/** The app with the games pages mounted (as the web role mounts them) over the given stores; a page read with the dashboard's credentials. */
export function gamesPagesApp(over: Partial<GamesPagesDeps> & Pick<GamesPagesDeps, 'records' | 'operations'>) {
  const window = new StubGameWindow();
  const login = { disabled: false, adminUser: TEST_ADMIN.user, adminPassword: TEST_ADMIN.password };
  const s = testApp({ records: over.records, operations: over.operations, gamesPages: (app) => mountGamesPages(app, { window, login, ...over }) });
  const page = (path: string, headers: Record<string, string> = {}) => s.app.request(path, { headers: { authorization: TEST_ADMIN_BASIC, ...headers } });
  return { ...s, window, page };
}
