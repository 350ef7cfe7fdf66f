import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DOCKER_MANIFEST,
  hostPlatform,
  MANIFEST_ACCEPT,
  OCI_INDEX,
  OCI_MANIFEST,
  parseDockerReference,
  RegistryClient,
  withDigest,
} from '@fstools/registry';
import type { RegistryEvent } from '@fstools/registry';
import { collect } from '../../../test/helpers/streams.js';
import { oneLineError } from './helpers/errors.js';
import type { Pushed } from './helpers/images.js';
import { pushAll } from './helpers/images.js';
import type { RegistryServer } from './helpers/registry-server.js';
import { haveRegistry, haveSkopeo, startRegistry } from './helpers/registry-server.js';
import type { Proxy } from './helpers/servers.js';
import { startProxy } from './helpers/servers.js';

// Pulls from Debian's docker-registry (distribution 2.8) on loopback, of images skopeo pushed:
// an OCI image, a Docker schema 2 image (from the docker-save fixture) and a two-platform OCI
// index. Every byte is compared with what the registry stores.

const ready = haveRegistry && haveSkopeo;

describe.runIf(ready)('pulling from a real registry', () => {
  let work: string;
  let registry: RegistryServer;
  let pushed: Pushed;
  let proxy: Proxy;
  const client = new RegistryClient({ tlsVerify: false });

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'registry-pull-'));
    registry = await startRegistry();
    pushed = await pushAll(registry, work);
    proxy = await startProxy(registry.host);
  });
  afterAll(async () => {
    await client.close();
    await proxy?.close();
    await registry?.stop();
    rmSync(work, { recursive: true, force: true });
  });

  const ref = (name: string) => `docker://${registry.host}/${name}`;

  it('resolves an OCI image by tag; config and every layer stream verified, byte for byte what the registry stores', async () => {
    const img = await client.resolveImage(ref('big:v1'));
    const layoutManifest = pushed.big.index.manifests[0]!;
    expect(img.manifest.mediaType).toBe(OCI_MANIFEST);
    expect(img.manifest.digest).toBe(layoutManifest.digest);
    expect(Buffer.from(img.manifest.bytes).equals(pushed.big.blob(layoutManifest.digest))).toBe(true);
    expect(img.pinned).toEqual({ transport: 'docker', registry: registry.host, repository: 'big', digest: layoutManifest.digest });
    expect(img.index).toBeUndefined();
    expect(img.platform).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(Buffer.from(img.config.bytes).equals(registry.blob(img.config.descriptor.digest))).toBe(true);
    expect(img.layers.map((l) => l.digest)).toEqual((JSON.parse(pushed.big.blob(layoutManifest.digest).toString()) as { layers: { digest: string }[] }).layers.map((l) => l.digest));
    for (const layer of img.layers) {
      const bytes = await collect(client.openBlob(img.reference, layer));
      expect(bytes.length).toBe(layer.size);
      expect(bytes.equals(registry.blob(layer.digest))).toBe(true);
      expect(bytes.equals(pushed.big.blob(layer.digest))).toBe(true);
    }
    expect(img.layers[0]!.size).toBeGreaterThan(3 << 20);
  });

  it('pins by digest end to end: repo@sha256 resolves to the same image; another digest is a one-line not-found', async () => {
    const byTag = await client.resolveImage(ref('big:v1'));
    const pinned = await client.resolveImage(byTag.pinned);
    expect(pinned.manifest.digest).toBe(byTag.manifest.digest);
    expect(pinned.layers).toEqual(byTag.layers);
    const text = `docker://${registry.host}/big@${byTag.manifest.digest}`;
    expect((await client.resolveImage(text)).manifest.digest).toBe(byTag.manifest.digest);
    const other = withDigest(parseDockerReference(`${registry.host}/big`), `sha256:${'0'.repeat(64)}`);
    const err = await oneLineError(client.getManifest(other), 'not-found', `docker://${registry.host}/big@sha256:${'0'.repeat(64)}`);
    expect(err.message).toMatch(/not found \(404/);
    expect(err.status).toBe(404);
  });

  it('reads Docker schema 2 media types (a docker-archive pushed by skopeo)', async () => {
    const img = await client.resolveImage(ref('sample'));
    expect(img.reference.tag).toBe('latest');
    expect(img.manifest.mediaType).toBe(DOCKER_MANIFEST);
    expect(img.config.descriptor.mediaType).toBe('application/vnd.docker.container.image.v1+json');
    expect(img.layers.length).toBeGreaterThan(0);
    for (const layer of img.layers) {
      expect(layer.mediaType).toBe('application/vnd.docker.image.rootfs.diff.tar.gzip');
      expect((await collect(client.openBlob(img.reference, layer))).equals(registry.blob(layer.digest))).toBe(true);
    }
    expect((img.config.json.rootfs as { diff_ids: string[] }).diff_ids.length).toBe(img.layers.length);
  });

  it('selects a platform from a multi-platform OCI index and fetches the manifest the index names, checked against it', async () => {
    const nested = pushed.multi.index.manifests[0]!;
    const arm = await client.resolveImage(ref('multi'), { platform: 'linux/arm64' });
    expect(arm.index?.mediaType).toBe(OCI_INDEX);
    expect(arm.index?.digest).toBe(nested.digest);
    expect(arm.platform).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(gunzipSync(await collect(client.openBlob(arm.reference, arm.layers[0]!))).includes('arm64\n')).toBe(true);
    const amd = await client.resolveImage(ref('multi'), { platform: { os: 'linux', architecture: 'amd64' } });
    expect(amd.platform?.architecture).toBe('amd64');
    expect(amd.manifest.digest).not.toBe(arm.manifest.digest);
    expect((await client.resolveImage(ref('multi'), { platform: 'linux/arm64/v8' })).manifest.digest).toBe(arm.manifest.digest);
    // No platform: the host's.
    const mine = await client.resolveImage(ref('multi'));
    expect(mine.platform?.architecture).toBe(hostPlatform().architecture === 'arm64' ? 'arm64' : 'amd64');
    const none = await oneLineError(client.resolveImage(ref('multi'), { platform: 'linux/s390x' }), 'not-found', ref('multi:latest'));
    expect(none.message).toContain('no image for platform linux/s390x (the index has: linux/amd64, linux/arm64/v8)');
    await oneLineError(client.resolveImage(ref('multi'), { platform: 'linux/arm64/v7' }), 'not-found');
    // A single-manifest image must be of the platform asked for.
    const wrong = await oneLineError(client.resolveImage(ref('big:v1'), { platform: 'linux/arm64' }), 'not-found');
    expect(wrong.message).toContain('the image is for linux/amd64, not the requested linux/arm64');
    // getManifest of the index itself: the typed view lists both.
    const index = await client.getManifest(ref('multi'));
    expect(index.manifest.kind === 'index' && index.manifest.manifests.map((d) => d.platform?.architecture)).toEqual(['amd64', 'arm64']);
  });

  it('asks for OCI and Docker manifests and indexes in Accept; keeps connections alive; pulls blobs in parallel', async () => {
    const events: RegistryEvent[] = [];
    const viaProxy = new RegistryClient({ tlsVerify: false, onEvent: (e) => events.push(e) });
    try {
      const r = `docker://${proxy.host}/big:v1`;
      const img = await viaProxy.resolveImage(r);
      const manifestRequest = proxy.requests.find((q) => q.url.includes('/manifests/'))!;
      for (const type of MANIFEST_ACCEPT) expect(manifestRequest.headers.accept).toContain(type);
      expect(events.find((e) => e.type === 'scheme')).toEqual({ type: 'scheme', registry: proxy.host, origin: `http://${proxy.host}` });
      // One HTTPS attempt (refused by the plain-HTTP proxy), then one kept-alive HTTP connection.
      const before = proxy.connections;
      for (let i = 0; i < 3; i++) for (const layer of img.layers) await collect(viaProxy.openBlob(r, layer));
      expect(proxy.connections - before).toBeLessThanOrEqual(1);
      expect(proxy.connections).toBeLessThanOrEqual(3);
      const all = [...img.layers, img.config.descriptor, ...img.layers];
      const got = await Promise.all(all.map((d) => collect(viaProxy.openBlob(r, d))));
      got.forEach((b, i) => expect(b.equals(registry.blob(all[i]!.digest))).toBe(true));
      expect(proxy.requests.filter((q) => q.url.includes('/blobs/')).length).toBe(1 + 6 + all.length);
    } finally {
      await viaProxy.close();
    }
  });

  it('a missing tag, repository or blob is a one-line not-found naming the reference', async () => {
    const tag = await oneLineError(client.getManifest(ref('big:nope')), 'not-found', ref('big:nope'));
    expect(tag.message).toBe(`${ref('big:nope')}: manifest for tag 'nope': not found (404: MANIFEST_UNKNOWN: manifest unknown)`);
    const repo = await oneLineError(client.resolveImage(ref('no/such/repo')), 'not-found', ref('no/such/repo:latest'));
    expect(repo.message).toMatch(/NAME_UNKNOWN|MANIFEST_UNKNOWN/);
    const blob = await oneLineError(collect(client.openBlob(ref('big:v1'), { digest: `sha256:${'1'.repeat(64)}`, size: 10 })), 'not-found', ref('big:v1'));
    expect(blob.message).toContain(`blob sha256:${'1'.repeat(64)}: not found (404`);
  });

  it('streams with ReadableStream.from and resumes a download from an offset given the bytes before it', async () => {
    const img = await client.resolveImage(ref('big:v1'));
    const layer = img.layers[0]!;
    const whole = registry.blob(layer.digest);
    const chunks: Uint8Array[] = [];
    for await (const c of ReadableStream.from(client.openBlob(img.reference, layer))) chunks.push(c);
    expect(Buffer.concat(chunks).equals(whole)).toBe(true);
    const at = 1_000_003;
    const rest = await collect(client.openBlob(img.reference, layer, { offset: at, prefix: whole.subarray(0, at) }));
    expect(Buffer.concat([whole.subarray(0, at), rest]).equals(whole)).toBe(true);
    // A wrong prefix makes the digest fail at the end.
    const bad = Buffer.from(whole.subarray(0, at));
    bad[7] ^= 1;
    const err = await oneLineError(collect(client.openBlob(img.reference, layer, { offset: at, prefix: bad })), 'integrity');
    expect(err.message).toContain('digest mismatch');
  });
});
