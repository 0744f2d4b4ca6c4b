import { describe, expect, it } from 'vitest';
import { daemonError } from '../../src/infra/docker/daemon-errors.js';

/** As docker-modem builds them: the parsed body in `json`, or for a streamed request none, the body inside its message. */
const modemError = (status: number, reason: string, cause: string, json: { message: string } | null) =>
  Object.assign(new Error(`(HTTP code ${status}) ${reason} - ${cause} `), { statusCode: status, json });

describe('daemonError: the daemon words, without the client wrapper', () => {
  it('reads the parsed body of a plain request', () => {
    const error = daemonError(modemError(404, 'no such container', 'No such container: g1', { message: 'No such container: g1' }));
    expect([error.message, (error as { statusCode?: number }).statusCode]).toEqual(['No such container: g1', 404]);
  });

  it('unwraps a streamed request (a pull), whose body only the message carries', () => {
    const error = daemonError(modemError(404, 'unexpected', 'manifest for r/x:1 not found: manifest unknown: a - b', null));
    expect(error.message).toBe('manifest for r/x:1 not found: manifest unknown: a - b');
  });

  it('keeps any other error as it is', () => {
    expect(daemonError(new Error('connect ENOENT /var/run/docker.sock')).message).toBe('connect ENOENT /var/run/docker.sock');
  });
});
