// The kernel as judge: the flat one-disk mount, fsmeta with -o device= per layer, and kernel
// overlayfs over the layer images. Loop devices are attached and detached one by one.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import type { ManifestEntry, ManifestOptions } from '@fstools/fstree';
import { diffManifests } from '@fstools/fstree';
import { canFsck15, canFsck18, fsck15, fsck18, hostManifest } from '../../../../test/helpers/erofs-oracles.js';

/** fsck.erofs 1.5 on fsmeta over its layer images (where fsck.erofs is installed; required under CI). */
export function fsckMerged(fsmeta: string, layers: string[]): void {
  if (canFsck15()) fsck15(fsmeta, layers);
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stdout}${r.stderr}`);
  return r.stdout.trim();
}

async function withMounts<T>(mounts: Array<{ source: string; type: string; options: string }>, fn: (top: string) => T): Promise<T> {
  const base = mkdtempSync(join(tmpdir(), 'fsmerge-judge-'));
  const done: string[] = [];
  try {
    for (const [i, m] of mounts.entries()) {
      const dir = join(base, String(i));
      mkdirSync(dir);
      run('mount', ['-t', m.type, '-o', m.options.replaceAll('$BASE', base), m.source, dir]);
      done.push(dir);
    }
    return fn(done[done.length - 1]!);
  } finally {
    for (const d of done.reverse()) spawnSync('umount', [d]);
    rmSync(base, { recursive: true, force: true });
  }
}

async function withLoops<T>(files: string[], fn: (devs: string[]) => Promise<T>): Promise<T> {
  const devs: string[] = [];
  try {
    for (const f of files) devs.push(run('losetup', ['-f', '--show', '-r', f]));
    return await fn(devs);
  } finally {
    for (const d of devs) spawnSync('losetup', ['-d', d]);
  }
}

/** (1) The raw one-disk file (fsmeta + layer images concatenated), mounted flat. */
export function flatManifest(raw: string, opts: ManifestOptions = {}): Promise<ManifestEntry[]> {
  return withMounts([{ source: raw, type: 'erofs', options: 'ro,loop' }], (dir) => hostManifest(dir, opts));
}

/** (2) fsmeta with one -o device= per layer image, in device order. */
export function deviceManifest(fsmeta: string, blobs: string[], opts: ManifestOptions = {}): Promise<ManifestEntry[]> {
  return withLoops(blobs, (devs) => withMounts([{ source: fsmeta, type: 'erofs', options: ['ro', 'loop', ...devs.map((d) => `device=${d}`)].join(',') }], (dir) => hostManifest(dir, opts)));
}

/** (3) Kernel overlayfs stacking the layer images (lowerdir=Ln:...:L0). Layer markers are fsmerge's own: left out. */
export function overlayManifest(blobs: string[], opts: ManifestOptions = {}): Promise<ManifestEntry[]> {
  const layerMounts = blobs.map((b) => ({ source: b, type: 'erofs', options: 'ro,loop' }));
  const lower = blobs.map((_, i) => `$BASE/${i}`).reverse().join(':');
  const all = blobs.length > 1 ? [...layerMounts, { source: 'overlay', type: 'overlay', options: `ro,lowerdir=${lower}` }] : layerMounts;
  const drop = opts.dropXattr;
  return withMounts(all, (dir) => hostManifest(dir, { ...opts, dropXattr: (n) => n.startsWith('trusted.fsmerge.') || !!drop?.(n) }));
}

/**
 * An fsmerge result judged: the flat one-disk file and fsmeta with -o device= (the layer images in
 * device order) both mount as `expected`; fsck.erofs 1.8 and 1.5 (Debian bookworm's, which users
 * have) pass on fsmeta and every layer image.
 */
export async function expectMerged(expected: ManifestEntry[], r: { fsmeta: { path: string }; raw?: string }, devices: string[]): Promise<void> {
  expect(diffManifests(expected, await flatManifest(r.raw!))).toEqual([]);
  expect(diffManifests(expected, await deviceManifest(r.fsmeta.path, devices))).toEqual([]);
  if (canFsck18()) fsck18(r.fsmeta.path, devices);
  if (canFsck15()) {
    for (const d of devices) fsck15(d);
    fsck15(r.fsmeta.path, devices);
  }
}
