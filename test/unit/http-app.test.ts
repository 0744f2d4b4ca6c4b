import type { Job, Queue } from 'bullmq';
import { describe, expect, it } from 'vitest';
import type { RuntimeRecord } from '../../src/domain/model.js';
import type { LifecycleDeps } from '../../src/domain/lifecycle.js';
import { ANSWERS } from '../../src/http/answers.js';
import { mountBullBoard } from '../../src/http/bull-board.js';
import type { ResultJson } from '../../src/jobs/json.js';
import { createLifecycleProcessor } from '../../src/jobs/lifecycle-jobs.js';
import { queuesHolding, TEST_ADMIN, TEST_TOKEN, testApp } from '../support/test-app.js';

const START = '/api/v1/internal/runtimes/g-1/start';

describe('POST start', () => {
  it('enqueues and answers 202 with the job that carries the request', async () => {
    const s = testApp();
    const res = await s.call('POST', START, { image_ref: 'galaxy/engine:1', source_ref: 'lobby-42' });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ job_id: 'g-1', game_id: 'g-1', state: 'waiting', poll_url: START });
    expect(s.enqueuer.calls).toEqual([
      { kind: 'start', payload: { gameId: 'g-1', imageRef: 'galaxy/engine:1', opSource: 'gm_rest', sourceRef: 'lobby-42', requestId: expect.any(String) } },
    ]);
    expect(res.headers.get('x-request-id')).toBe(s.enqueuer.calls[0]?.payload.requestId);
  });

  it('marks operator calls with X-Op-Source: admin_rest and echoes a given request id', async () => {
    const s = testApp();
    const res = await s.call('POST', START, { image_ref: 'x:1' }, { 'x-op-source': 'admin_rest', 'x-request-id': 'req-7' });
    expect(res.headers.get('x-request-id')).toBe('req-7');
    expect(s.enqueuer.calls[0]?.payload).toMatchObject({ opSource: 'admin_rest', sourceRef: 'http:req-7', requestId: 'req-7' });
  });

  it('answers 202 for a joined job and 409 for another image pending', async () => {
    const s = testApp();
    s.enqueuer.answer = { kind: 'joined', jobId: 'g-1', seq: 1, state: 'active', carrier: 'r' };
    expect((await s.call('POST', START, { image_ref: 'x:1' })).status).toBe(202);
    s.enqueuer.answer = { kind: 'conflict', jobId: 'g-1', pendingImageRef: 'x:0' };
    const res = await s.call('POST', START, { image_ref: 'x:1' });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ error: { code: 'conflict', message: 'a start with image_ref "x:0" is already pending for game g-1' } });
  });

  it('answers 503 when the queue is unreachable', async () => {
    const s = testApp();
    s.enqueuer.answer = new Error('Connection is closed.');
    const res = await s.call('POST', START, { image_ref: 'x:1' });
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({ error: { code: 'service_unavailable' } });
  });

  it.each([
    ['/api/v1/internal/runtimes/..%2Fetc/start', { image_ref: 'x:1' }, /^game_id: game id "\.\.\/etc" must match/],
    ['/api/v1/internal/runtimes/a.b/start', { image_ref: 'x:1' }, /^game_id: /],
    ['/api/v1/internal/runtimes/12345/start', { image_ref: 'x:1' }, /must not be all digits/],
    [`/api/v1/internal/runtimes/${'x'.repeat(53)}/start`, { image_ref: 'x:1' }, /must match/],
    [START, {}, /^image_ref: /],
    [START, { image_ref: '' }, /^image_ref: image_ref must not be empty/],
    [START, { image_ref: 5 }, /^image_ref: /],
    [START, { image_ref: 'x:1', extra: true }, /extra/],
    [START, 'not json', /^body: must be a JSON object/],
    [`${START}?wait=61`, { image_ref: 'x:1' }, /^wait: /],
    [`${START}?wait=soon`, { image_ref: 'x:1' }, /^wait: /],
  ])('400 naming the field: %s %j', async (path, body, message) => {
    const s = testApp();
    const res = await s.call('POST', path, body);
    expect(res.status).toBe(400);
    const json = (await res.json()) as { error: { code: string; message: string } };
    expect(json.error.code).toBe('start_config_invalid');
    expect(json.error.message).toMatch(message);
    expect(s.enqueuer.calls).toEqual([]);
  });

  it('413 for a body over the limit', async () => {
    const s = testApp();
    const res = await s.call('POST', START, { image_ref: 'x'.repeat(2048) });
    expect(res.status).toBe(413);
    expect(await res.json()).toMatchObject({ error: { code: 'payload_too_large' } });
    expect(s.enqueuer.calls).toEqual([]);
  });

  it('stop, restart and patch enqueue on their own kinds', async () => {
    const s = testApp();
    expect((await s.call('POST', '/api/v1/internal/runtimes/g-1/stop')).status).toBe(202);
    expect((await s.call('POST', '/api/v1/internal/runtimes/g-1/restart', {})).status).toBe(202);
    expect((await s.call('POST', '/api/v1/internal/runtimes/g-1/patch', { image_ref: 'x:2' })).status).toBe(202);
    expect((await s.call('POST', '/api/v1/internal/runtimes/g-1/patch', {})).status).toBe(400);
    expect(s.enqueuer.calls.map((c) => c.kind)).toEqual(['stop', 'restart', 'patch']);
  });
});

describe('auth', () => {
  it.each([
    [{}, 'no header'],
    [{ authorization: 'Bearer wrong-token' }, 'wrong token'],
    [{ authorization: `Basic ${TEST_TOKEN}` }, 'wrong scheme'],
    [{ authorization: `Bearer ${TEST_TOKEN}x` }, 'token plus a character'],
    [{ authorization: 'Bearer ' }, 'empty token'],
  ] as Array<[Record<string, string>, string]>)('401 with %j (%s)', async (headers, _why) => {
    const s = testApp();
    const res = await s.app.request(START, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{"image_ref":"x:1"}' });
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toBe('Bearer');
    expect(await res.json()).toEqual({ error: { code: 'unauthorized', message: 'a valid bearer token is required' } });
    expect(s.enqueuer.calls).toEqual([]);
  });

  it('leaves health, metrics and the OpenAPI document open', async () => {
    const s = testApp();
    for (const path of ['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']) {
      expect((await s.app.request(path)).status, path).toBe(200);
    }
  });

  it('needs no token when auth is disabled', async () => {
    const s = testApp({ auth: { disabled: true, apiToken: '', adminUser: '', adminPassword: '' } });
    expect((await s.app.request(START, { method: 'POST', body: '{"image_ref":"x:1"}' })).status).toBe(202);
  });
});

describe('reads', () => {
  const record: RuntimeRecord = {
    gameId: 'g-1',
    status: 'running',
    currentContainerId: 'c1',
    currentImageRef: 'x:1',
    engineEndpoint: 'http://galaxy-game-g-1:8080',
    statePath: '/s/g-1',
    dockerNetwork: 'galaxy-engines',
    startedAt: new Date('2026-11-25T10:00:00Z'),
    stoppedAt: null,
    lastOpAt: new Date('2026-11-25T10:00:00Z'),
    createdAt: new Date('2026-11-25T09:00:00Z'),
    currentImageDigest: `sha256:${'d'.repeat(64)}`,
    effectiveCpuQuota: 0.5,
    effectiveMemoryBytes: 67108864,
    effectivePidsLimit: 64,
    nodeId: 'n1',
    nodeHostname: 'host-1',
    health: 'none',
    restartCount: 0,
    lastExitCode: null,
  };

  it('GET a record in contract JSON, 404 when absent', async () => {
    const s = testApp();
    await s.records.upsert(record, 0);
    const res = await s.call('GET', '/api/v1/internal/runtimes/g-1');
    expect(await res.json()).toEqual({
      game_id: 'g-1',
      status: 'running',
      current_container_id: 'c1',
      current_image_ref: 'x:1',
      engine_endpoint: 'http://galaxy-game-g-1:8080',
      state_path: '/s/g-1',
      docker_network: 'galaxy-engines',
      started_at: '2026-11-25T10:00:00.000Z',
      stopped_at: null,
      last_op_at: '2026-11-25T10:00:00.000Z',
      created_at: '2026-11-25T09:00:00.000Z',
      current_image_digest: `sha256:${'d'.repeat(64)}`,
      effective_cpu_quota: 0.5,
      effective_memory_bytes: 67108864,
      effective_pids_limit: 64,
      node_id: 'n1',
      node_hostname: 'host-1',
      health: 'none',
      restart_count: 0,
      last_exit_code: null,
    });
    expect((await s.call('GET', '/api/v1/internal/runtimes/g-2')).status).toBe(404);
  });

  it('lists records by status with a cursor', async () => {
    const s = testApp();
    for (const id of ['g-1', 'g-2', 'g-3']) await s.records.upsert({ ...record, gameId: id }, 0);
    await s.records.upsert({ ...record, gameId: 'g-4', status: 'stopped' }, 0);
    const first = (await (await s.call('GET', '/api/v1/internal/runtimes?status=running&limit=2')).json()) as {
      records: Array<{ game_id: string }>;
      next_cursor: string;
    };
    expect(first.records.map((r) => r.game_id)).toEqual(['g-1', 'g-2']);
    const second = (await (await s.call('GET', `/api/v1/internal/runtimes?status=running&limit=2&cursor=${first.next_cursor}`)).json()) as {
      records: Array<{ game_id: string }>;
      next_cursor: null;
    };
    expect(second).toMatchObject({ records: [{ game_id: 'g-3' }], next_cursor: null });
    expect((await s.call('GET', '/api/v1/internal/runtimes?status=zombie')).status).toBe(400);
  });

  it('polls a start from the operation log once the job is gone', async () => {
    const s = testApp();
    await s.records.upsert(record, 0);
    await s.operations.append({
      gameId: 'g-1',
      opKind: 'start',
      opSource: 'gm_rest',
      sourceRef: 'r',
      imageRef: 'x:1',
      imageDigest: `sha256:${'d'.repeat(64)}`,
      containerId: 'c1',
      outcome: 'success',
      errorCode: '',
      errorMessage: '',
      startedAt: new Date(),
      finishedAt: new Date(),
      exitCode: null,
    });
    const res = await s.call('GET', START);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      job_id: 'g-1',
      state: 'completed',
      source: 'operation_log',
      result: { outcome: 'success', error_code: null, record: { game_id: 'g-1' } },
    });
    expect((await s.call('GET', '/api/v1/internal/runtimes/g-9/start')).status).toBe(404);
  });

  it('lists operations newest first', async () => {
    const s = testApp();
    for (const code of ['', 'replay_no_op']) {
      await s.operations.append({
        gameId: 'g-1',
        opKind: 'start',
        opSource: 'gm_rest',
        sourceRef: 'r',
        imageRef: 'x:1',
        imageDigest: code === '' ? `sha256:${'e'.repeat(64)}` : null,
        containerId: 'c1',
        outcome: 'success',
        errorCode: code,
        errorMessage: '',
        startedAt: new Date(),
        finishedAt: new Date(),
        exitCode: null,
      });
    }
    const body = (await (await s.call('GET', '/api/v1/internal/runtimes/g-1/operations?limit=10')).json()) as {
      operations: Array<{ id: number; error_code: string; image_digest: string | null }>;
    };
    expect(body.operations.map((o) => [o.id, o.error_code, o.image_digest])).toEqual([
      [2, 'replay_no_op', null],
      [1, '', `sha256:${'e'.repeat(64)}`],
    ]);
  });
});

describe('health', () => {
  it('readyz names the dependency that does not answer', async () => {
    const s = testApp();
    s.down.postgres = true;
    const res = await s.app.request('/readyz');
    expect(res.status).toBe(503);
    expect(await res.json()).toMatchObject({
      status: 'not_ready',
      checks: { redis: 'ok', postgres: 'connection refused', docker: 'ok' },
      error: { code: 'service_unavailable', message: expect.stringContaining('postgres') },
    });
  });

  it('serves Prometheus text', async () => {
    const res = await testApp().app.request('/metrics');
    expect(res.headers.get('content-type')).toContain('text/plain; version=0.0.4');
    expect(await res.text()).toContain('rtmanager_start_outcomes_total');
  });
});

/** A job as the poll reads it from BullMQ. */
function startJob(job: { state: string; attemptsMade: number; progress?: unknown; returnvalue?: unknown; failedReason?: string }) {
  return queuesHolding({ 'start-runtime': { 'g-1': { id: 'g-1', progress: 0, returnvalue: null, ...job, getState: () => Promise.resolve(job.state) } } });
}

/** What the start processor fails a job with when its payload does not parse (it fails before it touches a dependency). */
const unparsedPayloadReason = await createLifecycleProcessor(
  'start',
  {} as LifecycleDeps,
)({ data: { gameId: 'g-1', imageRef: '', opSource: 'gm_rest', sourceRef: 'r' } } as Job).then(
  () => 'resolved',
  (error: Error) => error.message,
);

describe('poll of a job in the queue', () => {
  const success: ResultJson = { outcome: 'success', error_code: null, error_message: '', record: null, retryable: false };
  const retryable: ResultJson = {
    outcome: 'failure',
    error_code: 'service_unavailable',
    error_message: 'acquire game lease: ECONNREFUSED',
    record: null,
    retryable: true,
  };
  const permanent: ResultJson = { outcome: 'failure', error_code: 'image_pull_failed', error_message: 'pull x:1: not found', record: null, retryable: false };

  it.each([
    ['waiting, never tried', { state: 'waiting', attemptsMade: 0 }, {}],
    [
      'active, pulling',
      { state: 'active', attemptsMade: 0, progress: { step: 'pull_image', layers_done: 1, layers_total: 3, bytes_done: 1024, bytes_total: 4096 } },
      {},
    ],
    ['completed', { state: 'completed', attemptsMade: 1, returnvalue: success }, { result: success }],
    ['failed with its Result', { state: 'failed', attemptsMade: 1, failedReason: JSON.stringify(permanent) }, { result: permanent }],
    ['retrying after a failed attempt', { state: 'delayed', attemptsMade: 2, failedReason: JSON.stringify(retryable) }, { last_failure: retryable }],
    [
      'failed by stalling too often',
      { state: 'failed', attemptsMade: 1, failedReason: 'job stalled more than allowable limit' },
      { result: { outcome: 'failure', error_code: 'internal_error', error_message: 'job stalled more than allowable limit', record: null, retryable: false } },
    ],
    [
      'failed on a payload that did not parse',
      { state: 'failed', attemptsMade: 1, failedReason: unparsedPayloadReason },
      {
        result: {
          outcome: 'failure',
          error_code: 'start_config_invalid',
          error_message: 'invalid start payload: imageRef: image_ref must not be empty',
          record: null,
          retryable: false,
        },
      },
    ],
  ] as Array<[string, Parameters<typeof startJob>[0], Record<string, unknown>]>)('%s', async (_name, job, extra) => {
    const s = testApp({ queues: startJob(job) });
    const res = await s.call('GET', START);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ job_id: 'g-1', state: job.state, attempts: job.attemptsMade, progress: job.progress ?? 0, source: 'queue', ...extra });
  });

  it('never says completed without its result when the job finishes between two reads', async () => {
    // The job's data read while it ran, its state read after it finished: the poll must not pair them.
    let finished = false;
    const running = { id: 'g-1', progress: 0, attemptsMade: 0, returnvalue: null };
    const done = { ...running, attemptsMade: 1, returnvalue: success };
    const queue = {
      getJobState: () => Promise.resolve(finished ? 'completed' : 'active'),
      getJob: () => {
        const snapshot = finished ? done : running;
        finished = true;
        return Promise.resolve({ ...snapshot, getState: () => Promise.resolve(finished ? 'completed' : 'active') });
      },
    };
    const queues = { ...queuesHolding(), 'start-runtime': queue as unknown as Queue };
    const body = (await (await testApp({ queues }).call('GET', START)).json()) as { state: string; result?: ResultJson };
    // Read in the old order (data, then state) this was `completed` with no result.
    expect(body).toMatchObject({ state: 'active' });
    expect(body.result).toBeUndefined();
  });
});

describe('the one status table', () => {
  // Each entry of ANSWERS, provoked through the app: the table is the only place a status comes from.
  const scenarios: Array<[keyof typeof ANSWERS, (s: ReturnType<typeof testApp>) => Response | Promise<Response>]> = [
    ['enqueued', (s) => s.call('POST', START, { image_ref: 'x:1' })],
    [
      'joined',
      (s) => {
        s.enqueuer.answer = { kind: 'joined', jobId: 'g-1', seq: 1, state: 'active', carrier: 'other' };
        return s.call('POST', START, { image_ref: 'x:1' });
      },
    ],
    [
      'deferred',
      (s) => {
        s.enqueuer.answer = { kind: 'deferred', jobId: 'g-1', seq: 2, state: 'waiting', carrier: 'r' };
        return s.call('POST', START, { image_ref: 'x:1' });
      },
    ],
    ['found', (s) => s.call('GET', '/api/v1/internal/runtimes?limit=1')],
    ['invalid', (s) => s.call('POST', '/api/v1/internal/runtimes/bad.id/start', { image_ref: 'x:1' })],
    ['unauthorized', (s) => s.app.request(START, { method: 'POST', body: '{"image_ref":"x:1"}' })],
    [
      'forbidden',
      (s) =>
        s.app.request('/admin/queues/api/queues/pause', {
          method: 'PUT',
          headers: { authorization: `Basic ${btoa(`${TEST_ADMIN.user}:${TEST_ADMIN.password}`)}`, 'content-type': 'application/json' },
        }),
    ],
    ['not_found', (s) => s.call('GET', '/api/v1/internal/nothing-here')],
    [
      'conflict',
      (s) => {
        s.enqueuer.answer = { kind: 'conflict', jobId: 'g-1', pendingImageRef: 'x:0' };
        return s.call('POST', START, { image_ref: 'x:1' });
      },
    ],
    ['payload_too_large', (s) => s.call('POST', START, { image_ref: 'x'.repeat(4096) })],
    [
      'unavailable',
      (s) => {
        s.enqueuer.answer = 'hang';
        return s.call('POST', START, { image_ref: 'x:1' });
      },
    ],
  ];

  it.each(scenarios)('%s', async (what, provoke) => {
    // The dashboard (read-only, as by default) answers the writes it refuses through the same table.
    const board = { disabled: false, adminUser: TEST_ADMIN.user, adminPassword: TEST_ADMIN.password, writeEnabled: false };
    const s = testApp({ enqueueTimeoutMs: 50, bullBoard: (app) => mountBullBoard(app, [], board) });
    const res = await provoke(s);
    const answer: { status: number; code?: string } = ANSWERS[what];
    expect(res.status).toBe(answer.status);
    if (answer.code) expect(((await res.json()) as { error: { code: string } }).error.code).toBe(answer.code);
  });

  it('covers every entry (finished is the ?wait path, covered on real Redis)', () => {
    expect(new Set([...scenarios.map(([what]) => what), 'finished'])).toEqual(new Set(Object.keys(ANSWERS)));
  });

  it('an enqueue that hangs answers 503 saying a retry is safe to make', async () => {
    const s = testApp({ enqueueTimeoutMs: 50 });
    s.enqueuer.answer = 'hang';
    expect(await (await s.call('POST', START, { image_ref: 'x:1' })).json()).toEqual({
      error: { code: 'service_unavailable', message: 'queue unavailable: no answer within 50 ms; retrying is safe (a pending job is joined)' },
    });
  });
});
