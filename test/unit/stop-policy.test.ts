import { describe, expect, it } from 'vitest';
import { resolveStopPolicy, STOP_SIGNALS } from '../../src/domain/stop-policy.js';

const settings = { stopTimeoutSeconds: 10, maxStopTimeoutSeconds: 300 };
const SIGNAL = 'com.galaxy.stop_signal';
const TIMEOUT = 'com.galaxy.stop_timeout';

describe('resolveStopPolicy: the stop labels, with the image and configured fallbacks (contract §15)', () => {
  it.each([
    ['no label, no STOPSIGNAL: SIGTERM and RTMANAGER_STOP_TIMEOUT_SECONDS', {}, null, { signal: 'SIGTERM', timeoutSeconds: 10 }],
    ["no label: the image's own STOPSIGNAL, as Docker took it", {}, 'SIGQUIT', { signal: 'SIGQUIT', timeoutSeconds: 10 }],
    [
      'an image STOPSIGNAL Docker accepts though a label may not name it (a number, a realtime signal)',
      {},
      'SIGRTMIN+3',
      { signal: 'SIGRTMIN+3', timeoutSeconds: 10 },
    ],
    ['the label wins over the STOPSIGNAL', { [SIGNAL]: 'SIGINT' }, 'SIGQUIT', { signal: 'SIGINT', timeoutSeconds: 10 }],
    ['case does not matter, nor the SIG prefix, nor spaces around', { [SIGNAL]: ' int ' }, null, { signal: 'SIGINT', timeoutSeconds: 10 }],
    ['…', { [SIGNAL]: 'SigUsr1' }, null, { signal: 'SIGUSR1', timeoutSeconds: 10 }],
    ['an empty label is absent', { [SIGNAL]: '  ', [TIMEOUT]: '' }, 'SIGHUP', { signal: 'SIGHUP', timeoutSeconds: 10 }],
    ['a timeout label', { [TIMEOUT]: '45' }, null, { signal: 'SIGTERM', timeoutSeconds: 45 }],
    ['0: killed at once', { [TIMEOUT]: '0' }, null, { signal: 'SIGTERM', timeoutSeconds: 0 }],
    ['the ceiling itself', { [TIMEOUT]: ' 300 ' }, null, { signal: 'SIGTERM', timeoutSeconds: 300 }],
  ])('%s', (_name, labels, imageSignal, stop) => {
    expect(resolveStopPolicy(labels, imageSignal, settings)).toEqual({ ok: true, stop });
  });

  it('accepts every signal of its closed list, each by its short name too', () => {
    for (const signal of STOP_SIGNALS) {
      expect(resolveStopPolicy({ [SIGNAL]: signal.slice(3).toLowerCase() }, null, settings)).toEqual({ ok: true, stop: { signal, timeoutSeconds: 10 } });
    }
    expect(STOP_SIGNALS).toEqual(['SIGHUP', 'SIGINT', 'SIGQUIT', 'SIGTERM', 'SIGUSR1', 'SIGUSR2', 'SIGWINCH', 'SIGPWR']);
  });

  const list = STOP_SIGNALS.join(', ');
  it.each([
    // Not a wind-down: the kill is what the timeout ends in anyway; a stopped engine would only freeze until it.
    ['SIGKILL', `image label ${SIGNAL}=SIGKILL is not one of ${list}`],
    ['SIGSTOP', `image label ${SIGNAL}=SIGSTOP is not one of ${list}`],
    ['9', `image label ${SIGNAL}=9 is not one of ${list}`],
    ['SIGINTX', `image label ${SIGNAL}=SIGINTX is not one of ${list}`],
    ['SIG', `image label ${SIGNAL}=SIG is not one of ${list}`],
  ])('refuses the signal label %s, naming it and the list', (value, problem) => {
    expect(resolveStopPolicy({ [SIGNAL]: value }, 'SIGQUIT', settings)).toEqual({ ok: false, problem });
  });

  it.each([
    ['301', 'is above the maximum 300 (RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS)'],
    // Docker reads a negative timeout as "wait forever".
    ['-1', 'is below the minimum 0'],
    ['1.5', 'is not a whole number of seconds'],
    ['10s', 'is not a whole number of seconds'],
    ['forever', 'is not a whole number of seconds'],
  ])('refuses the timeout label %s', (value, why) => {
    expect(resolveStopPolicy({ [TIMEOUT]: value }, null, settings)).toEqual({ ok: false, problem: `image label ${TIMEOUT}=${value} ${why}` });
  });

  it('names every label refused, and the ceiling it was given', () => {
    expect(resolveStopPolicy({ [SIGNAL]: 'SIGKILL', [TIMEOUT]: '61' }, null, { stopTimeoutSeconds: 5, maxStopTimeoutSeconds: 60 })).toEqual({
      ok: false,
      problem: `image label ${SIGNAL}=SIGKILL is not one of ${list}; image label ${TIMEOUT}=61 is above the maximum 60 (RTMANAGER_CONTAINER_MAX_STOP_TIMEOUT_SECONDS)`,
    });
  });
});
