import { describe, expect, it } from 'vitest';
import type { ContainerInfo } from '../../src/domain/engine-port.js';
import type { EngineEvent } from '../../src/infra/docker/events-follower.js';
import { followSwarmTasks } from '../../src/infra/docker/swarm-follower.js';
import { RecordingLogger } from '../fakes/support.js';

const info = (gameId: string, id: string, running: boolean): ContainerInfo => ({
  id,
  name: `galaxy-game-${gameId}`,
  image: 'engine:1',
  imageId: 'sha256:1',
  labels: { 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': gameId },
  state: running ? 'running' : 'failed',
  running,
  exitCode: running ? null : 1,
  oomKilled: false,
  startedAt: null,
  finishedAt: null,
  effective: null,
  node: null,
  unreachable: false,
  health: 'none',
  stopSignal: null,
  stopTimeoutSeconds: null,
});

/** Serves one listing per read, then the last one again; a listing that is an Error fails that read. */
function scripted(reads: Array<ContainerInfo[] | Error>) {
  let n = 0;
  return {
    reads: () => n,
    listContainers: () => {
      const next = reads[Math.min(n++, reads.length - 1)]!;
      return next instanceof Error ? Promise.reject(next) : Promise.resolve(next);
    },
  };
}

async function follow(reads: Array<ContainerInfo[] | Error>) {
  const engine = scripted(reads);
  const events: EngineEvent[] = [];
  let reconnects = 0;
  const follower = followSwarmTasks({
    engine,
    labels: {},
    pollMs: 5,
    onEvent: (event) => {
      events.push(event);
      return Promise.resolve();
    },
    onReconnect: () => {
      reconnects += 1;
      return Promise.resolve();
    },
    logger: new RecordingLogger(),
  });
  await follower.connected;
  await expect.poll(() => engine.reads(), { timeout: 2_000, interval: 5 }).toBeGreaterThan(reads.length + 1);
  await follower.stop();
  return { events, reconnects: () => reconnects };
}

describe('followSwarmTasks', () => {
  it('tells a game whose engine stopped running, one that went away, and one replaced by another task; nothing for the unchanged', async () => {
    const { events } = await follow([
      [info('g-dies', 'c1', true), info('g-goes', 'c2', true), info('g-moves', 'c3', true), info('g-same', 'c4', true), info('g-down', 'c5', false)],
      [info('g-dies', 'c1', false), info('g-moves', 'c9', true), info('g-same', 'c4', true), info('g-down', 'c5', false)],
    ]);
    expect(events.map((e) => [e.action, e.labels['com.galaxy.game_id'], e.containerId])).toEqual([
      ['die', 'g-dies', 'c1'],
      ['gone', 'g-goes', 'c2'],
      ['die', 'g-moves', 'c3'],
    ]);
  });

  it('tells a game that appeared between two reads already not running (it started and died within one interval), once', async () => {
    const { events } = await follow([[info('g-old', 'c1', true)], [info('g-old', 'c1', true), info('g-flash', 'c2', false)]]);
    expect(events.map((e) => [e.action, e.labels['com.galaxy.game_id'], e.containerId])).toEqual([['die', 'g-flash', 'c2']]);
  });

  it('tells a game whose service went away though it was never seen running (it ran between two reads)', async () => {
    const { events } = await follow([[info('g-quick', 'svc1', false)], []]);
    expect(events.map((e) => [e.action, e.labels['com.galaxy.game_id']])).toEqual([['gone', 'g-quick']]);
  });

  it('says nothing about what it saw first: the reconciler judges those', async () => {
    const { events } = await follow([[info('g-1', 'c1', false)]]);
    expect(events).toEqual([]);
  });

  it('after reads that failed, asks for one full reconcile on the first that works, and goes on comparing', async () => {
    const { events, reconnects } = await follow([[info('g-1', 'c1', true)], new Error('manager down'), new Error('manager down'), [info('g-1', 'c1', false)]]);
    expect(reconnects()).toBe(1);
    expect(events.map((e) => e.action)).toEqual(['die']);
  });
});
