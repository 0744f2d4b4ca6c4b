import { describeDedupEnqueueContract } from '../contracts/dedup-enqueue.contract.js';
import { FakeDedupEnqueuer } from '../fakes/dedup-enqueuer.js';
import { ManualClock } from '../fakes/support.js';

describeDedupEnqueueContract('in-memory fake', ({ windowMs }) => {
  const clock = new ManualClock();
  const fake = new FakeDedupEnqueuer(windowMs, clock);
  return Promise.resolve({
    enqueue: (kind, payload, opts) => fake.enqueue(kind, payload, opts),
    endJobs: (gameId) => Promise.resolve(fake.endJobs(gameId)),
    pendingKinds: (gameId) => Promise.resolve(fake.pendingKinds(gameId)),
    elapse: (ms) => Promise.resolve(clock.advance(ms)),
    cleanup: () => Promise.resolve(),
  });
});
