/**
 * The crash policy (contract §15): an engine that exits with a code other
 * than 0, is OOM-killed, or turns `unhealthy` is restarted by the manager,
 * at most RTMANAGER_CRASH_RESTART_MAX times within the window, the first
 * after the backoff and each next after twice the one before. At the limit
 * the game is told to be crash-looping (`container_crash_loop`, and a
 * `runtime.container_crash_loop` notification intent), and left alone.
 *
 * Two halves. The reconciler, holding the game's lease when it sees the
 * crash, schedules its answer (`scheduleCrashRestart`): a durable, delayed
 * hand-over (the CrashRestarts port), so the game is free for operators
 * while the backoff runs. When it is due, the answer becomes a restart
 * operation of op source `crash_policy` in the game's order, and under its
 * lease (`crashRestartRuntime`) it judges again what it finds: the crash
 * is answered only while the record still names the crashed container and
 * that container is still down or gone (or still unhealthy). So a stop accepted
 * meanwhile wins (it ran first, or made this operation moot in the order),
 * a game stopped by an operation is never restarted, and an operation run
 * twice (its worker died) restarts once: the second run finds the engine
 * its first one started.
 */
import type { LifecycleDeps, LifecycleHooks, LifecycleResult } from './lifecycle.js';
import type { EngineCrash, RuntimeRecord, StoredOperationEntry } from './model.js';
import { MANAGER_OP_SOURCE } from './model.js';
import type { ContainerInfo } from './engine-port.js';
import { errorMessage } from './errors.js';
import type { Operation, StepOutcome } from './operation.js';
import { beginOperation, runStep, withImage } from './operation.js';
import { fenceOf, underLease } from './operation-lease.js';
import { endWriteRefused } from './fencing.js';
import { bestEffortHealthEvent, recordFailure, recordSuccess } from './outcomes.js';
import { startAndFinish } from './restart.js';
import { loadRecord, removeEngine } from './stop.js';

/** What the reconciler saw end is a crash the policy answers; null for an engine's own clean exit (code 0). */
export function crashOfExit(container: ContainerInfo): EngineCrash | null {
  const { id: containerId, exitCode, oomKilled } = container;
  if (oomKilled) return { containerId, reason: 'oom', exitCode, oomKilled };
  return exitCode !== null && exitCode !== 0 ? { containerId, reason: 'exit', exitCode, oomKilled } : null;
}

export function crashOfUnhealthy(container: ContainerInfo): EngineCrash {
  return { containerId: container.id, reason: 'unhealthy', exitCode: null, oomKilled: false };
}

/**
 * The reconciler's half, under the game's lease: the crash's answer is
 * scheduled after its backoff (none at the limit: the operation then only
 * says so). Never throws: a crash left unanswered is logged, and leaves the
 * game as an engine's end without the policy would (its record `exited`).
 */
export async function scheduleCrashRestart(op: Operation, crash: EngineCrash): Promise<void> {
  const { max, backoffMs, windowMs } = op.deps.settings.crashRestart;
  if (max === 0) return;
  try {
    const restarts = await crashRestartsInWindow(op.deps, op.gameId);
    // Doubling, within the window: a wait longer than it would outlast the restarts it counts.
    const delayMs = restarts >= max ? 0 : Math.min(backoffMs * 2 ** restarts, windowMs);
    await op.deps.crashRestarts.schedule(op.gameId, crash, delayMs);
    op.log.info({ container_id: crash.containerId, reason: crash.reason, exit_code: crash.exitCode, restarts, delay_ms: delayMs }, 'crash restart scheduled');
  } catch (error) {
    op.log.error({ container_id: crash.containerId, reason: crash.reason, err: errorMessage(error) }, 'crash restart not scheduled');
  }
}

export interface CrashRestartInput {
  gameId: string;
  /** The job's attempt (`crash:{container} job:{game}#{n}`): a re-run of one attempt is told by it. */
  sourceRef: string;
  crash: EngineCrash;
}

/** The operation's half: a restart of op source `crash_policy`, under the game's lease and in its order. */
export async function crashRestartRuntime(deps: LifecycleDeps, input: CrashRestartInput, hooks: LifecycleHooks = {}): Promise<LifecycleResult> {
  const op = beginOperation(deps, 'restart', { gameId: input.gameId, imageRef: '', opSource: MANAGER_OP_SOURCE, sourceRef: input.sourceRef }, hooks);
  return underLease(op, () => answerCrash(op, input.crash));
}

/** What `judge_crash` made of the game: still crashed, answered by an earlier run of this operation, or changed since. */
type Judged = { kind: 'crashed' } | { kind: 'answered'; record: RuntimeRecord } | { kind: 'changed'; why: string };

async function answerCrash(given: Operation, crash: EngineCrash): Promise<LifecycleResult> {
  const loaded = await loadRecord(given);
  if (!loaded.ok) return recordFailure(given, loaded.failure);
  const record = loaded.value;
  const op = record?.currentImageRef ? withImage(given, record.currentImageRef, record.currentImageDigest) : given;

  const judged = await judgeCrash(op, record, crash);
  if (!judged.ok) return recordFailure(op, judged.failure);
  const verdict = judged.value;
  if (verdict.kind === 'changed') return recordFailure(op, { step: 'judge_crash', code: 'superseded', message: `superseded: ${verdict.why}` });
  if (verdict.kind === 'answered') return finishRestarted(op, verdict.record, crash);

  const counted = await runStep(op, 'count_restarts', () => crashRestartsInWindow(op.deps, op.gameId), {
    code: 'internal_error',
    context: 'count crash restarts',
  });
  if (!counted.ok) return recordFailure(op, counted.failure);
  if (counted.value >= op.deps.settings.crashRestart.max) return declareCrashLoop(op, crash, counted.value);

  // Crashed: `record` names the crashed container and its image.
  const down = await takeDown(op, record!, crash);
  if (!down.ok) return recordFailure(op, down.failure);
  if (!down.value) return endWriteRefused(op, crash.containerId);
  const carried = { restartCount: counted.value + 1, lastExitCode: crash.exitCode ?? down.value.lastExitCode };
  const restarted = await startAndFinish(op, record!.currentImageRef ?? '', undefined, undefined, null, carried);
  if (restarted.outcome === 'success') await tellRestarted(op, restarted.record, crash);
  return restarted;
}

/**
 * The crashed engine ended and removed, and the record `exited` (still
 * naming it) when it said running (an unhealthy engine, or an exit the
 * reconciler has not written yet): never `stopped`, which only an operator's
 * stop writes — so a run of this operation that dies here and runs again
 * finds the crash still to answer. Null when the write was refused for its fence.
 */
async function takeDown(op: Operation, record: RuntimeRecord, crash: EngineCrash): Promise<StepOutcome<RuntimeRecord | null>> {
  const removed = await removeEngine(op, crash.containerId);
  if (!removed.ok) return removed;
  if (record.status !== 'running') return { ok: true, value: record };
  const now = op.deps.clock.now();
  const down: RuntimeRecord = {
    ...record,
    status: 'exited',
    stoppedAt: now,
    lastOpAt: now,
    lastExitCode: removed.value?.exitCode ?? crash.exitCode ?? record.lastExitCode,
  };
  const written = await runStep(op, 'upsert_record', () => op.deps.records.upsert(down, fenceOf(op)), {
    code: 'internal_error',
    context: 'upsert_record: upsert runtime record',
    containerId: crash.containerId,
  });
  if (!written.ok) return written;
  return { ok: true, value: written.value ? down : null };
}

/**
 * `judge_crash`: the crash is still the game's to answer only while its
 * record names the crashed container, that container is down (or, for an
 * unhealthy one, still running unhealthy: it stayed so through the backoff),
 * and the game was not stopped.
 */
function judgeCrash(op: Operation, record: RuntimeRecord | null, crash: EngineCrash): Promise<StepOutcome<Judged>> {
  return runStep(
    op,
    'judge_crash',
    async (): Promise<Judged> => {
      if (!record || record.status === 'stopped' || record.status === 'removed') {
        return { kind: 'changed', why: `the game is ${record?.status ?? 'unknown'}: a game stopped by an operation is never restarted` };
      }
      if (record.currentContainerId !== crash.containerId) {
        if (startedByCrashRestart(record)) return { kind: 'answered', record };
        return { kind: 'changed', why: `the game runs another engine (${record.currentContainerId ?? 'none'}) since ${crash.containerId} crashed` };
      }
      // Gone (removed by an earlier run of this operation, or by hand) or down: still crashed.
      const container = await op.deps.docker.inspectContainer(crash.containerId);
      if (!container?.running) return { kind: 'crashed' };
      if (crash.reason === 'unhealthy' && container.health === 'unhealthy') return { kind: 'crashed' };
      return { kind: 'changed', why: crash.reason === 'unhealthy' ? `the engine is ${container.health} again` : 'the engine runs again' };
    },
    { code: 'service_unavailable', context: 'judge_crash' },
  );
}

/**
 * Another engine runs, started by a crash restart (every other start writes
 * restart_count 0): by an earlier run of this operation whose worker died
 * after its start wrote the record. A later crash's restart cannot have run
 * yet: it waits behind this one in the game's order. That engine is the answer.
 */
function startedByCrashRestart(record: RuntimeRecord): boolean {
  return record.status === 'running' && record.restartCount > 0;
}

async function finishRestarted(op: Operation, record: RuntimeRecord, crash: EngineCrash): Promise<LifecycleResult> {
  const result = await recordSuccess(op, { record, containerId: record.currentContainerId ?? '', replay: false, message: 'runtime restarted after a crash' });
  await tellRestarted(op, record, crash);
  return result;
}

function tellRestarted(op: Operation, record: RuntimeRecord | null, crash: EngineCrash): Promise<void> {
  return bestEffortHealthEvent(op, {
    containerId: record?.currentContainerId ?? '',
    eventType: 'container_restarted',
    occurredAt: op.deps.clock.now(),
    details: {
      attempt: record?.restartCount ?? null,
      exit_code: crash.exitCode,
      oom_killed: crash.oomKilled,
      reason: crash.reason,
      previous_container_id: crash.containerId,
    },
  });
}

/** The limit reached: told once, by this operation (its row is the crash loop's), and the engine is left as it is. */
async function declareCrashLoop(op: Operation, crash: EngineCrash, restarts: number): Promise<LifecycleResult> {
  const { windowMs } = op.deps.settings.crashRestart;
  await bestEffortHealthEvent(op, {
    containerId: crash.containerId,
    eventType: 'container_crash_loop',
    occurredAt: op.deps.clock.now(),
    details: { restarts, window_ms: windowMs, exit_code: crash.exitCode, oom_killed: crash.oomKilled, reason: crash.reason },
  });
  const ended = crash.exitCode === null ? crash.reason : `${crash.reason} (exit code ${crash.exitCode})`;
  return recordFailure(op, {
    step: 'count_restarts',
    code: 'container_start_failed',
    message: `crash loop: the engine crashed again, ${ended}, after ${restarts} crash restart(s) within ${windowMs} ms; it is not restarted again`,
    containerId: crash.containerId,
    notify: 'runtime.container_crash_loop',
  });
}

/** Rows looked at to count a game's crash restarts: three a crash (the reconciler's, the restart's, its start's) and room for others. */
function rowsToCount(max: number): number {
  return Math.min(3 * max + 20, 3_000);
}

/**
 * Crash restarts that succeeded within the window, newest first, up to the
 * last start, restart or patch an operator asked for: that opens a new window.
 */
export async function crashRestartsInWindow(deps: LifecycleDeps, gameId: string): Promise<number> {
  const { max, windowMs } = deps.settings.crashRestart;
  const since = deps.clock.now().getTime() - windowMs;
  const rows = await deps.operations.listByGame(gameId, rowsToCount(max));
  let restarts = 0;
  for (const row of rows) {
    if (row.finishedAt.getTime() < since || opensWindow(row)) break;
    if (row.opKind === 'restart' && row.opSource === MANAGER_OP_SOURCE && row.outcome === 'success') restarts += 1;
  }
  return restarts;
}

function opensWindow(row: StoredOperationEntry): boolean {
  const asked = row.opKind === 'start' || row.opKind === 'restart' || row.opKind === 'patch';
  return asked && row.opSource !== MANAGER_OP_SOURCE && row.outcome === 'success' && row.errorCode !== 'replay_no_op';
}
