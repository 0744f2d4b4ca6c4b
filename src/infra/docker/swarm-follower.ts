/**
 * The Swarm counterpart of the events follower: the Engine API emits no
 * event when a task fails, is rejected or loses its node, so our services'
 * tasks are read every `pollMs` and a game whose engine was running and no
 * longer is (exited, OOM-killed, its node down, its service gone) is handed
 * on as the die event of one engine would be. A read that fails is retried
 * at the next tick; after a failure, the first read that works is followed
 * by `onReconnect` (a full reconcile), as after a broken event stream.
 */
import { errorMessage } from '../../domain/errors.js';
import { LABEL_GAME_ID } from '../../domain/model.js';
import type { Logger } from '../../domain/ports.js';
import type { ContainerInfo, DockerEngine } from '../../domain/engine-port.js';
import type { EngineEvent, EventsFollower } from './events-follower.js';

export interface SwarmFollowOptions {
  engine: Pick<DockerEngine, 'listContainers'>;
  labels: Record<string, string>;
  pollMs: number;
  onEvent: (event: EngineEvent) => Promise<void>;
  onReconnect?: () => Promise<void>;
  logger: Logger;
}

/** What a read showed of one game's engine. */
interface Seen {
  id: string;
  running: boolean;
  labels: Record<string, string>;
}

export function followSwarmTasks(opts: SwarmFollowOptions): EventsFollower {
  const log = opts.logger.child({ component: 'swarm-tasks' });
  let stopping = false;
  let wake: (() => void) | null = null;
  let markConnected: () => void = () => undefined;
  const connected = new Promise<void>((resolve) => {
    markConnected = resolve;
  });

  const loop = (async () => {
    let previous: Map<string, Seen> | null = null;
    let failing = false;
    while (!stopping) {
      try {
        const current = seenByGame(await opts.engine.listContainers(opts.labels));
        if (failing) {
          log.info({}, 'swarm tasks readable again; running a full reconcile');
          await opts.onReconnect?.().catch((error: unknown) => log.error({ err: errorMessage(error) }, 'reconcile after reconnect failed'));
        }
        if (previous) for (const event of changes(previous, current)) dispatch(event);
        previous = current;
        failing = false;
        markConnected();
      } catch (error) {
        if (!failing) log.warn({ err: errorMessage(error) }, 'swarm tasks unreadable');
        failing = true;
      }
      if (stopping) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, opts.pollMs);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  })();

  function dispatch(event: EngineEvent): void {
    opts.onEvent(event).catch((error: unknown) => log.error({ err: errorMessage(error), action: event.action }, 'swarm task event handler failed'));
  }

  return {
    connected,
    async stop() {
      stopping = true;
      wake?.();
      await loop;
    },
  };
}

function seenByGame(infos: ContainerInfo[]): Map<string, Seen> {
  const out = new Map<string, Seen>();
  for (const info of infos) {
    const gameId = info.labels[LABEL_GAME_ID];
    if (gameId) out.set(gameId, { id: info.id, running: info.running, labels: info.labels });
  }
  return out;
}

/**
 * A game whose engine ran at the last read and does not now (stopped,
 * failed, unreachable, or gone), one whose service went away whatever its
 * engine was doing (it may have run between two reads), and one that appeared between two reads
 * already not running (it started and died within one interval).
 */
function changes(previous: Map<string, Seen>, current: Map<string, Seen>, time = new Date()): EngineEvent[] {
  const events: EngineEvent[] = [];
  for (const [gameId, before] of previous) {
    const now = current.get(gameId);
    // Not running before and still there: nothing new. Gone, whatever it was: the record may still say running.
    if (!before.running && now) continue;
    if (now?.running && now.id === before.id) continue;
    events.push({ action: now ? 'die' : 'gone', containerId: before.id, labels: now?.labels ?? before.labels, time });
  }
  for (const [gameId, now] of current) {
    const before = previous.get(gameId);
    if (!now.running && (!before || (!before.running && before.id !== now.id))) events.push({ action: 'die', containerId: now.id, labels: now.labels, time });
  }
  return events;
}
