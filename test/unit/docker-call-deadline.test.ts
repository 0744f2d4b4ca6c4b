/**
 * A Docker call's deadline goes with the call, however the call ends: one
 * that throws before it sends anything (a service spec refused on the way)
 * must not leave its deadline armed to reject later with no one listening.
 */
import Dockerode from 'dockerode';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DaemonClient } from '../../src/infra/docker/daemon-client.js';

describe('a Docker call under its deadline', () => {
  const unhandled: unknown[] = [];
  const listen = (reason: unknown) => unhandled.push(reason);
  beforeEach(() => process.on('unhandledRejection', listen));
  afterEach(() => {
    process.off('unhandledRejection', listen);
    unhandled.length = 0;
  });
  // Never dialled: the calls below send nothing.
  const client = new DaemonClient({ docker: new Dockerode({ socketPath: '/nonexistent.sock' }), deadlines: { callMs: 50 } });

  it('a call that throws at once rejects with its own error and leaves no deadline behind', async () => {
    await expect(
      client.call('test_op', () => {
        throw new Error('refused before sending');
      }),
    ).rejects.toThrow('refused before sending');
    // Past the deadline, twice over: nothing fires.
    await new Promise((resolve) => setTimeout(resolve, 150));
    expect(unhandled).toEqual([]);
  });

  it('a call that never answers fails at its deadline, and aborts its signal', async () => {
    let aborted: unknown = null;
    const pending = client.call(
      'test_op',
      (signal) =>
        new Promise<never>(() => {
          signal.addEventListener('abort', () => {
            aborted = signal.reason;
          });
        }),
    );
    await expect(pending).rejects.toMatchObject({ code: 'docker_deadline_exceeded' });
    expect(aborted).toMatchObject({ code: 'docker_deadline_exceeded' });
    expect(unhandled).toEqual([]);
  });
});
