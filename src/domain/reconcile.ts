/**
 * The reconciler makes the records tell the truth about Docker. Docker is the
 * witness: a running container of ours is adopted, a record whose container is
 * gone becomes `removed`, a container that exited or was OOM-killed makes its
 * record `exited`, and a running engine's health is the record's
 * (health-follow.ts); a crash among these is handed to the crash policy
 * (crash-policy.ts). Each game is handled under its lease; a game busy with
 * another operation is skipped this pass (the operation will leave it true).
 * Only containers labelled `com.galaxy.owner=rtmanager` are ever looked at.
 */
import { isOwnedBy } from './container-spec.js';
import { errorMessage } from './errors.js';
import { gameIdProblem } from './game-id.js';
import { pulledDigest } from './image-ref.js';
import type { LifecycleDeps } from './lifecycle.js';
import type { HealthEventType, RuntimeRecord } from './model.js';
import { containerName, crashRestartsOf, engineEndpoint, LABEL_ENGINE_IMAGE_REF, LABEL_GAME_ID, LABEL_OWNER, LABEL_OWNER_VALUE } from './model.js';
import type { Operation } from './operation.js';
import { raiseFenceAfterRefusal } from './fencing.js';
import { asKind, beginOperation, step, withImage } from './operation.js';
import { fenceOf, holdingLease } from './operation-lease.js';
import { bestEffortAppend, bestEffortHealthEvent } from './outcomes.js';
import { followHealth, unhealthyAtExit } from './health-follow.js';
import { crashOfExit, crashOfUnhealthy, scheduleCrashRestart } from './crash-policy.js';
import type { RuntimeRecordPage } from './ports.js';
import type { ContainerInfo } from './engine-port.js';

export type ReconcileAction = 'adopted' | 'disappeared' | 'exited' | 'oom' | 'health_changed' | 'unchanged' | 'skipped_busy' | 'failed';

export interface ReconcileSummary {
  containers: number;
  runningRecords: number;
  adopted: number;
  disappeared: number;
  exited: number;
  oom: number;
  health_changed: number;
  unchanged: number;
  skipped_busy: number;
  failed: number;
  durationMs: number;
}

const PAGE = 500;
/** Games handled at once: the engine serialises much of its work anyway. */
const CONCURRENCY = 16;

/** One full pass over every owned container and every running record. */
export async function reconcileAll(deps: LifecycleDeps): Promise<ReconcileSummary> {
  const began = deps.clock.now().getTime();
  const containers = await deps.docker.listContainers({ ...deps.settings.extraLabels, [LABEL_OWNER]: LABEL_OWNER_VALUE });
  const byGame = new Map<string, ContainerInfo>();
  for (const container of containers) {
    const gameId = container.labels[LABEL_GAME_ID];
    // Our name is the tie-breaker: only `galaxy-game-{id}` speaks for game id.
    if (gameId && gameIdProblem(gameId) === null && container.name === containerName(gameId)) byGame.set(gameId, container);
  }
  const running = await allRunningRecords(deps);
  const gameIds = [...new Set([...byGame.keys(), ...running.map((r) => r.gameId)])];

  const summary: ReconcileSummary = {
    containers: containers.length,
    runningRecords: running.length,
    adopted: 0,
    disappeared: 0,
    exited: 0,
    oom: 0,
    health_changed: 0,
    unchanged: 0,
    skipped_busy: 0,
    failed: 0,
    durationMs: 0,
  };
  let next = 0;
  const workers = Array.from({ length: Math.min(CONCURRENCY, gameIds.length) }, async () => {
    while (next < gameIds.length) {
      const gameId = gameIds[next++]!;
      summary[await reconcileGame(deps, gameId, byGame.get(gameId) ?? null)] += 1;
    }
  });
  await Promise.all(workers);
  summary.durationMs = deps.clock.now().getTime() - began;
  deps.logger.info({ op_kind: 'reconcile', ...summary }, 'reconcile pass');
  return summary;
}

/**
 * Reconcile one game. `seen` is what a listing or an engine event showed; it
 * is looked at again under the lease, because it may be stale by then.
 */
export async function reconcileGame(deps: LifecycleDeps, gameId: string, seen: ContainerInfo | null): Promise<ReconcileAction> {
  const op = beginOperation(
    deps,
    'reconcile_observe',
    { gameId, imageRef: seen?.labels[LABEL_ENGINE_IMAGE_REF] ?? '', opSource: 'reconciler', sourceRef: 'reconcile' },
    {},
  );
  // A busy game is skipped, not waited for: the operation holding it leaves it true.
  return holdingLease<ReconcileAction>(
    op,
    async () => {
      try {
        return await reconcileUnderLease(op, seen);
      } catch (error) {
        op.log.error({ err: errorMessage(error) }, 'reconcile game failed');
        return 'failed';
      }
    },
    {
      busy: () => Promise.resolve('skipped_busy'),
      unavailable: (error) => {
        op.log.warn({ err: errorMessage(error) }, 'reconcile: lease unavailable');
        return Promise.resolve('failed');
      },
    },
  );
}

async function reconcileUnderLease(op: Operation, seen: ContainerInfo | null): Promise<ReconcileAction> {
  const { deps, gameId } = op;
  await step(op, 'observe');
  const record = await deps.records.get(gameId);
  const current = await deps.docker.inspectContainer(seen?.id ?? containerName(gameId));
  const container = current && isOwnedBy(current.labels, gameId) ? current : null;

  if (container?.running) {
    // The same container is on the node it was started on; a record from before nodes were recorded keeps null until the next start.
    if (record?.status === 'running' && record.currentContainerId === container.id) {
      if (container.health === record.health) return 'unchanged';
      if (!(await followHealth(op, record, container))) return await refusedWrite(op);
      if (container.health === 'unhealthy') await scheduleCrashRestart(op, crashOfUnhealthy(container));
      return 'health_changed';
    }
    return (await adopt(op, record, container)) ? 'adopted' : await refusedWrite(op);
  }

  if (record?.status !== 'running') return 'unchanged';

  // A container on a node that went down is as gone as one removed: nobody can reach the game there.
  if (!container || container.id !== record.currentContainerId || container.unreachable) {
    const marked = await markRecord(op, record, 'removed', 'container_disappeared', record.currentContainerId ?? '', {
      last_container_id: record.currentContainerId,
    });
    return marked ? 'disappeared' : await refusedWrite(op);
  }

  const eventType: HealthEventType = container.oomKilled ? 'container_oom' : 'container_exited';
  // Nobody asked for this exit: a stop holds the lease until its record says `stopped` (contract §15: `stopped_by`).
  const details = { exit_code: container.exitCode, oom_killed: container.oomKilled, stopped_by: 'engine', state: container.state };
  // Before the record: a reconciler that dies in between leaves a crash answered (the restart judges it again), not forgotten.
  const crash = crashOfExit(container);
  if (crash) await scheduleCrashRestart(op, crash);
  const marked = await markRecord(op, await unhealthyAtExit(op, record, container), 'exited', eventType, container.id, details, {
    lastExitCode: container.exitCode,
  });
  if (!marked) return await refusedWrite(op);
  return container.oomKilled ? 'oom' : 'exited';
}

/**
 * The record write was refused for its fence: a newer operation owns the game
 * and leaves it true, as for a busy lease — or Redis went back in time, and
 * the fence counter is raised past the stored fence for the next pass.
 */
async function refusedWrite(op: Operation): Promise<ReconcileAction> {
  op.log.warn({}, 'reconcile: lease lost, a newer operation owns this game');
  await raiseFenceAfterRefusal(op);
  return 'skipped_busy';
}

/** False when the record write was refused for its fence; then nothing is audited or published. */
async function adopt(observing: Operation, record: RuntimeRecord | null, container: ContainerInfo): Promise<boolean> {
  const imageRef = container.labels[LABEL_ENGINE_IMAGE_REF] ?? container.image;
  const op = asKind(withImage(observing, imageRef, await digestOfContainerImage(observing, imageRef, container.imageId)), 'reconcile_adopt');
  const { deps, gameId } = op;
  const now = deps.clock.now();
  const statePath = record?.statePath ?? (await deps.stateDirs.prepare(gameId));
  const adopted: RuntimeRecord = {
    gameId,
    status: 'running',
    currentContainerId: container.id,
    currentImageRef: op.imageRef,
    engineEndpoint: engineEndpoint(gameId, deps.settings.enginePort),
    statePath,
    dockerNetwork: record?.dockerNetwork ?? deps.settings.network,
    startedAt: container.startedAt ?? now,
    stoppedAt: null,
    lastOpAt: now,
    createdAt: record?.createdAt ?? now,
    currentImageDigest: op.imageDigest,
    effectiveCpuQuota: container.effective?.cpuQuota ?? null,
    effectiveMemoryBytes: container.effective?.memoryBytes ?? null,
    effectivePidsLimit: container.effective?.pidsLimit ?? null,
    nodeId: container.node?.id ?? null,
    health: container.health,
    // A crash restart's engine carries its count (its worker died before the record said so); any other is a new window.
    restartCount: crashRestartsOf(container.labels),
    lastExitCode: record?.lastExitCode ?? null,
    nodeHostname: container.node?.hostname ?? null,
  };
  if (!(await deps.records.upsert(adopted, fenceOf(op)))) return false;
  await bestEffortAppend(op, { containerId: container.id, outcome: 'success', errorCode: '', errorMessage: '' });
  await bestEffortHealthEvent(op, {
    containerId: container.id,
    eventType: 'container_adopted',
    occurredAt: now,
    details: { image_ref: op.imageRef, previous_status: record?.status ?? null },
  });
  op.log.info({ container_id: container.id }, 'reconcile: adopted a running container');
  return true;
}

/**
 * The digest of the image an adopted container runs: looked up by its id, so
 * a tag moved since cannot mislead; its id when the image is gone (removed
 * with force while the container ran).
 */
async function digestOfContainerImage(op: Operation, imageRef: string, imageId: string): Promise<string | null> {
  if (!imageId) return null;
  try {
    return pulledDigest(imageRef, await op.deps.docker.inspectImage(imageId));
  } catch (error) {
    op.log.debug({ image_id: imageId, err: errorMessage(error) }, 'reconcile: adopted container image not inspectable');
    return imageId;
  }
}

async function markRecord(
  observing: Operation,
  record: RuntimeRecord,
  status: 'removed' | 'exited',
  eventType: HealthEventType,
  containerId: string,
  details: Record<string, unknown>,
  seen: { lastExitCode?: number | null } = {},
): Promise<boolean> {
  const op = withImage(observing, record.currentImageRef ?? '', record.currentImageDigest);
  const { deps } = op;
  const now = deps.clock.now();
  // The effective limits and the node stay: what the container last had, and where it last ran.
  if (!(await deps.records.upsert({ ...record, ...seen, status, stoppedAt: now, lastOpAt: now }, fenceOf(op)))) return false;
  await bestEffortAppend(op, { containerId, outcome: 'success', errorCode: '', errorMessage: `${eventType}`, exitCode: seen.lastExitCode ?? null });
  await bestEffortHealthEvent(op, { containerId, eventType, occurredAt: now, details });
  op.log.info({ container_id: containerId, status, event_type: eventType }, 'reconcile: record corrected');
  return true;
}

async function allRunningRecords(deps: LifecycleDeps): Promise<RuntimeRecord[]> {
  const out: RuntimeRecord[] = [];
  let cursor: string | null = null;
  do {
    const page: RuntimeRecordPage = await deps.records.list({ status: 'running', limit: PAGE, cursor });
    out.push(...page.records);
    cursor = page.nextCursor;
  } while (cursor);
  return out;
}

/**
 * An engine event (die, oom, health_status) for one of our containers: reconcile that game.
 * The operation holding the lease (a stop, a start) may be the cause; wait
 * for it rather than skip, so the record and the health stream say within
 * seconds what happened, not at the next pass.
 */
export async function reconcileOnEvent(
  deps: LifecycleDeps,
  gameId: string,
  wait: (ms: number) => Promise<void>,
  attempts = 20,
  delayMs = 250,
): Promise<ReconcileAction> {
  if (gameIdProblem(gameId) !== null) return 'unchanged';
  for (let attempt = 1; ; attempt++) {
    const action = await reconcileGame(deps, gameId, null);
    if (action !== 'skipped_busy' || attempt >= attempts) return action;
    await wait(delayMs);
  }
}
