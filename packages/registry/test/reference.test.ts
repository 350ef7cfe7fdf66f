import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { apiHost, formatDockerReference, formatReference, parseDockerReference, parseReference, referenceName, RegistryError } from '@fstools/registry';
import type { DockerReference } from '@fstools/registry';

// References as skopeo and containerd write them, normalized as docker/reference does; the
// other transports as typed values; random and mutated text ends in a value or one line.

const D = `sha256:${'ab'.repeat(32)}`;

function dockerRef(registry: string, repository: string, extra: Partial<DockerReference> = {}): DockerReference {
  return { transport: 'docker', registry, repository, ...extra };
}

describe('docker references', () => {
  it.each([
    ['busybox', dockerRef('docker.io', 'library/busybox', { tag: 'latest' })],
    ['busybox:1.36', dockerRef('docker.io', 'library/busybox', { tag: '1.36' })],
    ['library/busybox', dockerRef('docker.io', 'library/busybox', { tag: 'latest' })],
    ['docker.io/busybox', dockerRef('docker.io', 'library/busybox', { tag: 'latest' })],
    ['index.docker.io/library/busybox:musl', dockerRef('docker.io', 'library/busybox', { tag: 'musl' })],
    ['user/app', dockerRef('docker.io', 'user/app', { tag: 'latest' })],
    [`busybox@${D}`, dockerRef('docker.io', 'library/busybox', { digest: D })],
    [`ghcr.io/org/team/app:v1@${D}`, dockerRef('ghcr.io', 'org/team/app', { tag: 'v1', digest: D })],
    ['localhost/app', dockerRef('localhost', 'app', { tag: 'latest' })],
    ['localhost:5000/app:dev', dockerRef('localhost:5000', 'app', { tag: 'dev' })],
    ['127.0.0.1:5000/a/b', dockerRef('127.0.0.1:5000', 'a/b', { tag: 'latest' })],
    ['[::1]:5000/app', dockerRef('[::1]:5000', 'app', { tag: 'latest' })],
    ['Registry.Example.COM/a__b.c-d---e:T_a.g-1', dockerRef('Registry.Example.COM', 'a__b.c-d---e', { tag: 'T_a.g-1' })],
    ['foo:5000', dockerRef('docker.io', 'library/foo', { tag: '5000' })],
  ])('%s', (text, want) => {
    expect(parseDockerReference(text)).toEqual(want);
    expect(parseReference(`docker://${text}`)).toEqual(want);
  });

  it('docker.io is pulled from registry-1.docker.io; other registries from themselves', () => {
    expect(apiHost('docker.io')).toBe('registry-1.docker.io');
    expect(apiHost('127.0.0.1:5000')).toBe('127.0.0.1:5000');
    expect(referenceName(parseDockerReference('busybox'))).toBe('docker://docker.io/library/busybox:latest');
  });

  it.each([
    ['', 'empty image reference'],
    ['Busybox', 'repository name must be lowercase'],
    ['ghcr.io/Org/app', 'repository name must be lowercase'],
    ['a'.repeat(64).replace(/a/g, 'f'), 'a 64-hex-digit image ID is not a repository name'],
    ['busybox:', 'invalid tag'],
    ['busybox:.x', 'invalid tag'],
    [`busybox:${'t'.repeat(129)}`, 'invalid tag'],
    ['busybox@sha256:abc', 'invalid digest'],
    [`busybox@md5:${'a'.repeat(32)}`, "unsupported digest algorithm 'md5'"],
    [`busybox@sha256:${'A'.repeat(64)}`, 'invalid sha256 digest length or case'],
    ['a//b', 'empty path component'],
    ['a/-b', "invalid repository name component '-b'"],
    ['host:port/x', "invalid registry name 'host:port'"],
    ['ex.com:99999/x', "invalid registry name 'ex.com:99999'"],
    ['ex.com/', 'no repository name'],
    [`ex.com/${'a'.repeat(250)}`, 'repository name longer than 255 characters'],
    ['a b', "invalid repository name component 'a b'"],
  ])('refuses %j in one line', (text, problem) => {
    expect(() => parseDockerReference(text)).toThrow(RegistryError);
    try {
      parseDockerReference(text);
    } catch (err) {
      expect((err as RegistryError).kind).toBe('reference');
      expect((err as Error).message).toContain(problem);
      expect((err as Error).message).not.toMatch(/\n/);
    }
  });
});

describe('transports', () => {
  it.each([
    ['oci:/tmp/layout', { transport: 'oci', path: '/tmp/layout' }],
    ['oci:layout:v1.2', { transport: 'oci', path: 'layout', image: 'v1.2' }],
    ['oci:layout:', { transport: 'oci', path: 'layout' }],
    ['oci:layout:@2', { transport: 'oci', path: 'layout', index: 2 }],
    ['oci:l:example.com/app:1.0', { transport: 'oci', path: 'l', image: 'example.com/app:1.0' }],
    ['oci-archive:img.tar:latest', { transport: 'oci-archive', path: 'img.tar', image: 'latest' }],
    ['docker-archive:save.tar', { transport: 'docker-archive', path: 'save.tar' }],
    ['docker-archive:save.tar:busybox', { transport: 'docker-archive', path: 'save.tar', ref: dockerRef('docker.io', 'library/busybox', { tag: 'latest' }) }],
    ['docker-archive:save.tar:@0', { transport: 'docker-archive', path: 'save.tar', index: 0 }],
    ['image.tar', { transport: 'path', path: 'image.tar' }],
    ['./oci:x', { transport: 'path', path: './oci:x' }],
    ['/abs/dir', { transport: 'path', path: '/abs/dir' }],
    ['my-thing:x', { transport: 'path', path: 'my-thing:x' }],
  ])('%s', (text, want) => {
    const got = parseReference(text);
    expect(got).toEqual(want);
    expect(parseReference(formatReference(got))).toEqual(got);
  });

  it.each([
    ['docker:busybox', 'docker: references start with docker://'],
    ['oci:', 'oci: needs a path'],
    ['oci:dir:@x', "invalid source index '@x'"],
    ['oci:dir:bad name', "invalid image name 'bad name'"],
    [`docker-archive:save.tar:busybox@${D}`, 'docker-archive: names images by tag, not digest'],
    ['containers-storage:busybox', 'the containers-storage: transport is not supported'],
    ['dir:/x', 'the dir: transport is not supported'],
  ])('refuses %j in one line', (text, problem) => {
    expect(() => parseReference(text)).toThrow(problem);
  });
});

const lower = fc.stringMatching(/^[a-z0-9]{1,8}$/);
const component = fc.tuple(lower, fc.array(fc.tuple(fc.constantFrom('.', '_', '__', '-', '--'), lower), { maxLength: 2 })).map(([a, rest]) => a + rest.map(([s, b]) => s + b).join(''));
const registry = fc.oneof(
  fc.constant('docker.io'),
  fc.constant('localhost'),
  fc.tuple(lower, lower).map(([a, b]) => `${a}.${b}`),
  fc.tuple(fc.stringMatching(/^[a-z][a-z0-9]{0,5}$/), fc.integer({ min: 1, max: 65535 })).map(([h, p]) => `${h}:${p}`),
  fc.integer({ min: 1, max: 65535 }).map((p) => `[::1]:${p}`),
);
const validRef = fc.record({
  registry,
  path: fc.array(component, { minLength: 1, maxLength: 3 }),
  tag: fc.option(fc.stringMatching(/^[A-Za-z0-9_][A-Za-z0-9_.-]{0,20}$/), { nil: undefined }),
  digest: fc.option(fc.stringMatching(/^[0-9a-f]{64}$/).map((h) => `sha256:${h}`), { nil: undefined }),
});

/** The value or a one-line RegistryError, never another exception. */
function valueOrOneLine<T>(f: () => T): T | RegistryError {
  try {
    return f();
  } catch (err) {
    expect(err).toBeInstanceOf(RegistryError);
    expect((err as Error).message).not.toMatch(/[\n\r]/);
    return err as RegistryError;
  }
}

describe('properties', () => {
  it('generated references parse, and format back to text that parses to the same value', () => {
    fc.assert(
      fc.property(validRef, (r) => {
        const text = `${r.registry === 'docker.io' && !/[.:]/.test(r.path[0]!) ? '' : `${r.registry}/`}${r.path.join('/')}${r.tag !== undefined ? `:${r.tag}` : ''}${r.digest !== undefined ? `@${r.digest}` : ''}`;
        const ref = parseDockerReference(text);
        expect(ref.digest).toBe(r.digest);
        expect(ref.tag).toBe(r.tag ?? (r.digest === undefined ? 'latest' : undefined));
        expect(parseDockerReference(formatDockerReference(ref))).toEqual(ref);
        expect(parseReference(formatReference(ref))).toEqual(ref);
      }),
      { numRuns: 500 },
    );
  });

  it('random text, and valid references with characters changed, end in a value or a one-line error', () => {
    const mutated = fc.tuple(validRef, fc.nat(), fc.string({ minLength: 1, maxLength: 3, unit: 'binary' })).map(([r, at, s]) => {
      const text = `docker://${r.registry}/${r.path.join('/')}:${r.tag ?? 'x'}`;
      const i = at % text.length;
      return text.slice(0, i) + s + text.slice(i + 1);
    });
    const prefixed = fc.tuple(fc.constantFrom('docker://', 'oci:', 'oci-archive:', 'docker-archive:', 'dir:', ''), fc.string({ unit: 'binary', maxLength: 60 })).map(([p, s]) => p + s);
    fc.assert(
      fc.property(fc.oneof(mutated, prefixed, fc.string({ unit: 'binary', maxLength: 300 })), (text) => {
        const got = valueOrOneLine(() => parseReference(text));
        if (!(got instanceof RegistryError)) expect(parseReference(formatReference(got))).toEqual(got);
        valueOrOneLine(() => parseDockerReference(text));
      }),
      { numRuns: 3000 },
    );
  });
});
