import type { FsTree, ManifestEntry } from '@fstools/fstree';
import { diffManifests, manifest } from '@fstools/fstree';
import type { LowerDisk } from './disk.js';
import { openLowerDisk, readLowerTree, checkUpper } from './disk.js';
import { guestManifest } from './guest-manifest.js';
import type { GuestEntry } from './guest-walk.js';
import { walkOutputs } from './guest-walk.js';
import { GUEST_PATHS } from './guest-init.js';
import { isOverlayXattr, mergeUpper } from './overlay-model.js';
import type { CheckReport } from './report.js';
import { MAX_PROBLEMS, timing } from './report.js';
import type { Guest } from './session.js';

export interface CheckInput {
  /** The lower disk: a VMDK descriptor or a raw image (fsmeta + layers, or one EROFS image). */
  disk: string;
  /** The upper ext4 image (written to by persist and crash). */
  upper: string;
  /** The tree the disk should hold; default: read from the disk with @fstools/erofs-reader. */
  expected?: FsTree;
}

/** Job fragment: walk the merged root and the upper directory into /out. */
export const WALK_MERGED_AND_UPPER = `walk ${GUEST_PATHS.merged} ${GUEST_PATHS.out}/merged || die "walk-failed cannot walk the merged root"
walk ${GUEST_PATHS.upperfs}/upper ${GUEST_PATHS.out}/upper || die "walk-failed cannot walk the upper directory"`;

/** The disk's own tree, opened for the duration of `use`. */
export async function withLowerTree<T>(disk: LowerDisk, given: FsTree | undefined, use: (tree: FsTree) => Promise<T>): Promise<T> {
  if (given) return use(given);
  const lower = readLowerTree(disk);
  try {
    return await use(lower.tree);
  } finally {
    lower.close();
  }
}

/** The canonical manifest of the lower tree as overlayfs can show it (its trusted.overlay.* hidden). */
export function lowerManifest(tree: FsTree): ManifestEntry[] {
  return manifest(tree, { dropXattr: isOverlayXattr });
}

/**
 * Differences between what the guest saw at the merged root (its guestManifest) and what
 * overlayfs semantics give for the lower manifest under the upper directory the guest walked
 * (first ones only).
 */
export function mergedDifferences(lower: readonly ManifestEntry[], merged: ManifestEntry[], upper: readonly GuestEntry[], source: string): string[] {
  return diffManifests(mergeUpper(lower, upper, source), merged, MAX_PROBLEMS);
}

/**
 * Check 1: boot on the disk and upper, let the guest walk the merged root (sha256 of every file,
 * xattrs, ns mtimes, hardlinks) and compare it with the disk's own tree, the upper's changes
 * applied (none on a fresh upper but the root directory, which overlayfs takes from the upper).
 */
export async function verify(guest: Guest, input: CheckInput): Promise<CheckReport> {
  const disk = openLowerDisk(input.disk);
  checkUpper(input.upper);
  // Boot first: when the kernel cannot mount the disk, its own messages are the answer.
  const boot = await guest.boot({ disk, upper: input.upper, job: WALK_MERGED_AND_UPPER });
  return withLowerTree(disk, input.expected, async (tree) => {
    const merged = guestManifest(walkOutputs(boot.outputs, 'merged', input.disk), input.disk);
    const problems = mergedDifferences(lowerManifest(tree), merged, walkOutputs(boot.outputs, 'upper', input.upper), input.disk);
    const ok = problems.length === 0;
    return {
      check: 'verify',
      ok,
      summary: ok
        ? `the guest's merged root matches the image's tree (${merged.length} entries)`
        : `the guest's merged root differs from the image's tree (first differences: - expected, + guest)`,
      problems,
      boots: [timing(boot)],
    };
  });
}
