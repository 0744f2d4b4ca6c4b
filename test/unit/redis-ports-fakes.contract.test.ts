import { describeCrashRestartsContract } from '../contracts/crash-restarts.contract.js';
import { describeGameLeasesContract } from '../contracts/game-leases.contract.js';
import { describeHealthEventsContract } from '../contracts/health-events.contract.js';
import { describeHealthEventsReaderContract } from '../contracts/health-events-reader.contract.js';
import { describeNotificationsContract } from '../contracts/notifications.contract.js';
import { InMemoryGameLeases } from '../fakes/in-memory-game-leases.js';
import type { DueCrash } from '../fakes/timed-crash-restarts.js';
import { TimedCrashRestarts } from '../fakes/timed-crash-restarts.js';
import { InMemoryHealthEventStream } from '../fakes/in-memory-health-event-stream.js';
import { RecordingHealthEvents } from '../fakes/recording-health-events.js';
import { RecordingNotifications } from '../fakes/recording-notifications.js';
import { ManualClock } from '../fakes/support.js';

describeGameLeasesContract('in-memory', () => {
  const clock = new ManualClock();
  return Promise.resolve({
    port: new InMemoryGameLeases(clock),
    elapse: (ms) => Promise.resolve(clock.advance(ms)),
    cleanup: () => Promise.resolve(),
  });
});

describeHealthEventsContract('recording', () => {
  const port = new RecordingHealthEvents();
  return Promise.resolve({ port, readBack: () => Promise.resolve(port.published), cleanup: () => Promise.resolve() });
});

describeNotificationsContract('recording', () => {
  const port = new RecordingNotifications();
  return Promise.resolve({ port, readBack: () => Promise.resolve(port.published), cleanup: () => Promise.resolve() });
});

describeCrashRestartsContract('timed, in memory', () => {
  const due: DueCrash[] = [];
  const port = new TimedCrashRestarts((d) => due.push(d));
  return Promise.resolve({ port, handedOn: () => due, cleanup: () => Promise.resolve(port.clear()) });
});

describeHealthEventsReaderContract('in-memory', () => {
  const stream = new InMemoryHealthEventStream();
  return Promise.resolve({ port: stream, publish: (e) => stream.publish(e), cleanup: () => Promise.resolve() });
});
