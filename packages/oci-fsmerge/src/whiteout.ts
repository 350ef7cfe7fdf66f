import { OPAQUE_MARKER, OVERLAY_OPAQUE, WHITEOUT_PREFIX } from '@fstools/fstree';
import type { DirInode, Inode } from '@fstools/fstree';

export { OPAQUE_MARKER, OVERLAY_OPAQUE, WHITEOUT_PREFIX };

/**
 * Markers a layer image carries besides overlayfs' own whiteouts (char 0:0) and opaque
 * directories (trusted.overlay.opaque=y). A layer is converted alone, so what it says about
 * lower layers is recorded here and acted on by the merge:
 * - IMPLIED on a directory the tar used as a parent before (or without) listing it: it must not
 *   replace a lower non-directory (that is a path through a symlinked parent); with value "y"
 *   (never listed) it takes no metadata from this layer, with "listed" it does;
 * - HARDLINK on an empty regular file standing for a hard link to a lower layer's file; the
 *   value is the target path.
 * trusted.* keeps them out of unprivileged sight when a layer image is mounted directly.
 */
export const IMPLIED = 'trusted.fsmerge.implied';
export const HARDLINK = 'trusted.fsmerge.hardlink';

/** The metadata implied directories get where no lower directory exists. */
export const IMPLIED_META = { mode: 0o755, uid: 0, gid: 0, mtime: 0n } as const;

export function isWhiteout(inode: Inode): boolean {
  return inode.type === 'chr' && inode.major === 0 && inode.minor === 0;
}

export function isOpaque(dir: DirInode): boolean {
  const v = dir.xattrs.get(OVERLAY_OPAQUE);
  return v !== undefined && v.length === 1 && v[0] === 0x79; // "y"
}

/** Used as a parent before the layer listed it (if it did): must not replace a lower non-directory. */
export function usedAsParent(dir: DirInode): boolean {
  return dir.xattrs.has(IMPLIED);
}

/** Never listed by its layer: keeps the lower directory's metadata. */
export function isImplied(dir: DirInode): boolean {
  const v = dir.xattrs.get(IMPLIED);
  return v !== undefined && v.length === 1 && v[0] === 0x79;
}

/** An inode's xattrs without the layer markers: what the merged tree keeps. */
export function visibleXattrs(xattrs: Map<string, Uint8Array>): Map<string, Uint8Array> {
  const out = new Map<string, Uint8Array>();
  for (const [k, v] of xattrs) if (k !== IMPLIED && k !== HARDLINK && k !== OVERLAY_OPAQUE) out.set(k, v);
  return out;
}
