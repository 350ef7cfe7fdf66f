import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
// @ts-expect-error: plain JS tool
import { buildImage } from '../../../../tools/oci-fixture.mjs';
import type { RegistryServer } from './registry-server.js';
import { skopeoCopy } from './registry-server.js';

// The images the registry tests push: OCI layouts built by tools/oci-fixture.mjs from layer specs
// (gzip layers, so skopeo pushes the blobs as they are), and the committed docker-save archive.

export const repoRoot = resolve(import.meta.dirname, '../../../..');
export const sampleArchive = join(repoRoot, 'fixtures/sample-image.tar');

/** `n` bytes that look random (so gzip keeps them about as large), the same every run. */
export function noise(n: number, seed: string): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0, block = 0; i < n; block++) {
    const h = createHash('sha256').update(`${seed}/${block}`).digest();
    i += h.copy(out, i);
  }
  return out;
}

export interface Layout {
  dir: string;
  /** index.json's manifests (the image itself, or one nested index). */
  index: { manifests: { digest: string; mediaType: string; platform?: { os: string; architecture: string; variant?: string } }[] };
  blob(digest: string): Buffer;
}

function layout(dir: string): Layout {
  return {
    dir,
    index: JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as Layout['index'],
    blob: (digest) => readFileSync(join(dir, 'blobs/sha256', digest.slice(7))),
  };
}

/** One linux/amd64 image: a ~3 MiB layer (for mid-blob faults), then a small one. */
export async function bigImage(dir: string): Promise<Layout> {
  await buildImage(
    [
      {
        platform: 'linux/amd64',
        layers: [
          { compression: 'gzip', entries: [{ path: 'big.bin', data: noise(3 << 20, 'big') }] },
          { compression: 'gzip', entries: [{ path: 'etc', type: 'dir' }, { path: 'etc/hostname', data: 'registry-test\n' }] },
        ],
      },
    ],
    dir,
    'oci',
  );
  return layout(dir);
}

/** A two-platform image (linux/amd64, linux/arm64/v8) behind one nested index, as skopeo --all copies it. */
export async function multiPlatformImage(dir: string): Promise<Layout> {
  await buildImage(
    [
      { platform: 'linux/amd64', layers: [{ compression: 'gzip', entries: [{ path: 'arch', data: 'amd64\n' }] }] },
      { platform: 'linux/arm64/v8', layers: [{ compression: 'gzip', entries: [{ path: 'arch', data: 'arm64\n' }] }] },
    ],
    dir,
    'oci',
    { nestedIndex: true },
  );
  return layout(dir);
}

export interface Pushed {
  big: Layout;
  multi: Layout;
}

/** Pushes big:v1, multi:latest (with --all) and sample:latest (Docker media types) into a registry. */
export async function pushAll(registry: RegistryServer, work: string, creds?: string): Promise<Pushed> {
  const big = await bigImage(join(work, 'big'));
  const multi = await multiPlatformImage(join(work, 'multi'));
  const opts = creds ? { creds } : {};
  skopeoCopy(`oci:${big.dir}`, `docker://${registry.host}/big:v1`, opts);
  skopeoCopy(`oci:${multi.dir}`, `docker://${registry.host}/multi:latest`, { ...opts, all: true });
  skopeoCopy(`docker-archive:${sampleArchive}`, `docker://${registry.host}/sample:latest`, opts);
  return { big, multi };
}
