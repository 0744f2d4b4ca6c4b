/**
 * The wait for an engine's health on a swarm (contract §15). Swarm keeps a
 * task whose image has a HEALTHCHECK `starting` until its container is
 * healthy, only then `running`; one that turns unhealthy it shuts down (the
 * task fails, "unhealthy container"). So the task's state is the verdict the
 * cluster itself acts on, readable for a task on any node: `running` is
 * healthy, failed as unhealthy is unhealthy. The container's own health,
 * when it runs on the manager's node, says `unhealthy` (or that there is no
 * HEALTHCHECK) before the task does. Read every `pollMs`: the Engine API
 * sends no task events.
 */
import type { HealthVerdict } from '../../domain/engine-port.js';
import { healthOfState } from './health.js';
import type { SwarmTask } from './swarm-service-spec.js';
import { TERMINAL, sleep } from './swarm-service-spec.js';
import type { SwarmServices } from './swarm-services.js';
import type { SwarmView } from './swarm-view.js';

export async function awaitTaskHealth(
  view: SwarmView,
  services: SwarmServices,
  containerId: string,
  timeoutMs: number,
  pollMs: number,
): Promise<HealthVerdict> {
  const deadline = Date.now() + timeoutMs;
  const found = await services.find(containerId);
  if (!found?.task) return 'gone';
  const { service, task: first } = found;
  for (let task: SwarmTask | undefined = first; ;) {
    if (!task) return 'gone';
    const local = await view.localContainer(containerId);
    const health = local ? healthOfState(local.State) : null;
    if (health === 'unhealthy') return 'unhealthy';
    const state = task.Status.State;
    if (TERMINAL.has(state)) return /unhealthy/i.test(`${task.Status.Err ?? ''} ${task.Status.Message ?? ''}`) ? 'unhealthy' : 'gone';
    if (state === 'running') return health === 'none' ? 'none' : 'healthy';
    if (Date.now() >= deadline) return 'timeout';
    await sleep(Math.min(pollMs, deadline - Date.now()));
    task = (await services.tasksOf(service.ID)).find((t) => t.ID === first.ID);
  }
}
