/**
 * What a holder does when fencing says the game is no longer its own (contract
 * §14): a record write refused for its fence, an undo after a lost lease, and
 * the look a start takes at a container it adopted once its record names it.
 *
 * - **Fences never go back, even when Redis does.** The leases adapter floors
 *   every fence at its clock; should that clock itself have gone back, a
 *   refused write raises the fence counter above the stored fence, so the
 *   game's next attempt gets past it (`endWriteRefused`).
 * - **Undo never removes a container that a record or a newer holder names**
 *   (`removeUnlessClaimed`, `recheckAdopted`).
 */
import { errorMessage } from './errors.js';
import type { Failure, LifecycleResult } from './lifecycle.js';
import type { RuntimeRecord } from './model.js';
import type { Operation } from './operation.js';
import { attempt } from './operation.js';
import { CLEANUP_TIMEOUT_MS, endLeaseLost, fenceOf } from './operation-lease.js';
import { withTimeout } from './timeout.js';

/**
 * A record write refused for its fence: ends the operation as a lost lease
 * (undoing what it made and nobody adopted), once the fence counter is raised
 * past the stored fence.
 */
export async function endWriteRefused(op: Operation, containerId = ''): Promise<LifecycleResult> {
  await raiseFenceAfterRefusal(op);
  return endLeaseLost(op, '', containerId);
}

/**
 * A refusal means a fence above ours is stored. Usually a newer holder wrote
 * it, and the counter is past it already (raising changes nothing). But when
 * the Redis behind the leases went back further than its clock floor covers
 * (its host clock stepped back, a failover to a host whose clock is behind),
 * our fence came from a counter below the stored one, and so would the next
 * holder's, again and again: the game would stay blocked until that clock
 * catches up. So the counter is raised above what is stored, and the retry of
 * this very operation gets past it. Best effort: a failure leaves the clock
 * floor to catch up, and is logged.
 */
export async function raiseFenceAfterRefusal(op: Operation): Promise<void> {
  const ours = fenceOf(op);
  try {
    const stored = await withTimeout(op.deps.records.leaseFence(op.gameId), CLEANUP_TIMEOUT_MS);
    if (stored <= ours) return;
    if (await withTimeout(op.deps.leases.raiseFenceAbove(op.gameId, stored), CLEANUP_TIMEOUT_MS)) {
      op.log.warn({ fence: ours, stored_fence: stored }, 'fence counter was behind a stored lease_fence (Redis went back in time): raised past it');
    }
  } catch (error) {
    op.log.warn({ fence: ours, err: errorMessage(error) }, 'raise fence counter after a refused write');
  }
}

/**
 * The undo of a container this operation created, once its lease is lost or
 * its record write refused: it goes, unless someone else may own it now.
 *
 * Reading the record and then removing is not enough: a newer holder adopts a
 * container at `converge_container` and records it later, so a removal after
 * our read can take a container from under a holder that will report it
 * running. Looking at the latest fence first has the same gap (a holder may
 * come between the look and the removal). So the undo holds the game itself,
 * as any holder does: with our own lease if Redis says it is still ours (a
 * write refused while we held it), else a fresh one. While it holds the game,
 * no newer holder can be between its look and its record write; if another
 * holder has the game, the container is left to it — a start's converge step
 * adopts or replaces it by name, a stop's find_container removes it by name,
 * and the reconciler adopts or marks what the last of them leaves.
 *
 * What remains is what every lease has over Docker: a removal that reaches the
 * daemon after the lease it was sent under expired. The undo sends it only
 * within the TTL it just secured, and `recheckAdopted` catches a removal that
 * lands late all the same.
 */
export async function removeUnlessClaimed(op: Operation, containerId: string): Promise<void> {
  await holdingGameForUndo(op, containerId, async (stillHeld) => {
    const record = await op.deps.records.get(op.gameId);
    // A newer holder recorded it: it is theirs now.
    if (record?.currentContainerId === containerId) return;
    if (!stillHeld()) {
      op.log.warn({ container_id: containerId }, 'undo: the game could not be held long enough; the container is left to the next holder');
      return;
    }
    await op.deps.docker.remove(containerId);
  });
}

async function holdingGameForUndo(op: Operation, containerId: string, work: (stillHeld: () => boolean) => Promise<void>): Promise<void> {
  const { deps, gameId } = op;
  const ttlMs = deps.settings.leaseTtlMs;
  const askedAt = deps.clock.now().getTime();
  const stillHeld = () => deps.clock.now().getTime() < askedAt + ttlMs;
  const own = op.lease.held;
  if (own && (await deps.leases.renew(gameId, own.token, ttlMs))) return work(stillHeld);
  const token = deps.newToken();
  if ((await deps.leases.tryAcquire(gameId, token, ttlMs)) === null) {
    op.log.warn({ container_id: containerId }, 'undo: another holder has the game; the container is left to it');
    return;
  }
  try {
    await work(stillHeld);
  } finally {
    await withTimeout(deps.leases.release(gameId, token), CLEANUP_TIMEOUT_MS).catch((error: unknown) => {
      // It expires after its TTL.
      op.log.warn({ err: errorMessage(error) }, 'release game lease after undo');
    });
  }
}

/**
 * A start that adopted a container left under the game's name has just
 * written the record naming it. An older holder's undo sent before its lease
 * expired may still have removed it since our converge step saw it: then the
 * record is put right (`removed`, as the reconciler would) and the start fails
 * retryably, so that its re-run starts a fresh container instead of replaying
 * a record that names a gone one. Null when the container is there.
 */
export async function recheckAdopted(op: Operation, record: RuntimeRecord): Promise<Failure | null> {
  const containerId = record.currentContainerId ?? '';
  const seen = await attempt(op, () => op.deps.docker.inspectContainer(containerId), {
    code: 'service_unavailable',
    context: 're-check the adopted container',
    containerId,
  });
  if (!seen.ok) return seen.failure;
  if (seen.value) return null;
  const now = op.deps.clock.now();
  const corrected = await attempt(op, () => op.deps.records.upsert({ ...record, status: 'removed', stoppedAt: now, lastOpAt: now }, fenceOf(op)), {
    code: 'internal_error',
    context: 'mark the record of a vanished container',
  });
  // Not corrected: the reconciler marks it at its next pass.
  if (!corrected.ok) op.log.error({ container_id: containerId, err: corrected.failure.message }, 'mark the record of a vanished container');
  return {
    step: 'upsert_record',
    code: 'service_unavailable',
    message: `upsert_record: the adopted container ${containerId} vanished after the record named it; the re-run starts a fresh one`,
    containerId,
  };
}
