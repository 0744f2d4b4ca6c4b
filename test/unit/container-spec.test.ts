import { describe, expect, it } from 'vitest';
import { engineEnv, engineHardening, engineLabels, isOwnedBy, resolveLimits, unlimitedProblem } from '../../src/domain/container-spec.js';
import { failureIntent, idempotencyKey } from '../../src/domain/notification-intents.js';

const defaults = { defaultCpuQuota: 1, defaultMemory: '512m', defaultPidsLimit: 256, maxCpuQuota: 4, maxMemory: '8g', maxPidsLimit: 4096 };
const DEFAULT = { cpuQuota: 1, nanoCpus: 1e9, memory: '512m', memoryBytes: 512 * 1024 ** 2, pidsLimit: 256 };

describe('resolveLimits: image labels with configured fallbacks', () => {
  it.each([
    ['no labels', {}, DEFAULT],
    [
      'all labels',
      { 'com.galaxy.cpu_quota': '0.5', 'com.galaxy.memory': '64m', 'com.galaxy.pids_limit': '64' },
      { cpuQuota: 0.5, nanoCpus: 5e8, memory: '64m', memoryBytes: 64 * 1024 ** 2, pidsLimit: 64 },
    ],
    ['cpu 2.25', { 'com.galaxy.cpu_quota': '2.25' }, { ...DEFAULT, cpuQuota: 2.25, nanoCpus: 2.25e9 }],
    ['cpu text → default', { 'com.galaxy.cpu_quota': 'lots' }, DEFAULT],
    ['cpu empty → default', { 'com.galaxy.cpu_quota': '' }, DEFAULT],
    ['cpu Infinity → default', { 'com.galaxy.cpu_quota': 'Infinity' }, DEFAULT],
    ['cpu 1.5abc → default', { 'com.galaxy.cpu_quota': '1.5abc' }, DEFAULT],
    ['memory 1g', { 'com.galaxy.memory': '1g' }, { ...DEFAULT, memory: '1g', memoryBytes: 1024 ** 3 }],
    ['memory bytes', { 'com.galaxy.memory': '8388608' }, { ...DEFAULT, memory: '8388608', memoryBytes: 8388608 }],
    ['memory blank → default', { 'com.galaxy.memory': '   ' }, DEFAULT],
    ['memory text → default', { 'com.galaxy.memory': 'plenty' }, DEFAULT],
    ['pids 1', { 'com.galaxy.pids_limit': '1' }, { ...DEFAULT, pidsLimit: 1 }],
    ['pids 1.5 → default', { 'com.galaxy.pids_limit': '1.5' }, DEFAULT],
    ['pids text → default', { 'com.galaxy.pids_limit': 'many' }, DEFAULT],
    ['cpu at its maximum', { 'com.galaxy.cpu_quota': '4' }, { ...DEFAULT, cpuQuota: 4, nanoCpus: 4e9 }],
    ['memory at its maximum', { 'com.galaxy.memory': '8192m' }, { ...DEFAULT, memory: '8192m', memoryBytes: 8 * 1024 ** 3 }],
    ['pids at its maximum', { 'com.galaxy.pids_limit': '4096' }, { ...DEFAULT, pidsLimit: 4096 }],
    // Contract §14: the least each may ask for.
    ['cpu at its minimum', { 'com.galaxy.cpu_quota': '0.01' }, { ...DEFAULT, cpuQuota: 0.01, nanoCpus: 10_000_000 }],
    ['memory at its minimum', { 'com.galaxy.memory': '6m' }, { ...DEFAULT, memory: '6m', memoryBytes: 6291456 }],
    ['memory at its minimum, in bytes', { 'com.galaxy.memory': '6291456' }, { ...DEFAULT, memory: '6291456', memoryBytes: 6291456 }],
    ['pids at its minimum', { 'com.galaxy.pids_limit': '1' }, { ...DEFAULT, pidsLimit: 1 }],
    ['memory "-" alone → default', { 'com.galaxy.memory': '-' }, DEFAULT],
    // Unparseable stays a fallback (contract §8), however large it looks.
    ['memory 1 zettabyte → default', { 'com.galaxy.memory': '1z' }, DEFAULT],
  ])('%s', (_name, labels, expected) => {
    expect(resolveLimits(labels, defaults)).toEqual({ ok: true, limits: expected });
  });

  it.each([
    ['cpu', { 'com.galaxy.cpu_quota': '4.01' }, 'image label com.galaxy.cpu_quota=4.01 is above the maximum 4 (RTMANAGER_CONTAINER_MAX_CPU_QUOTA)'],
    [
      'cpu past the float range',
      { 'com.galaxy.cpu_quota': '1e400' },
      'image label com.galaxy.cpu_quota=1e400 is above the maximum 4 (RTMANAGER_CONTAINER_MAX_CPU_QUOTA)',
    ],
    [
      'memory 1p, which Docker would take as no limit',
      { 'com.galaxy.memory': '1p' },
      'image label com.galaxy.memory=1p is above the maximum 8g (RTMANAGER_CONTAINER_MAX_MEMORY)',
    ],
    [
      'memory one byte over',
      { 'com.galaxy.memory': String(8 * 1024 ** 3 + 1) },
      `image label com.galaxy.memory=${8 * 1024 ** 3 + 1} is above the maximum 8g (RTMANAGER_CONTAINER_MAX_MEMORY)`,
    ],
    [
      'memory past the safe integers',
      { 'com.galaxy.memory': '99999999p' },
      'image label com.galaxy.memory=99999999p is above the maximum 8g (RTMANAGER_CONTAINER_MAX_MEMORY)',
    ],
    ['pids', { 'com.galaxy.pids_limit': '100000' }, 'image label com.galaxy.pids_limit=100000 is above the maximum 4096 (RTMANAGER_CONTAINER_MAX_PIDS_LIMIT)'],
    [
      'pids past the safe integers',
      { 'com.galaxy.pids_limit': '9'.repeat(30) },
      `image label com.galaxy.pids_limit=${'9'.repeat(30)} is above the maximum 4096 (RTMANAGER_CONTAINER_MAX_PIDS_LIMIT)`,
    ],
  ])('refuses a parseable label above its maximum: %s', (_name, labels, problem) => {
    expect(resolveLimits(labels, defaults)).toEqual({ ok: false, problem });
  });

  it.each([
    ['cpu one step under', '0.0099', 'com.galaxy.cpu_quota'],
    ['cpu that rounds to NanoCpus 0', '0.0000000001', 'com.galaxy.cpu_quota'],
    ['cpu in exponent form', '1e-10', 'com.galaxy.cpu_quota'],
    ['cpu 0', '0', 'com.galaxy.cpu_quota'],
    ['cpu -1', '-1', 'com.galaxy.cpu_quota'],
  ])('refuses a parseable cpu label below the minimum, which Docker would read as no limit: %s', (_name, value, label) => {
    expect(resolveLimits({ [label]: value }, defaults)).toEqual({ ok: false, problem: `image label ${label}=${value} is below the minimum 0.01` });
  });

  it.each([
    ['one byte under 6m', '6291455'],
    ['5m', '5m'],
    ['0', '0'],
    ['0m', '0m'],
    ['-1 (no Docker size has a sign, but it asks for less)', '-1'],
    ['-512m', '-512m'],
  ])('refuses a parseable memory label below the minimum 6m: %s', (_name, value) => {
    expect(resolveLimits({ 'com.galaxy.memory': value }, defaults)).toEqual({
      ok: false,
      problem: `image label com.galaxy.memory=${value} is below the minimum 6m`,
    });
  });

  it.each(['0', '-1', '-3', '+0'])('refuses a parseable pids label below the minimum 1: %s', (value) => {
    expect(resolveLimits({ 'com.galaxy.pids_limit': value }, defaults)).toEqual({
      ok: false,
      problem: `image label com.galaxy.pids_limit=${value} is below the minimum 1`,
    });
  });

  it('refuses a default below its minimum, naming the variable (boot refuses it first)', () => {
    expect(resolveLimits({}, { ...defaults, defaultCpuQuota: 0.0099, defaultMemory: '6291455', defaultPidsLimit: 0 })).toEqual({
      ok: false,
      problem:
        'RTMANAGER_CONTAINER_DEFAULT_CPU_QUOTA=0.0099 is below the minimum 0.01; ' +
        'RTMANAGER_CONTAINER_DEFAULT_MEMORY=6291455 is below the minimum 6m; ' +
        'RTMANAGER_CONTAINER_DEFAULT_PIDS_LIMIT=0 is below the minimum 1',
    });
    // A label in bounds stands in for a default below its minimum.
    expect(resolveLimits({ 'com.galaxy.memory': '64m' }, { ...defaults, defaultMemory: '1m' })).toMatchObject({
      ok: true,
      limits: { memoryBytes: 64 * 1024 ** 2 },
    });
  });

  it('names every label above its maximum, and a refusal is not rescued by the other labels', () => {
    expect(resolveLimits({ 'com.galaxy.memory': '1p', 'com.galaxy.pids_limit': '100000', 'com.galaxy.cpu_quota': '0.5' }, defaults)).toEqual({
      ok: false,
      problem:
        'image label com.galaxy.memory=1p is above the maximum 8g (RTMANAGER_CONTAINER_MAX_MEMORY); ' +
        'image label com.galaxy.pids_limit=100000 is above the maximum 4096 (RTMANAGER_CONTAINER_MAX_PIDS_LIMIT)',
    });
    expect(resolveLimits({ 'com.galaxy.cpu_quota': '0', 'com.galaxy.memory': '1p', 'com.galaxy.pids_limit': '0' }, defaults)).toEqual({
      ok: false,
      problem:
        'image label com.galaxy.cpu_quota=0 is below the minimum 0.01; ' +
        'image label com.galaxy.memory=1p is above the maximum 8g (RTMANAGER_CONTAINER_MAX_MEMORY); ' +
        'image label com.galaxy.pids_limit=0 is below the minimum 1',
    });
  });

  it('the limits it resolves never mean "no limit" to Docker', () => {
    const resolved = resolveLimits({ 'com.galaxy.cpu_quota': '0.01', 'com.galaxy.memory': '6m', 'com.galaxy.pids_limit': '1' }, defaults);
    expect(resolved.ok && unlimitedProblem(resolved.limits)).toBe(null);
  });

  it('refuses a default or maximum memory that is not a Docker size (config would have caught it)', () => {
    expect(() => resolveLimits({}, { ...defaults, defaultMemory: 'lots' })).toThrow(/not a Docker size/);
    expect(() => resolveLimits({}, { ...defaults, maxMemory: 'lots' })).toThrow(/not a Docker size/);
  });
});

describe("unlimitedProblem: the adapters' last word before the daemon", () => {
  const least = { nanoCpus: 10_000_000, memoryBytes: 6 * 1024 ** 2, pidsLimit: 1 };

  it('lets the least limits Docker applies through', () => {
    expect(unlimitedProblem(least)).toBeNull();
  });

  it.each([
    [{ nanoCpus: 0 }, 'NanoCpus 0 is below 10000000'],
    [{ nanoCpus: 9_999_999 }, 'NanoCpus 9999999 is below 10000000'],
    [{ nanoCpus: Number.NaN }, 'NanoCpus NaN is below 10000000'],
    [{ memoryBytes: 0 }, 'Memory 0 is below 6291456'],
    [{ memoryBytes: 6 * 1024 ** 2 - 1 }, 'Memory 6291455 is below 6291456'],
    [{ pidsLimit: 0 }, 'PidsLimit 0 is below 1'],
    [{ pidsLimit: -1 }, 'PidsLimit -1 is below 1'],
  ])('refuses %j', (over, problem) => {
    expect(unlimitedProblem({ ...least, ...over })).toBe(`refused to run an engine without limits: ${problem}`);
  });

  it('names every limit missing', () => {
    expect(unlimitedProblem({ nanoCpus: 0, memoryBytes: 0, pidsLimit: 0 })).toBe(
      'refused to run an engine without limits: NanoCpus 0 is below 10000000, Memory 0 is below 6291456, PidsLimit 0 is below 1',
    );
  });
});

describe('container identity', () => {
  it('sets both the configured state env name and STORAGE_PATH', () => {
    expect(engineEnv('/data', 'ENGINE_DIR')).toEqual({ ENGINE_DIR: '/data', STORAGE_PATH: '/data' });
  });

  it('labels the container with owner, kind, game, image and start time', () => {
    expect(engineLabels('g1', 'img:1', new Date(1700000000123))).toEqual({
      'com.galaxy.owner': 'rtmanager',
      'com.galaxy.kind': 'game-engine',
      'com.galaxy.game_id': 'g1',
      'com.galaxy.engine_image_ref': 'img:1',
      'com.galaxy.started_at_ms': '1700000000123',
    });
  });

  it('owns only containers with our owner label and this game', () => {
    expect(isOwnedBy({ 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': 'g1' }, 'g1')).toBe(true);
    expect(isOwnedBy({ 'com.galaxy.owner': 'rtmanager', 'com.galaxy.game_id': 'g2' }, 'g1')).toBe(false);
    expect(isOwnedBy({ 'com.galaxy.game_id': 'g1' }, 'g1')).toBe(false);
  });
});

describe('engineHardening (contract §12)', () => {
  const settings = { capDrop: ['ALL'], capAdd: ['NET_BIND_SERVICE'], readOnlyRootfs: true, tmpfsSizeBytes: 64 * 1024 ** 2, user: '65534:65534' };

  it('gives a read-only engine a size-capped /tmp to write scratch files', () => {
    expect(engineHardening(settings)).toEqual({
      capDrop: ['ALL'],
      capAdd: ['NET_BIND_SERVICE'],
      readOnlyRootfs: true,
      scratchMounts: [{ mountPath: '/tmp', sizeBytes: 64 * 1024 ** 2 }],
      user: '65534:65534',
    });
  });

  it('leaves a writable root its own /tmp, and the image its own user', () => {
    expect(engineHardening({ ...settings, readOnlyRootfs: false, user: null })).toMatchObject({ readOnlyRootfs: false, scratchMounts: [], user: null });
  });
});

describe('notification intents', () => {
  it('keys an intent by type, game and attempt time', () => {
    expect(idempotencyKey('runtime.image_pull_failed', 'g-7', 1764072000000)).toBe('runtime.image_pull_failed.g-7.1764072000000');
  });

  it('builds the admin payload of contract §6', () => {
    const at = new Date(1764072000000);
    expect(
      failureIntent({
        type: 'runtime.container_start_failed',
        gameId: 'g-7',
        imageRef: 'img:1',
        errorCode: 'container_start_failed',
        errorMessage: 'boom',
        attemptedAt: at,
      }),
    ).toEqual({
      notificationType: 'runtime.container_start_failed',
      idempotencyKey: 'runtime.container_start_failed.g-7.1764072000000',
      audience: 'admin',
      occurredAt: at,
      payload: { game_id: 'g-7', image_ref: 'img:1', error_code: 'container_start_failed', error_message: 'boom', attempted_at_ms: 1764072000000 },
    });
  });
});
