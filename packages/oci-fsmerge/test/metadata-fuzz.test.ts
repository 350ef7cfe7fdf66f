import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '@fstools/fstree';
import { fsmerge } from '@fstools/oci-fsmerge';
import { runs } from '../../../test/helpers/arbitrary-tree.js';
import { scratchDir } from '../../../test/helpers/erofs-oracles.js';
import { fsckMerged } from './helpers/judge.js';
// @ts-expect-error: plain JS tool
import { buildImage } from '../../../tools/oci-fixture.mjs';

// Damaged image metadata (index, manifest, config, docker-save manifest.json): one value anywhere
// in a document replaced by any JSON value, or removed, with the digests above it made right
// again so the damage reaches the parser. fsmerge either merges the image or refuses it with a
// one-line InputError naming the image; it never throws anything else and never writes fsmeta
// when it refuses. What it merges, fsck.erofs 1.5 checks.

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
type Path = Array<string | number>;

const dir = scratchDir('fsmerge-metadata-fuzz');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const blobs = join(dir, 'blobs'); // shared: layer images converted once are reused after checks
let n = 0;

/** Every path to a value in a document, the root's included. */
function pathsOf(v: Json, at: Path = []): Path[] {
  const out: Path[] = [at];
  if (Array.isArray(v)) v.forEach((x, i) => out.push(...pathsOf(x, [...at, i])));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) out.push(...pathsOf(x, [...at, k]));
  return out;
}

/** A copy of `doc` with the value at `path` replaced (or removed: `value` undefined). */
function mutate(doc: Json, path: Path, value: Json | undefined): Json {
  if (path.length === 0) return value === undefined ? null : value;
  const copy = structuredClone(doc) as Record<string | number, Json>;
  let parent = copy;
  for (const k of path.slice(0, -1)) parent = parent[k] as Record<string | number, Json>;
  const last = path[path.length - 1]!;
  if (value !== undefined) parent[last] = value;
  else if (Array.isArray(parent)) parent.splice(last as number, 1);
  else delete parent[last];
  return copy;
}

/** Writes a blob into an image layout; returns its descriptor fields. */
function putBlob(image: string, bytes: Buffer): { digest: string; size: number } {
  const hex = createHash('sha256').update(bytes).digest('hex');
  writeFileSync(join(image, 'blobs/sha256', hex), bytes);
  return { digest: `sha256:${hex}`, size: bytes.length };
}

/**
 * A copy of an image directory: the blobs hard-linked (never written in place: a changed
 * document is a new blob), the top-level files copied (they are rewritten).
 */
function copyImage(from: string, to: string): void {
  mkdirSync(to, { recursive: true });
  for (const rel of readdirSync(from, { recursive: true, encoding: 'utf8' })) {
    if (statSync(join(from, rel)).isDirectory()) mkdirSync(join(to, rel), { recursive: true });
    else if (rel.includes('/')) linkSync(join(from, rel), join(to, rel));
    else copyFileSync(join(from, rel), join(to, rel));
  }
}

const jsonValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 2 ** 60, '', 'sha256:', 'layers', 'linux', 'application/vnd.oci.image.manifest.v1+json', '../../etc/passwd'),
  fc.string({ maxLength: 8 }),
  fc.integer(),
  fc.jsonValue({ maxDepth: 2 }) as fc.Arbitrary<Json>,
);

/** The message of the last refusal expectMergedOrRefused saw. */
let lastRefusal = '';

async function expectMergedOrRefused(image: string): Promise<void> {
  lastRefusal = '';
  const output = join(dir, `out-${n++}`, 'fsmeta.erofs');
  try {
    const r = await fsmerge({ image }, { output, blobDir: blobs, parallel: 1 });
    fsckMerged(output, r.devices.slice(1));
  } catch (err) {
    if (!(err instanceof InputError)) throw err;
    lastRefusal = err.message;
    expect(err.message.startsWith(`${image}: `)).toBe(true);
    expect(err.message).not.toContain('\n');
    expect(existsSync(output)).toBe(false);
  } finally {
    rmSync(join(output, '..'), { recursive: true, force: true });
  }
}

/** Damages a copy of the image (`damage` rewrites its files), judges it, removes it. */
async function judgeCopy(from: string, damage: (image: string) => void): Promise<void> {
  const image = join(dir, `image-${n++}`);
  copyImage(from, image);
  try {
    damage(image);
    await expectMergedOrRefused(image);
  } finally {
    rmSync(image, { recursive: true, force: true });
  }
}

describe('damaged image metadata ends in a merge or a one-line InputError', () => {
  const oci = join(dir, 'oci');
  const docker = join(dir, 'docker');
  let index: Json;
  let manifest: Json;
  let config: Json;
  let saveManifest: Json;
  let dockerConfig: Json;
  let dockerConfigPath: string;

  beforeAll(async () => {
    const layers = [
      { entries: [{ path: 'etc/os-release', data: 'ID=test\n' }, { path: 'bin/sh', data: 'sh', mode: 0o755 }], compression: 'gzip' },
      { entries: [{ path: 'etc/.wh.os-release' }, { path: 'etc/hostname', data: 'box\n' }], compression: 'none' },
    ];
    await buildImage([{ ref: 'fuzz:1', platform: 'linux/amd64', layers }], oci, 'oci');
    const blob = (digest: string): Json => JSON.parse(readFileSync(join(oci, 'blobs/sha256', digest.slice(7)), 'utf8'));
    index = JSON.parse(readFileSync(join(oci, 'index.json'), 'utf8'));
    manifest = blob((index as { manifests: Array<{ digest: string }> }).manifests[0]!.digest);
    config = blob((manifest as { config: { digest: string } }).config.digest);
    // A docker-save directory over the same blobs (Docker 25's paths: blobs/sha256/<hex>).
    copyImage(oci, docker);
    rmSync(join(docker, 'index.json'));
    rmSync(join(docker, 'oci-layout'));
    dockerConfigPath = `blobs/sha256/${(manifest as { config: { digest: string } }).config.digest.slice(7)}`;
    dockerConfig = config;
    saveManifest = [{ Config: dockerConfigPath, RepoTags: ['fuzz:1'], Layers: (manifest as { layers: Array<{ digest: string }> }).layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`) }];
    writeFileSync(join(docker, 'manifest.json'), JSON.stringify(saveManifest));
    // Both undamaged images merge.
    await expectMergedOrRefused(oci);
    await expectMergedOrRefused(docker);
    expect(readdirSync(blobs)).toHaveLength(2);
  });

  /** A damage: which document, where in it, and the new value (undefined: removed). */
  const damageOf = (docs: Record<string, () => Json>) =>
    fc
      .constantFrom(...Object.keys(docs))
      .chain((name) => fc.record({ name: fc.constant(name), path: fc.constantFrom(...pathsOf(docs[name]!())), value: fc.option(jsonValue, { nil: undefined, freq: 4 }) }));

  it('OCI layout: index.json, the manifest and the config', async () => {
    await fc.assert(
      fc.asyncProperty(damageOf({ index: () => index, manifest: () => manifest, config: () => config }), ({ name, path, value }) =>
        judgeCopy(oci, (image) => {
          let m = manifest;
          let i = index;
          if (name === 'config') {
            const d = putBlob(image, Buffer.from(JSON.stringify(mutate(config, path, value))));
            m = mutate(m, ['config', 'digest'], d.digest);
            m = mutate(m, ['config', 'size'], d.size);
          }
          if (name === 'manifest') m = mutate(m, path, value);
          if (name !== 'index') {
            const d = putBlob(image, Buffer.from(JSON.stringify(m)));
            i = mutate(mutate(i, ['manifests', 0, 'digest'], d.digest), ['manifests', 0, 'size'], d.size);
          } else i = mutate(i, path, value);
          writeFileSync(join(image, 'index.json'), JSON.stringify(i));
        }),
      ),
      { numRuns: runs(150) },
    );
  });

  it('docker save: manifest.json and the config', async () => {
    await fc.assert(
      fc.asyncProperty(damageOf({ manifest: () => saveManifest, config: () => dockerConfig }), ({ name, path, value }) =>
        judgeCopy(docker, (image) => {
          let list = saveManifest;
          if (name === 'config') {
            const d = putBlob(image, Buffer.from(JSON.stringify(mutate(dockerConfig, path, value))));
            list = mutate(list, [0, 'Config'], `blobs/sha256/${d.digest.slice(7)}`);
          } else list = mutate(list, path, value);
          writeFileSync(join(image, 'manifest.json'), JSON.stringify(list));
        }),
      ),
      { numRuns: runs(150) },
    );
  });

  it('docker save: an empty Config or layer path is refused as a bad entry, not looked up', async () => {
    for (const bad of [mutate(saveManifest, [0, 'Layers', 1], ''), mutate(saveManifest, [0, 'Config'], '')]) {
      let refused = '';
      await judgeCopy(docker, (image) => {
        writeFileSync(join(image, 'manifest.json'), JSON.stringify(bad));
        refused = `${image}: manifest.json entry 0 needs Config and Layers (paths in the archive)`;
      });
      expect(lastRefusal).toBe(refused);
    }
  });
});
