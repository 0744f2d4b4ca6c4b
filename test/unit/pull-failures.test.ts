import { describe, expect, it } from 'vitest';
import { ImagePullFailed, registryUnreachable } from '../../src/domain/image-pull.js';
import { pullFailureOf } from '../../src/infra/docker/pull.js';

const REF = '127.0.0.1:15000/galaxy-test/engine:v1';

/** A dockerode error as the daemon's HTTP answer arrives: status code, and the wrapped message. */
function daemonAnswer(statusCode: number, said: string): Error {
  return Object.assign(new Error(`(HTTP code ${statusCode}) ${statusCode === 404 ? 'unexpected' : 'server error'} - ${said} `), { statusCode, json: null });
}

describe('pullFailureOf: what the daemon said, as a reason and a sentence', () => {
  it.each([
    [
      'no credentials',
      500,
      'Head "http://127.0.0.1:15000/v2/galaxy-test/engine/manifests/v1": no basic auth credentials',
      'auth',
      `authentication failed at registry 127.0.0.1:15000 for ${REF}: check its entry in the Docker config.json (RTMANAGER_DOCKER_CONFIG)`,
    ],
    ['a wrong password', 500, 'unauthorized: authentication required', 'auth', 'authentication failed at registry 127.0.0.1:15000'],
    [
      "Docker Hub's ambiguous refusal",
      404,
      "pull access denied for galaxy/x, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      'denied',
      'registry 127.0.0.1:15000 denied access to',
    ],
    [
      'a missing tag',
      404,
      `manifest for ${REF} not found: manifest unknown: manifest unknown`,
      'not_found',
      `image ${REF} was not found in registry 127.0.0.1:15000 (no such repository, tag or digest)`,
    ],
    [
      'a refused connection',
      500,
      'Get "http://127.0.0.1:1/v2/": dial tcp 127.0.0.1:1: connect: connection refused',
      'unreachable',
      `registry 127.0.0.1:15000 could not be reached to pull ${REF}`,
    ],
    [
      'an unknown host',
      500,
      'Get "https://registry.invalid/v2/": dial tcp: lookup registry.invalid on 10.0.0.53:53: no such host',
      'unreachable',
      'could not be reached',
    ],
    ['a 503', 500, 'received unexpected HTTP status: 503 Service Unavailable', 'unreachable', 'could not be reached'],
    [
      'a registry that never answers',
      500,
      'Get "http://127.0.0.1:37649/v2/": net/http: request canceled (Client.Timeout exceeded while awaiting headers)',
      'timeout',
      `registry 127.0.0.1:15000 timed out while pulling ${REF}`,
    ],
    ['anything else', 500, 'failed to register layer: no space left on device', 'other', `image pull of ${REF} failed`],
  ])('%s', (_, status, said, reason, sentence) => {
    const failed = pullFailureOf(daemonAnswer(status, said), REF);
    expect(failed.reason).toBe(reason);
    expect(failed.message).toContain(sentence);
    // The daemon's own words follow, without dockerode's "(HTTP code …) … - " wrapper.
    expect(failed.message.endsWith(`: ${said}`)).toBe(true);
  });

  it('says nothing about the registry when the daemon itself could not be reached', () => {
    const failed = pullFailureOf(Object.assign(new Error('connect ECONNREFUSED /var/run/docker.sock'), { code: 'ECONNREFUSED' }), REF);
    expect(failed.reason).toBe('other');
    expect(registryUnreachable(failed.reason)).toBe(false);
  });

  it('keeps a failure that already says why', () => {
    const timeout = new ImagePullFailed('timeout', `image pull of ${REF} timed out after 600 ms (RTMANAGER_PULL_TIMEOUT_MS)`);
    expect(pullFailureOf(timeout, REF)).toBe(timeout);
  });

  it('falls back only on a registry that did not answer, never on one that said no', () => {
    expect(['auth', 'denied', 'not_found', 'unreachable', 'timeout', 'policy', 'other'].filter((r) => registryUnreachable(r as never))).toEqual([
      'unreachable',
      'timeout',
    ]);
  });
});
