import { describe, expect, it } from 'vitest';
import { imageRefProblem, parseImageRef, pulledDigest, registryHost } from '../../src/domain/image-ref.js';

const HEX64 = 'a'.repeat(64);

describe('parseImageRef: accepted as ParseNormalizedNamed accepts them', () => {
  it.each([
    ['ubuntu', 'docker.io/library/ubuntu'],
    ['ubuntu:22.04', 'docker.io/library/ubuntu:22.04'],
    ['library/ubuntu', 'docker.io/library/ubuntu'],
    ['docker.io/ubuntu', 'docker.io/library/ubuntu'],
    ['index.docker.io/ubuntu', 'docker.io/library/ubuntu'],
    ['index.docker.io/team/app:1', 'docker.io/team/app:1'],
    ['galaxy-test-engine:labelled', 'docker.io/library/galaxy-test-engine:labelled'],
    ['galaxy-test-engine:labelled-v2', 'docker.io/library/galaxy-test-engine:labelled-v2'],
    ['localhost/app', 'localhost/app'],
    ['localhost:5000/a/b:tag', 'localhost:5000/a/b:tag'],
    ['registry.galaxy.test/engines/galaxy:1.4.2', 'registry.galaxy.test/engines/galaxy:1.4.2'],
    ['Registry.Example.COM/app', 'Registry.Example.COM/app'],
    ['my-registry:443/x/y/z', 'my-registry:443/x/y/z'],
    ['[::1]:5000/x', '[::1]:5000/x'],
    ['[2001:db8::1]/app:v1', '[2001:db8::1]/app:v1'],
    ['a.b/c__d/e--f/g.h_i:T_A.G-1', 'a.b/c__d/e--f/g.h_i:T_A.G-1'],
    ['app@sha256:' + 'b'.repeat(64), 'docker.io/library/app@sha256:' + 'b'.repeat(64)],
    ['app:1@sha256:' + 'c'.repeat(64), 'docker.io/library/app:1@sha256:' + 'c'.repeat(64)],
    ['app@sha512:' + 'd'.repeat(128), 'docker.io/library/app@sha512:' + 'd'.repeat(128)],
    ['x:' + 'T'.repeat(128), 'docker.io/library/x:' + 'T'.repeat(128)],
    ['a'.repeat(63) + 'z', 'docker.io/library/' + 'a'.repeat(63) + 'z'],
    ['team/' + 'a'.repeat(64), 'docker.io/team/' + 'a'.repeat(64)],
    ['0', 'docker.io/library/0'],
  ])('%s', (ref, normalized) => {
    const parsed = parseImageRef(ref);
    expect(parsed).toMatchObject({ ok: true, value: { normalized } });
  });

  it('splits domain, path, tag and digest', () => {
    expect(parseImageRef(`localhost:5000/a/b:v1@sha256:${'e'.repeat(64)}`)).toEqual({
      ok: true,
      value: {
        domain: 'localhost:5000',
        path: 'a/b',
        tag: 'v1',
        digest: `sha256:${'e'.repeat(64)}`,
        normalized: `localhost:5000/a/b:v1@sha256:${'e'.repeat(64)}`,
      },
    });
  });
});

describe('parseImageRef: refused as ParseNormalizedNamed refuses them', () => {
  it.each([
    ['', 'invalid reference format'],
    [' ', 'invalid reference format'],
    ['ubuntu ', 'invalid reference format'],
    ['UPPER', 'repository name (library/UPPER) must be lowercase'],
    ['Registry/UPPER:tag', 'must be lowercase'],
    ['registry.io/Team/app', 'repository name (Team/app) must be lowercase'],
    ['a:b:c', 'invalid reference format'],
    ['a:', 'invalid reference format'],
    [':tag', 'invalid reference format'],
    ['a/', 'invalid reference format'],
    ['/a', 'invalid reference format'],
    ['a//b', 'invalid reference format'],
    ['-a', 'invalid reference format'],
    ['a-', 'invalid reference format'],
    ['a..b', 'invalid reference format'],
    ['a___b', 'invalid reference format'],
    ['a:-tag', 'invalid reference format'],
    ['a:' + 't'.repeat(129), 'invalid reference format'],
    ['a@sha256:short', 'invalid reference format'],
    ['a@sha256:' + 'b'.repeat(63), 'invalid checksum digest length'],
    ['a@sha256:' + 'B'.repeat(64), 'invalid checksum digest format'],
    ['a@md5:' + 'b'.repeat(32), 'unsupported digest algorithm'],
    [HEX64, 'cannot specify 64-byte hexadecimal strings'],
    ['localhost:port/a', 'invalid reference format'],
    ['-host.io/a', 'invalid reference format'],
    ['[::1/a', 'invalid reference format'],
    ['a b', 'invalid reference format'],
    ['a/b\n', 'invalid reference format'],
    ['../../etc/passwd', 'invalid reference format'],
    ['a;rm -rf', 'invalid reference format'],
    ['registry.io/' + 'a'.repeat(244), 'must not be more than 255 characters'],
    ['x'.repeat(247), 'must not be more than 255 characters'],
  ])('%j → %s', (ref, reason) => {
    const parsed = parseImageRef(ref);
    expect(parsed.ok).toBe(false);
    if (!parsed.ok) expect(parsed.reason).toContain(reason);
  });

  it('counts the 255 characters on the normalised name, as the engine does', () => {
    // docker.io/library/ + 237 = 255: the longest official name.
    expect(parseImageRef('x'.repeat(237)).ok).toBe(true);
    expect(parseImageRef('x'.repeat(238)).ok).toBe(false);
  });
});

describe('registryHost: where Docker pulls a ref from', () => {
  it.each([
    ['ubuntu', 'docker.io'],
    ['library/ubuntu:22.04', 'docker.io'],
    ['team/app', 'docker.io'],
    ['team/sub/app:1', 'docker.io'],
    ['docker.io/team/app', 'docker.io'],
    ['index.docker.io/team/app', 'docker.io'],
    ['registry-1.docker.io/team/app', 'docker.io'],
    ['localhost/app', 'localhost'],
    ['localhost:5000/app', 'localhost:5000'],
    ['127.0.0.1:15000/galaxy-test/engine:v1', '127.0.0.1:15000'],
    ['registry.galaxy.test/engines/galaxy:1.4.2', 'registry.galaxy.test'],
    ['Registry.Example.COM/app', 'registry.example.com'],
    ['my-registry:443/x/y', 'my-registry:443'],
    ['[::1]:5000/x', '[::1]:5000'],
    [`app@sha256:${HEX64}`, 'docker.io'],
  ])('%s → %s', (ref, host) => {
    const parsed = parseImageRef(ref);
    expect(parsed.ok).toBe(true);
    if (parsed.ok) expect(registryHost(parsed.value)).toBe(host);
  });
});

describe('imageRefProblem: the grammar and the allowed registries', () => {
  it('allows any registry when the list is empty, and still checks the grammar', () => {
    expect(imageRefProblem('anything.example/app:1', [])).toBeNull();
    expect(imageRefProblem('Bad/Ref', [])).toMatch(/^invalid image_ref: /);
    expect(imageRefProblem('Bad/Ref', ['docker.io'])).toMatch(/^invalid image_ref: /);
  });

  it.each([
    ['ubuntu', ['docker.io']],
    ['team/app', ['index.docker.io']],
    ['registry-1.docker.io/team/app', ['docker.io']],
    ['127.0.0.1:15000/a/b:1', ['docker.io', '127.0.0.1:15000']],
    ['REGISTRY.example/app', ['registry.EXAMPLE']],
    ['localhost/app', ['localhost']],
  ])('allows %s with %j', (ref, allowed) => {
    expect(imageRefProblem(ref, allowed)).toBeNull();
  });

  it.each([
    ['ubuntu', ['registry.example'], 'docker.io'],
    ['127.0.0.1:15000/a/b:1', ['127.0.0.1'], '127.0.0.1:15000'],
    ['127.0.0.1/a/b:1', ['127.0.0.1:15000'], '127.0.0.1'],
    ['localhost:5000/app', ['localhost'], 'localhost:5000'],
    ['evil.example/docker.io/app', ['docker.io'], 'evil.example'],
  ])('refuses %s with %j, naming the registry and the list', (ref, allowed, registry) => {
    expect(imageRefProblem(ref, allowed)).toBe(`image registry "${registry}" is not allowed (RTMANAGER_ALLOWED_REGISTRIES: ${allowed.join(', ')})`);
  });
});

describe('pulledDigest: the repo digest an image was pulled by, else its id', () => {
  const ID = `sha256:${'1'.repeat(64)}`;
  const D1 = `sha256:${'2'.repeat(64)}`;
  const D2 = `sha256:${'3'.repeat(64)}`;

  it.each([
    ['a local build (no repo digests): its id', 'galaxy-test-engine:labelled', [], ID],
    ['the entry of its own repository', '127.0.0.1:15000/team/app:v1', [`127.0.0.1:15000/other@${D2}`, `127.0.0.1:15000/team/app@${D1}`], D1],
    ['Docker Hub, whichever way either side spells it', 'index.docker.io/library/ubuntu:22.04', [`ubuntu@${D1}`], D1],
    ['another repository only: its id', '127.0.0.1:15000/team/app:v1', [`127.0.0.1:15000/team/other@${D2}`, `registry.example/team/app@${D1}`], ID],
    ['a ref that pins a digest: that digest', `127.0.0.1:15000/team/app@${D2}`, [`127.0.0.1:15000/team/app@${D1}`], D2],
    ['a ref that does not parse: its id', 'Not A Ref', [`x@${D1}`], ID],
  ])('%s', (_name, ref, repoDigests, expected) => {
    expect(pulledDigest(ref, { id: ID, repoDigests })).toBe(expected);
  });
});
