/**
 * The HTTP API on a real Redis and real BullMQ queues: the domain behind the
 * worker runs on in-memory fakes (the Docker path is proven elsewhere), so
 * what is tested here is the route → enqueue → job → poll round trip.
 */
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect, createServer } from 'node:net';
import type { Job } from 'bullmq';
import { Queue, QueueEvents, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { mountBullBoard } from '../../src/http/bull-board.js';
import { HEADERS_TIMEOUT_MS, listen } from '../../src/http/server.js';
import { createRedis } from '../../src/infra/redis/connection.js';
import { createEnqueuer } from '../../src/composition/enqueuer.js';
import type { JobStatusDeps } from '../../src/jobs/job-status.js';
import type { QueueName } from '../../src/jobs/queues.js';
import { QUEUE_NAMES } from '../../src/jobs/queues.js';
import { createStartProcessor } from '../support/start-job.js';
import { RecordingLogger } from '../fakes/support.js';
import { IMAGE, OTHER_IMAGE, world } from '../fakes/world.js';
import { testRedisUrl } from '../support/services.js';
import { TEST_ADMIN as ADMIN, TEST_TOKEN as TOKEN, testApp } from '../support/test-app.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Options {
  redisUrl?: string;
  queueTimeoutMs?: number;
  attempts?: number;
  backoffMs?: number;
  maxWaiters?: number;
  /** RTMANAGER_ADMIN_WRITE_ENABLED */
  boardWrites?: boolean;
}

type Harness = ReturnType<typeof harness>;

function harness(options: Options = {}) {
  const url = options.redisUrl ?? testRedisUrl();
  const prefix = `test-${randomUUID().slice(0, 8)}`;
  const w = world();
  // The same connection roles as the composition root.
  const bull = createRedis(url, 'bullmq');
  const commands = createRedis(url, 'enqueue');
  const failFast = createRedis(url, 'failfast');
  for (const r of [bull, commands, failFast]) r.on('error', () => undefined);
  const queues = Object.fromEntries(QUEUE_NAMES.map((n) => [n, new Queue(n, { connection: bull, prefix })])) as Record<QueueName, Queue>;
  for (const q of Object.values(queues)) q.on('error', () => undefined);
  const queueEvents: JobStatusDeps['queueEvents'] = {};
  const enqueuer = createEnqueuer({
    queues,
    redis: commands,
    logger: new RecordingLogger(),
    attempts: options.attempts ?? 3,
    backoffMs: options.backoffMs ?? 20,
    mutexPrefix: `${prefix}:enqueue:`,
  });
  const workers: Worker[] = [];
  const { app, call } = testApp({
    enqueuer,
    queues,
    queueEvents,
    records: w.records,
    operations: w.operations,
    readiness: {
      redis: async () => {
        await failFast.ping();
      },
      postgres: () => Promise.resolve(),
      docker: () => Promise.resolve(),
    },
    bodyLimitBytes: 4096,
    ...(options.queueTimeoutMs ? { enqueueTimeoutMs: options.queueTimeoutMs } : {}),
    ...(options.maxWaiters ? { maxWaiters: options.maxWaiters } : {}),
    bullBoard: (app) =>
      mountBullBoard(app, Object.values(queues), {
        disabled: false,
        adminUser: ADMIN.user,
        adminPassword: ADMIN.password,
        writeEnabled: options.boardWrites ?? false,
      }),
  });
  cleanups.push(async () => {
    for (const worker of workers) await worker.close();
    for (const events of Object.values(queueEvents)) await events.close();
    if (!options.redisUrl) for (const q of Object.values(queues)) await q.obliterate({ force: true });
    for (const q of Object.values(queues)) await q.close();
    for (const r of [bull, commands, failFast]) r.disconnect();
  });

  return {
    w,
    queues,
    app,
    async watchStarts() {
      const events = new QueueEvents('start-runtime', { connection: new Redis(url, { maxRetriesPerRequest: null }), prefix });
      await events.waitUntilReady();
      queueEvents['start-runtime'] = events;
    },
    runWorker() {
      workers.push(new Worker('start-runtime', createStartProcessor(w.deps), { connection: new Redis(url, { maxRetriesPerRequest: null }), prefix }));
    },
    call,
  };
}

const start = (gameId: string) => `/api/v1/internal/runtimes/${gameId}/start`;

describe('HTTP API on real Redis', () => {
  it('POST start answers 202 with job id = game id; a same-image retry joins; another image is 409', async () => {
    const h = harness();
    const first = await h.call('POST', start('web-1'), { image_ref: IMAGE });
    expect(first.status).toBe(202);
    expect(await first.json()).toEqual({ job_id: 'web-1', game_id: 'web-1', state: 'waiting', poll_url: start('web-1') });

    const again = await h.call('POST', start('web-1'), { image_ref: IMAGE });
    expect(again.status).toBe(202);
    expect(await again.json()).toMatchObject({ job_id: 'web-1', state: 'waiting' });

    const other = await h.call('POST', start('web-1'), { image_ref: OTHER_IMAGE });
    expect(other.status).toBe(409);
    expect(await other.json()).toEqual({
      error: { code: 'conflict', message: `a start with image_ref ${JSON.stringify(IMAGE)} is already pending for game web-1` },
    });

    const poll = await h.call('GET', start('web-1'));
    expect(poll.status).toBe(200);
    expect(await poll.json()).toEqual({ job_id: 'web-1', state: 'waiting', attempts: 0, progress: 0, source: 'queue' });
    expect(await h.queues['start-runtime'].getJobCounts('waiting')).toEqual({ waiting: 1 });
  });

  it('?wait answers 200 with the Result once the job ran; the poll shows it; the record is served', async () => {
    const h = harness();
    // As a cluster places it: the node travels through the job's result and the record.
    h.w.docker.node = { id: 'n1', hostname: 'host-1' };
    await h.watchStarts();
    h.runWorker();
    const res = await h.call('POST', `${start('web-2')}?wait=10`, { image_ref: IMAGE });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { state: string; result: { outcome: string; record: { game_id: string; status: string } } };
    expect(body).toMatchObject({
      job_id: 'web-2',
      game_id: 'web-2',
      state: 'completed',
      result: {
        outcome: 'success',
        error_code: null,
        record: { game_id: 'web-2', status: 'running', current_image_ref: IMAGE, node_id: 'n1', node_hostname: 'host-1' },
      },
    });

    const poll = (await (await h.call('GET', start('web-2'))).json()) as Record<string, unknown>;
    expect(poll).toMatchObject({ job_id: 'web-2', state: 'completed', attempts: 1, source: 'queue', result: body.result });
    expect(await (await h.call('GET', '/api/v1/internal/runtimes/web-2')).json()).toEqual(body.result.record);

    // A finished start does not block the next one: a new job under the same id.
    const next = await h.call('POST', `${start('web-2')}?wait=10`, { image_ref: IMAGE });
    expect(await next.json()).toMatchObject({ state: 'completed', result: { outcome: 'success', error_code: 'replay_no_op' } });
    const ops = (await (await h.call('GET', '/api/v1/internal/runtimes/web-2/operations')).json()) as { operations: Array<{ error_code: string }> };
    expect(ops.operations.map((o) => o.error_code)).toEqual(['replay_no_op', '']);
  });

  it('a permanent failure is pollable with its code; ?wait that runs out answers 202', async () => {
    const h = harness();
    await h.watchStarts();
    h.w.docker.networks.clear();
    // No worker yet: the wait runs out.
    const pending = await h.call('POST', `${start('web-3')}?wait=1`, { image_ref: IMAGE });
    expect(pending.status).toBe(202);
    h.runWorker();
    const failed = await h.call('POST', `${start('web-3')}?wait=10`, { image_ref: IMAGE });
    expect(failed.status).toBe(200);
    expect(await failed.json()).toMatchObject({ state: 'failed', result: { outcome: 'failure', error_code: 'start_config_invalid', record: null } });
    expect(await (await h.call('GET', start('web-3'))).json()).toMatchObject({
      state: 'failed',
      attempts: 1,
      result: { outcome: 'failure', error_code: 'start_config_invalid', error_message: 'docker network "galaxy-engines" is missing' },
    });
  });

  it('a retrying job shows why its last attempt failed; no result until it finishes', async () => {
    const h = harness({ attempts: 3, backoffMs: 60_000 });
    h.w.records.failGet = new Error('db restarting');
    h.runWorker();
    await h.call('POST', start('web-4'), { image_ref: IMAGE });
    await expect.poll(async () => (await h.queues['start-runtime'].getJob('web-4'))?.attemptsMade, { timeout: 10_000 }).toBe(1);
    const poll = (await (await h.call('GET', start('web-4'))).json()) as Record<string, unknown>;
    expect(poll).toMatchObject({ state: 'delayed', attempts: 1, last_failure: { outcome: 'failure', error_code: 'internal_error', retryable: true } });
    expect(poll).not.toHaveProperty('result');
  });

  it('once the job is gone the poll answers from the operation log and the record', async () => {
    const h = harness();
    await h.watchStarts();
    h.runWorker();
    await h.call('POST', `${start('web-5')}?wait=10`, { image_ref: IMAGE });
    await ((await h.queues['start-runtime'].getJob('web-5')) as Job).remove();
    const poll = await h.call('GET', start('web-5'));
    expect(poll.status).toBe(200);
    expect(await poll.json()).toMatchObject({
      job_id: 'web-5',
      state: 'completed',
      source: 'operation_log',
      result: { outcome: 'success', record: { game_id: 'web-5', status: 'running' } },
    });
    expect((await h.call('GET', start('web-never'))).status).toBe(404);
  });

  it('RTMANAGER_HTTP_MAX_WAITERS: beyond that many ?wait holders a request is refused with 503 before anything is enqueued', { timeout: 30_000 }, async () => {
    const h = harness({ maxWaiters: 2 });
    await h.watchStarts();
    // No worker: both waits hold until they run out.
    const holders = [
      Promise.resolve(h.call('POST', `${start('wait-1')}?wait=4`, { image_ref: IMAGE })),
      Promise.resolve(h.call('POST', `${start('wait-2')}?wait=4`, { image_ref: IMAGE })),
    ];
    // Both hold their place once their jobs exist.
    await expect.poll(async () => (await h.queues['start-runtime'].getJobCounts('waiting')).waiting, { timeout: 5_000 }).toBe(2);
    const third = await h.call('POST', `${start('wait-3')}?wait=4`, { image_ref: IMAGE });
    expect(third.status).toBe(503);
    expect(third.headers.get('retry-after')).toBe('1');
    expect(await third.json()).toEqual({
      error: {
        code: 'service_unavailable',
        message: '2 requests already hold ?wait (RTMANAGER_HTTP_MAX_WAITERS); nothing was enqueued: retry, or poll instead',
      },
    });
    expect(await h.queues['start-runtime'].getJob('wait-3')).toBeUndefined();
    // A request that does not wait is not counted.
    expect((await h.call('POST', start('wait-4'), { image_ref: IMAGE })).status).toBe(202);
    expect((await Promise.all(holders)).map((r) => r.status)).toEqual([202, 202]);
    // Their places are free again.
    expect((await h.call('POST', `${start('wait-3')}?wait=1`, { image_ref: IMAGE })).status).toBe(202);
    expect(await h.queues['start-runtime'].getJob('wait-3')).toBeDefined();
  });

  it('503 at once, naming the queue, when Redis does not answer', async () => {
    const h = harness({ redisUrl: `redis://127.0.0.1:${await closedPort()}`, queueTimeoutMs: 1_500 });
    const res = await h.call('POST', start('web-6'), { image_ref: IMAGE });
    expect(res.status).toBe(503);
    // Ended by the queue's own deadline (its message names it), not by BullMQ's connection, which would wait for ever.
    expect(await res.json()).toEqual({
      error: { code: 'service_unavailable', message: 'queue unavailable: no answer within 1500 ms; retrying is safe (a pending job is joined)' },
    });
    // A poll reads through BullMQ's connection, which would wait for Redis forever.
    const poll = await h.call('GET', start('web-6'));
    expect(poll.status).toBe(503);
    expect(await poll.json()).toMatchObject({ error: { code: 'service_unavailable', message: 'no answer within 1500 ms' } });
    const ready = await h.app.request('/readyz');
    expect(ready.status).toBe(503);
    expect(await ready.json()).toMatchObject({
      status: 'not_ready',
      checks: { postgres: 'ok', docker: 'ok' },
      error: { message: expect.stringMatching(/^redis not ready/) },
    });
  });
});

/** The app on the server every role listens with (src/http/server.ts), on a free port. */
async function served(h: Harness): Promise<{ port: number; origin: string }> {
  const server = listen(h.app.fetch, { hostname: '127.0.0.1', port: 0 });
  await new Promise<void>((r) => server.once('listening', () => r()));
  const port = (server.address() as AddressInfo).port;
  cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
  return { port, origin: `http://127.0.0.1:${port}` };
}

describe('HTTP API on @hono/node-server (bodies read from the socket)', () => {
  /** A raw request, so the test controls framing (declared length or chunked). */
  function post(port: number, path: string, chunks: string[], headers: Record<string, string>): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = http.request(
        { host: '127.0.0.1', port, path, method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json', ...headers } },
        (res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        },
      );
      // The server may answer 413 and close before the whole body is sent.
      req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)));
      for (const c of chunks) req.write(c);
      req.end();
    });
  }

  it('202 for a body in chunks, 413 for a declared or a chunked body over the limit, 400 for bad JSON', async () => {
    const h = harness();
    const s = await served(h);
    const good = JSON.stringify({ image_ref: IMAGE });
    const chunked = await post(s.port, '/api/v1/internal/runtimes/body-1/start', [good.slice(0, 5), good.slice(5)], { 'transfer-encoding': 'chunked' });
    expect(chunked).toMatchObject({ status: 202 });
    expect(JSON.parse(chunked.body)).toMatchObject({ job_id: 'body-1' });

    const big = JSON.stringify({ image_ref: 'x'.repeat(5000) });
    const declared = await post(s.port, '/api/v1/internal/runtimes/body-2/start', [big], { 'content-length': String(Buffer.byteLength(big)) });
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.body)).toMatchObject({ error: { code: 'payload_too_large' } });
    const streamed = await post(s.port, '/api/v1/internal/runtimes/body-3/start', [big.slice(0, 3000), big.slice(3000)], { 'transfer-encoding': 'chunked' });
    expect(streamed.status).toBe(413);

    const bad = await post(s.port, '/api/v1/internal/runtimes/body-4/start', ['{"image_ref":'], {});
    expect(bad.status).toBe(400);
    expect(JSON.parse(bad.body)).toMatchObject({ error: { code: 'start_config_invalid' } });
    // Nothing was enqueued for the refused bodies.
    for (const id of ['body-2', 'body-3', 'body-4']) expect(await h.queues['start-runtime'].getJob(id)).toBeUndefined();
  });

  it('closes a connection whose headers do not arrive within 10 s (contract §12), and still serves a complete request', { timeout: 40_000 }, async () => {
    const h = harness();
    const s = await served(h);
    const socket = connect(s.port, '127.0.0.1');
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (answer += d));
    const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
    // Half a request, then silence (slowloris).
    await new Promise<void>((r) => socket.write(`GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:${s.port}\r\nX-Slow: `, () => r()));
    const outcome = await Promise.race([closed.then(() => 'closed'), new Promise((r) => setTimeout(() => r('still open'), HEADERS_TIMEOUT_MS + 15_000))]);
    socket.destroy();
    expect(outcome).toBe('closed');
    expect(answer).toMatch(/^HTTP\/1\.1 408 /);
    expect((await fetch(`${s.origin}/healthz`)).status).toBe(200);
  });
});

describe('Bull Board', () => {
  const basic = (user: string, password: string) => ({ authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}` });

  it('serves the page and its API with credentials, listing every queue', async () => {
    const h = harness();
    await h.call('POST', start('board-1'), { image_ref: IMAGE });
    for (const path of ['/admin/queues', '/admin/queues/']) {
      const page = await h.app.request(path, { headers: basic(ADMIN.user, ADMIN.password) });
      expect(page.status, path).toBe(200);
      expect(await page.text()).toContain('<div id="root"');
    }
    const api = await h.app.request('/admin/queues/api/queues?page=1&jobsPerPage=10', { headers: basic(ADMIN.user, ADMIN.password) });
    expect(api.status).toBe(200);
    const body = (await api.json()) as { queues: Array<{ name: string; counts: Record<string, number> }> };
    expect(body.queues.map((q) => q.name).sort()).toEqual([...QUEUE_NAMES].sort());
    expect(body.queues.find((q) => q.name === 'start-runtime')?.counts).toMatchObject({ waiting: 1 });
  });

  it.each([
    ['/admin/queues', {}],
    ['/admin/queues/', {}],
    ['/admin/queues/api/queues', {}],
    ['/admin/queues/api/queues', { authorization: `Basic ${Buffer.from(`${ADMIN.user}:wrong`).toString('base64')}` }],
    ['/admin/queues', { authorization: `Bearer ${TOKEN}` }],
  ] as Array<[string, Record<string, string>]>)('401 at %s with %j', async (path, headers) => {
    const h = harness();
    const res = await h.app.request(path, { headers });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic realm="rtmanager"/);
    expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: 'valid credentials are required' } });
  });

  /** What a page on another site can make an operator's browser send: a text/plain form POST, credentials attached. */
  const attack = (origin: string, gameId: string) =>
    ({
      method: 'POST',
      headers: { ...basic(ADMIN.user, ADMIN.password), 'content-type': 'text/plain', origin: 'https://evil.example' },
      body: JSON.stringify({
        name: 'start',
        data: { gameId, imageRef: 'evil.example/miner:latest', opSource: 'admin_rest', sourceRef: 'csrf' },
        options: { jobId: gameId },
      }),
      url: `${origin}/admin/queues/api/queues/start-runtime/add`,
    }) as const;

  it('is read-only by default: no write gets through, even same-origin JSON with valid credentials; frame headers everywhere', async () => {
    const h = harness();
    const s = await served(h);
    const { url, ...csrf } = attack(s.origin, 'csrf-1');
    const refused = await fetch(url, csrf);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: { code: 'forbidden', message: 'the dashboard is read-only (RTMANAGER_ADMIN_WRITE_ENABLED=false)' } });
    const json = { ...basic(ADMIN.user, ADMIN.password), 'content-type': 'application/json', origin: s.origin };
    const add = await fetch(url, { method: 'POST', headers: json, body: csrf.body });
    expect(add.status).toBe(403);
    expect((await fetch(`${s.origin}/admin/queues/api/queues/start-runtime/pause`, { method: 'PUT', headers: json })).status).toBe(403);
    expect(await h.queues['start-runtime'].getJob('csrf-1')).toBeUndefined();
    expect(await h.queues['start-runtime'].getJobCounts('waiting', 'delayed', 'active', 'prioritized')).toEqual({
      waiting: 0,
      delayed: 0,
      active: 0,
      prioritized: 0,
    });
    expect(await h.queues['start-runtime'].isPaused()).toBe(false);

    // The board says so itself: every queue is read-only.
    const api = (await (await fetch(`${s.origin}/admin/queues/api/queues`, { headers: basic(ADMIN.user, ADMIN.password) })).json()) as {
      queues: Array<{ readOnlyMode: boolean }>;
    };
    expect(api.queues.map((q) => q.readOnlyMode)).toEqual(QUEUE_NAMES.map(() => true));
    for (const [path, headers] of [
      ['/admin/queues', basic(ADMIN.user, ADMIN.password)],
      ['/admin/queues/api/queues', basic(ADMIN.user, ADMIN.password)],
      ['/admin/queues', {}],
      ['/admin/queues/api/queues/start-runtime/add', {}],
    ] as Array<[string, Record<string, string>]>) {
      const res = await fetch(`${s.origin}${path}`, { headers });
      expect([res.status, res.headers.get('x-frame-options'), res.headers.get('content-security-policy')], path).toEqual([
        res.status,
        'DENY',
        "frame-ancestors 'none'",
      ]);
    }
  });

  it('with RTMANAGER_ADMIN_WRITE_ENABLED=true, takes only same-origin application/json writes', async () => {
    const h = harness({ boardWrites: true });
    const s = await served(h);
    const creds = basic(ADMIN.user, ADMIN.password);
    const { url, ...csrf } = attack(s.origin, 'csrf-2');
    const refused = await fetch(url, csrf);
    expect(refused.status).toBe(403);
    expect(await refused.json()).toEqual({ error: { code: 'forbidden', message: 'a dashboard write needs content-type: application/json' } });
    // Typed as JSON but from another site (only a CORS preflight could send it, and none is granted, but still), or from a sandbox.
    for (const origin of ['https://evil.example', 'null', s.origin.replace('127.0.0.1', 'localhost')]) {
      const res = await fetch(url, { method: 'POST', headers: { ...creds, 'content-type': 'application/json', origin }, body: csrf.body });
      expect(res.status, origin).toBe(403);
    }
    expect((await fetch(`${s.origin}/admin/queues/api/queues/start-runtime/pause`, { method: 'PUT', headers: creds })).status).toBe(403);
    expect(await h.queues['start-runtime'].getJob('csrf-2')).toBeUndefined();
    expect(await h.queues['start-runtime'].isPaused()).toBe(false);

    // The board's own page: same origin, typed JSON (its body-less PUTs too, see bull-board.ts).
    const own = { ...creds, 'content-type': 'application/json', origin: s.origin };
    expect((await fetch(`${s.origin}/admin/queues/api/queues/start-runtime/pause`, { method: 'PUT', headers: own })).status).toBe(200);
    expect(await h.queues['start-runtime'].isPaused()).toBe(true);
    // A client that sends no Origin (curl) is judged by its credentials and content type alone.
    const { origin: _origin, ...curl } = own;
    expect((await fetch(`${s.origin}/admin/queues/api/queues/start-runtime/resume`, { method: 'PUT', headers: curl })).status).toBe(200);
    expect(await h.queues['start-runtime'].isPaused()).toBe(false);
    const page = await fetch(`${s.origin}/admin/queues`, { headers: creds });
    expect(page.headers.get('x-frame-options')).toBe('DENY');
    expect(await page.text()).toContain("header.call(this,'Content-Type','application/json')");
  });
});

/** A port nothing listens on: bound once by us, then released. */
async function closedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}
