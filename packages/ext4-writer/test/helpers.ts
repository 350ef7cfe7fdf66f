import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FsTree, Inode, ManifestEntry } from '@fstools/fstree';
import { diffManifests, manifest } from '@fstools/fstree';
import { expect } from 'vitest';
import { e2fsckProblems, hasTrixieE2fsck, mountedManifest, trixieE2fsckProblems, withMount } from '../../../test/helpers/ext4-oracles.js';
import { oracle, trixieRoot } from '../../../test/helpers/oracles.js';

/**
 * A scratch directory, made when the first path in it is asked for (a file whose tests all skip
 * leaves none behind: vitest runs no hooks there) and removed by `cleanup`.
 */
export function scratch(prefix: string): { path: (name: string) => string; cleanup: () => void } {
  let dir: string | undefined;
  return {
    path: (name) => join((dir ??= mkdtempSync(join(tmpdir(), `ext4-${prefix}-`))), name),
    cleanup: () => {
      if (dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

const trixieFsck = oracle('e2fsck 1.47.2 (trixie chroot)', hasTrixieE2fsck, `needs root and e2fsck in the trixie chroot at ${trixieRoot} (tools/setup-trixie-chroot.sh)`);

/** Asserts that e2fsck -fn (1.47.0, and 1.47.2 from the trixie chroot) finds nothing at all. */
export function expectClean(img: string): void {
  expect(e2fsckProblems(img)).toBeUndefined();
  if (trixieFsck) expect(trixieE2fsckProblems(img)).toBeUndefined();
}

/** Asserts two manifests are equal, showing the first differences. */
export function expectSameManifest(actual: ManifestEntry[], expected: ManifestEntry[], what: string): void {
  const diff = diffManifests(expected, actual);
  expect(diff, `${what}:\n${diff.join('\n')}`).toEqual([]);
}

/** Mounts the image read-only and compares what the kernel shows with the tree (lost+found aside, unless the tree has one). */
export async function expectKernelSees(img: string, tree: FsTree): Promise<void> {
  const want = manifest(tree);
  const keepLostFound = tree.root.entries.has('lost+found');
  await withMount(img, (dir) => expectSameManifest(mountedManifest(dir, { keepLostFound }), want, `kernel view of ${img}`), { readonly: true });
}

/** Every inode of a tree once. */
export function* inodesOf(tree: FsTree): Generator<Inode> {
  const seen = new Set<Inode>();
  for (const { inode } of tree.walk()) {
    if (seen.has(inode)) continue;
    seen.add(inode);
    yield inode;
  }
}

/**
 * Lets the event loop run (vitest's worker RPC among others): long property runs otherwise chain
 * only microtasks between mostly synchronous steps and starve it.
 */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
