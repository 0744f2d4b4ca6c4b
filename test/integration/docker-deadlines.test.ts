/**
 * Deadlines on Docker calls, against a stub daemon on a Unix socket that
 * misbehaves the ways a loaded or frozen dockerd does: it never answers, or it
 * sends a response's headers and then nothing more. The real daemon's side of
 * this (SIGSTOP of dockerd under a running worker) is test/faults/dockerd-freeze.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import Dockerode from 'dockerode';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { isDockerDeadline } from '../../src/domain/errors.js';
import type { PullProgress, RunSpec } from '../../src/domain/engine-port.js';
import { ContainerEngine } from '../../src/infra/docker/container-engine.js';

type Behaviour = 'silent' | 'cut' | 'pull_idle' | 'pull_drip';

interface StubDaemon {
  socketPath: string;
  /** Connections the stub has seen, and how many of them are closed. */
  connections: { opened: number; closed: number };
  close(): Promise<void>;
}

const stubs: StubDaemon[] = [];
afterEach(async () => {
  await Promise.all(stubs.splice(0).map((s) => s.close()));
});

async function stubDaemon(behaviour: Behaviour): Promise<StubDaemon> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rtm-stub-docker-'));
  const socketPath = path.join(dir, 'docker.sock');
  const connections = { opened: 0, closed: 0 };
  const sockets = new Set<Socket>();
  const timers = new Set<ReturnType<typeof setInterval>>();
  const server = http.createServer((req, res) => {
    if (behaviour === 'silent') return;
    if (behaviour === 'cut') {
      // Headers and half a body, then the connection drops: Node 20 then
      // emits neither `end` nor a request error, only `aborted`/`close`.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"Id":"abc",');
      setTimeout(() => req.socket.destroy(), 20);
      return;
    }
    if (!req.url?.includes('/images/create')) {
      res.writeHead(404).end('{"message":"not here"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    let current = 0;
    const progress = () => res.write(`${JSON.stringify({ status: 'Downloading', id: 'layer', progressDetail: { current: ++current, total: 1_000 } })}\n`);
    progress();
    if (behaviour === 'pull_drip') timers.add(setInterval(progress, 50));
  });
  server.on('connection', (socket) => {
    connections.opened += 1;
    sockets.add(socket);
    socket.on('close', () => {
      connections.closed += 1;
      sockets.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(socketPath, resolve));
  const stub: StubDaemon = {
    socketPath,
    connections,
    close: async () => {
      for (const t of timers) clearInterval(t);
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await rm(dir, { recursive: true, force: true });
    },
  };
  stubs.push(stub);
  return stub;
}

function engineOn(stub: StubDaemon, deadlines: { callMs?: number; pullMs?: number; pullIdleMs?: number }): ContainerEngine {
  return new ContainerEngine({ docker: new Dockerode({ socketPath: stub.socketPath }), deadlines });
}

async function deadlineOf(call: Promise<unknown>): Promise<string> {
  const error = await call.then(
    () => {
      throw new Error('the call succeeded against a daemon that does not answer');
    },
    (e: unknown) => e,
  );
  expect(isDockerDeadline(error), String(error)).toBe(true);
  return (error as Error).message;
}

const SPEC: RunSpec = {
  name: 'galaxy-game-g1',
  hostname: 'galaxy-game-g1',
  image: 'engine:1',
  network: 'net',
  env: {},
  labels: {},
  bindMounts: [],
  logDriver: 'json-file',
  logOpts: {},
  nanoCpus: 1e9,
  memoryBytes: 64 * 1024 * 1024,
  pidsLimit: 64,
  capDrop: ['ALL'],
  capAdd: [],
  readOnlyRootfs: true,
  scratchMounts: [],
  user: null,
  stopSignal: 'SIGTERM',
  stopTimeoutSeconds: 1,
};

describe('the cause: docker-modem never settles a response cut off after its headers', () => {
  it('a bare dockerode inspect stays pending, while the adapter fails it at its deadline', async () => {
    const stub = await stubDaemon('cut');
    const bare = new Dockerode({ socketPath: stub.socketPath }).getContainer('g1').inspect();
    const outcome = await Promise.race([
      bare.then(
        () => 'resolved',
        () => 'rejected',
      ),
      new Promise((resolve) => setTimeout(() => resolve('pending'), 1_000)),
    ]);
    expect(outcome).toBe('pending');
    expect(stub.connections.closed).toBe(stub.connections.opened);

    const message = await deadlineOf(engineOn(stub, { callMs: 300 }).inspectContainer('g1'));
    expect(message).toBe('docker inspect did not answer within 300 ms');
  });
});

describe('a daemon that never answers', () => {
  it('fails every call of the port at its deadline, naming the call, and closes each request', async () => {
    const stub = await stubDaemon('silent');
    const engine = engineOn(stub, { callMs: 200 });
    const messages = await Promise.all([
      deadlineOf(engine.networkExists('net')),
      deadlineOf(engine.inspectImage('engine:1')),
      deadlineOf(engine.run(SPEC)),
      deadlineOf(engine.inspectContainer('g1')),
      deadlineOf(engine.stop('g1', 0)),
      deadlineOf(engine.remove('g1')),
      deadlineOf(engine.listContainers({ 'com.galaxy.owner': 'rtmanager' })),
      deadlineOf(engine.pullImage('engine:1', 'if_not_present')),
    ]);
    expect(messages.map((m) => m.replace(/ did not answer within 200 ms$/, ''))).toEqual([
      'docker network_inspect',
      'docker image_inspect',
      'docker create',
      'docker inspect',
      'docker stop',
      'docker remove',
      'docker list',
      'docker image_inspect',
    ]);
    expect(await engine.ping()).toBe(false);
    // The deadline aborted each request: no socket is left waiting on the daemon.
    expect(stub.connections.opened).toBeGreaterThanOrEqual(8);
    await vi.waitFor(() => expect(stub.connections.closed).toBe(stub.connections.opened), { timeout: 2_000 });
  });
});

describe('pull deadlines (RTMANAGER_PULL_TIMEOUT_MS, RTMANAGER_PULL_INACTIVITY_MS)', () => {
  it('abandons a pull that goes silent, saying so', async () => {
    const stub = await stubDaemon('pull_idle');
    const reports: PullProgress[] = [];
    const engine = engineOn(stub, { pullMs: 10_000, pullIdleMs: 300 });
    await expect(engine.pullImage('engine:1', 'always', { onProgress: (p) => reports.push(p) })).rejects.toThrow(
      'image pull of engine:1 made no progress for 300 ms (RTMANAGER_PULL_INACTIVITY_MS)',
    );
    expect(reports).toEqual([{ layersDone: 0, layersTotal: 1, bytesDone: 1, bytesTotal: 1_000 }]);
    await vi.waitFor(() => expect(stub.connections.closed).toBe(stub.connections.opened), { timeout: 2_000 });
  });

  it('abandons a pull that keeps reporting but outlives its whole deadline, saying so', async () => {
    const stub = await stubDaemon('pull_drip');
    let reports = 0;
    const engine = engineOn(stub, { pullMs: 600, pullIdleMs: 300 });
    await expect(engine.pullImage('engine:1', 'always', { onProgress: () => (reports += 1) })).rejects.toThrow(
      'image pull of engine:1 timed out after 600 ms (RTMANAGER_PULL_TIMEOUT_MS)',
    );
    // Progress kept the inactivity deadline from firing: it was the whole-pull one.
    expect(reports).toBeGreaterThan(3);
    await vi.waitFor(() => expect(stub.connections.closed).toBe(stub.connections.opened), { timeout: 2_000 });
  });
});
