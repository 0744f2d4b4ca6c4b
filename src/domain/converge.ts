/**
 * The start's `converge_container` step: what an earlier attempt of the same
 * start left under the game's container name (a job runs at least once, and a
 * worker may die between `run_container` and `upsert_record`), and what the
 * start makes of it before it runs its own.
 */
import type { ContainerLimits } from './container-spec.js';
import { isOwnedBy } from './container-spec.js';
import { containerName, LABEL_ENGINE_IMAGE_REF } from './model.js';
import type { Operation, StepOutcome } from './operation.js';
import { attempt, runStep } from './operation.js';
import type { ContainerInfo, RunResult } from './engine-port.js';

/**
 * Read ahead, under the lease: what a previous attempt left under our name is
 * asked now, beside the network, image and directory checks, and judged in
 * its own step (converge_container). A read only; on the common path it
 * saves the start a round trip to the daemon. Handled here so that an early
 * rejection is not reported as unhandled before its step awaits it.
 */
export function readAheadLeftBehind(op: Operation): Promise<ContainerInfo | null> {
  const leftBehind = op.deps.docker.inspectContainer(containerName(op.gameId));
  leftBehind.catch(() => undefined);
  return leftBehind;
}

/** What `converge_container` made of the name: free (nothing there, or a stale container removed), a leftover to adopt, or the container to replace in place. */
export type Converged = { kind: 'free' } | { kind: 'adopt'; run: RunResult } | { kind: 'replace'; containerId: string };

/**
 * `converge_container`: a job runs at least once, so a worker that died after
 * `run` left a container with our name. Adopt it when it is what was asked
 * for, replace it when it is ours but stale, and never touch one we do not own.
 */
export async function convergeContainer(
  op: Operation,
  leftBehind: Promise<ContainerInfo | null>,
  limits: ContainerLimits,
  replacing: string | undefined,
): Promise<StepOutcome<Converged>> {
  const { deps } = op;
  const found = await runStep(op, 'converge_container', () => leftBehind, { code: 'service_unavailable', context: 'inspect existing container' });
  if (!found.ok) return found;
  const previous = found.value;
  if (!previous) return { ok: true, value: { kind: 'free' } };
  if (!isOwnedBy(previous.labels, op.gameId)) {
    return {
      ok: false,
      failure: {
        step: 'converge_container',
        code: 'container_start_failed',
        message: `container name ${JSON.stringify(containerName(op.gameId))} is taken by a container rtmanager does not own`,
        notify: 'runtime.container_start_failed',
      },
    };
  }
  if (previous.running && previous.labels[LABEL_ENGINE_IMAGE_REF] === op.imageRef) {
    const effective = previous.effective ?? { cpuQuota: limits.cpuQuota, memoryBytes: limits.memoryBytes, pidsLimit: limits.pidsLimit };
    op.log.info({ step: 'converge_container', container_id: previous.id }, 'adopting the container a previous attempt started');
    return {
      ok: true,
      value: { kind: 'adopt', run: { containerId: previous.id, startedAt: previous.startedAt ?? deps.clock.now(), effective, node: previous.node } },
    };
  }
  if (replacing && previous.id === replacing && previous.running && deps.docker.capabilities.replaceInPlace) {
    return { ok: true, value: { kind: 'replace', containerId: previous.id } };
  }
  op.log.info({ step: 'converge_container', container_id: previous.id, container_state: previous.state }, 'replacing a stale container of this game');
  const removed = await attempt(op, () => deps.docker.remove(previous.id), { code: 'service_unavailable', context: 'replace stale container' });
  return removed.ok ? { ok: true, value: { kind: 'free' } } : removed;
}
