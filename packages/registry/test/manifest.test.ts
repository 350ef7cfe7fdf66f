import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  DOCKER_LIST,
  DOCKER_MANIFEST,
  OCI_INDEX,
  OCI_MANIFEST,
  parseContentRange,
  parseManifest,
  parsePlatform,
  rangeIsRest,
  RegistryError,
  retryAfterMs,
  DEFAULT_RETRY,
  selectManifest,
} from '@fstools/registry';
import type { ImageIndex } from '@fstools/registry';

// Manifests and indexes (OCI and Docker) read into typed values; damaged ones end in one line;
// platform selection from an index; the small header parsers the client relies on.

const d = (c: string) => `sha256:${c.repeat(64)}`;
const enc = (v: unknown) => new TextEncoder().encode(typeof v === 'string' ? v : JSON.stringify(v));
const manifestJson = {
  schemaVersion: 2,
  mediaType: OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: d('c'), size: 10 },
  layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: d('1'), size: 100, annotations: { a: 'b', n: 1 } }],
};
const entry = (platform: object | undefined, c: string, extra: object = {}) => ({ mediaType: OCI_MANIFEST, digest: d(c), size: 5, ...(platform && { platform }), ...extra });
const indexJson = {
  schemaVersion: 2,
  mediaType: OCI_INDEX,
  manifests: [
    entry({ os: 'linux', architecture: 'amd64' }, 'a'),
    entry({ os: 'linux', architecture: 'arm', variant: 'v6' }, 'b'),
    entry({ os: 'linux', architecture: 'arm', variant: 'v7' }, 'e'),
    entry({ os: 'linux', architecture: 'arm64', variant: 'v8' }, 'f'),
    entry({ os: 'unknown', architecture: 'unknown' }, '0', { annotations: { 'vnd.docker.reference.type': 'attestation-manifest' } }),
  ],
};

describe('parseManifest', () => {
  it('reads an OCI manifest and index, and the Docker types', () => {
    const { manifest } = parseManifest(enc(manifestJson), undefined, 'src');
    expect(manifest).toEqual({
      kind: 'manifest',
      mediaType: OCI_MANIFEST,
      config: manifestJson.config,
      layers: [{ ...manifestJson.layers[0], annotations: { a: 'b' } }],
    });
    const idx = parseManifest(enc(indexJson), OCI_INDEX, 'src').manifest as ImageIndex;
    expect(idx.kind).toBe('index');
    expect(idx.manifests[1]!.platform).toEqual({ os: 'linux', architecture: 'arm', variant: 'v6' });
    expect(parseManifest(enc({ ...manifestJson, mediaType: DOCKER_MANIFEST }), 'application/json', 's').manifest.mediaType).toBe(DOCKER_MANIFEST);
    // No mediaType in the document: the Content-Type, else the fields decide.
    const { mediaType: _, ...bare } = manifestJson;
    expect(parseManifest(enc(bare), DOCKER_MANIFEST, 's').manifest.mediaType).toBe(DOCKER_MANIFEST);
    expect(parseManifest(enc(bare), undefined, 's').manifest.mediaType).toBe(OCI_MANIFEST);
    expect(parseManifest(enc({ schemaVersion: 2, manifests: [] }), DOCKER_LIST, 's').manifest).toEqual({ kind: 'index', mediaType: DOCKER_LIST, manifests: [] });
  });

  it.each([
    ['{', 'manifest is not valid UTF-8 JSON'],
    [new Uint8Array([0x7b, 0xff, 0x7d]), 'manifest is not valid UTF-8 JSON'],
    ['[]', 'manifest is not a JSON object'],
    [{ schemaVersion: 1, name: 'x' }, 'manifest: Docker schema 1 manifests are not supported'],
    [{ ...manifestJson, schemaVersion: 3 }, 'manifest: schemaVersion is not 2'],
    [{ ...manifestJson, mediaType: 'application/vnd.other+json' }, "manifest: unsupported media type 'application/vnd.other+json'"],
    [{ ...manifestJson, layers: {} }, 'manifest: layers is not a list'],
    [{ ...manifestJson, config: undefined }, 'manifest: config: not a JSON object'],
    [{ ...manifestJson, layers: [{ digest: d('1'), size: 1 }] }, 'manifest: layers[0]: no mediaType'],
    [{ ...manifestJson, layers: [{ ...manifestJson.layers[0], digest: 'md5:00' }] }, "manifest: layers[0]: invalid or unsupported digest 'md5:00'"],
    [{ ...manifestJson, layers: [{ ...manifestJson.layers[0], size: 1.5 }] }, 'manifest: layers[0]: size is not a non-negative integer'],
    [{ ...indexJson, manifests: [{ ...indexJson.manifests[0], size: -1 }] }, 'manifest: manifests[0]: size is not a non-negative integer'],
  ])('refuses %j in one line', (doc, problem) => {
    const bytes = doc instanceof Uint8Array ? doc : enc(doc);
    expect(() => parseManifest(bytes, undefined, 'docker://r/x:1')).toThrow(`docker://r/x:1: ${problem}`);
  });

  it('damaged manifests and indexes end in a typed value or a one-line RegistryError', () => {
    const texts = [JSON.stringify(manifestJson), JSON.stringify(indexJson)];
    const damaged = fc.tuple(fc.constantFrom(...texts), fc.nat(), fc.string({ maxLength: 4, unit: 'binary' }), fc.constantFrom('replace', 'cut', 'insert')).map(([t, at, s, how]) => {
      const i = at % (t.length + 1);
      return how === 'cut' ? t.slice(0, i) : how === 'insert' ? t.slice(0, i) + s + t.slice(i) : t.slice(0, i) + s + t.slice(i + s.length);
    });
    const jsonish = fc.jsonValue().map((v) => JSON.stringify(v) ?? 'null');
    fc.assert(
      fc.property(fc.oneof(damaged, jsonish, fc.string({ unit: 'binary', maxLength: 80 })), fc.option(fc.constantFrom(OCI_MANIFEST, OCI_INDEX, DOCKER_LIST, 'text/plain'), { nil: undefined }), (text, type) => {
        try {
          const { manifest } = parseManifest(enc(text), type, 'src');
          expect(['manifest', 'index']).toContain(manifest.kind);
          for (const x of manifest.kind === 'index' ? manifest.manifests : [manifest.config, ...manifest.layers]) {
            expect(x.digest).toMatch(/^sha(256|512):[0-9a-f]+$/);
            expect(Number.isSafeInteger(x.size) && x.size >= 0).toBe(true);
          }
        } catch (err) {
          expect(err).toBeInstanceOf(RegistryError);
          expect((err as Error).message).not.toMatch(/[\n\r]/);
        }
      }),
      { numRuns: 3000 },
    );
  });
});

describe('selectManifest', () => {
  const index = parseManifest(enc(indexJson), undefined, 's').manifest as ImageIndex;
  const pick = (p?: string) => selectManifest(index, p === undefined ? undefined : parsePlatform(p), 'docker://r/x:1').digest;

  it('matches os/arch, the variant when asked for, defaults arm to v7 and arm64 to v8, aliases x86_64/aarch64', () => {
    expect(pick('linux/amd64')).toBe(d('a'));
    expect(pick('linux/x86_64')).toBe(d('a'));
    expect(pick('linux/arm/v6')).toBe(d('b'));
    expect(pick('linux/arm')).toBe(d('e'));
    expect(pick('linux/arm64')).toBe(d('f'));
    expect(pick('linux/aarch64/v8')).toBe(d('f'));
    expect(() => pick('linux/arm64/v9')).toThrow('docker://r/x:1: no image for platform linux/arm64/v9 (the index has: linux/amd64, linux/arm/v6, linux/arm/v7, linux/arm64/v8)');
    expect(() => pick('windows/amd64')).toThrow(RegistryError);
  });

  it('without a platform: the only image, else the host platform', () => {
    const one: ImageIndex = { ...index, manifests: [index.manifests[1]!, index.manifests[4]!] };
    expect(selectManifest(one, undefined, 's').digest).toBe(d('b'));
    if (process.arch === 'x64') expect(pick()).toBe(d('a'));
    const foreign: ImageIndex = { ...index, manifests: index.manifests.slice(1, 3) };
    if (process.arch === 'x64') expect(() => selectManifest(foreign, undefined, 's')).toThrow("no image for this host's platform linux/amd64 (the index has: linux/arm/v6, linux/arm/v7); choose one with --platform");
    expect(() => selectManifest({ ...index, manifests: [index.manifests[4]!] }, undefined, 's')).toThrow('the index lists no image manifest');
  });

  it('refuses a malformed --platform in one line', () => {
    for (const p of ['linux', 'linux/', 'a/b/c/d', 'linux/amd 64']) expect(() => parsePlatform(p)).toThrow(`--platform: expected os/arch[/variant], got '${p}'`);
  });
});

describe('header parsers', () => {
  it('Content-Range', () => {
    expect(parseContentRange('bytes 10-99/100')).toEqual({ first: 10, last: 99, complete: 100 });
    expect(parseContentRange('bytes 10-99/*')).toEqual({ first: 10, last: 99 });
    for (const bad of [null, 'bytes 10-9/100', 'bytes=10-99/100', 'items 1-2/3', 'bytes 1-2/3 x']) expect(parseContentRange(bad)).toBeUndefined();
    expect(rangeIsRest(parseContentRange('bytes 10-99/100'), 10, 100)).toBe(true);
    expect(rangeIsRest(parseContentRange('bytes 10-99/*'), 10, 100)).toBe(true);
    expect(rangeIsRest(parseContentRange('bytes 0-99/100'), 10, 100)).toBe(false);
    expect(rangeIsRest(parseContentRange('bytes 10-50/100'), 10, 100)).toBe(false);
    expect(rangeIsRest(parseContentRange('bytes 10-99/200'), 10, 100)).toBe(false);
  });

  it('Retry-After: seconds or an HTTP date, capped', () => {
    const policy = { ...DEFAULT_RETRY, maxRetryAfterMs: 30_000 };
    expect(retryAfterMs('1', policy)).toBe(1000);
    expect(retryAfterMs('3600', policy)).toBe(30_000);
    const now = Date.parse('2026-01-01T00:00:00Z');
    expect(retryAfterMs('Thu, 01 Jan 2026 00:00:05 GMT', policy, now)).toBe(5000);
    expect(retryAfterMs('Wed, 31 Dec 2025 00:00:00 GMT', policy, now)).toBe(0);
    for (const bad of [null, '', '-1', 'soon', '1.5']) expect(retryAfterMs(bad, policy)).toBeUndefined();
  });
});
