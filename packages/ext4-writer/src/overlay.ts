import type { DirInode, Inode, InodeMeta } from '@fstools/fstree';
import { makeDir, OVERLAY_OPAQUE } from '@fstools/fstree';

/**
 * The writable layer of an overlayfs sandbox: /upper holds the changes over the read-only lower
 * layers (whiteouts as char 0/0 devices, opaque directories with trusted.overlay.opaque=y) and
 * /work is overlayfs' work directory.
 */
export const UPPER = 'upper';
export const WORK = 'work';

const OPAQUE_VALUE = new Uint8Array([0x79]); // "y"

export function isWhiteout(inode: Inode): boolean {
  return inode.type === 'chr' && inode.major === 0 && inode.minor === 0;
}

/** The root of an overlay upper filesystem around the upper directory. */
export function overlayRoot(upper: DirInode, meta: Partial<InodeMeta>): DirInode {
  const root = makeDir(meta);
  root.entries.set(UPPER, upper);
  root.entries.set(WORK, makeDir(meta));
  return root;
}

/**
 * Applies one OCI layer (as treeFromTar reads it with whiteouts: 'overlay') over an upper
 * directory so that upper shows, over any lower layers, what the layer's OCI semantics say:
 * - a whiteout replaces whatever upper had at its path (it still hides the lower entry);
 * - an opaque directory drops what upper had inside it and stays opaque;
 * - a directory over a directory merges, the layer's metadata winning (except for directories the
 *   tar only implies, which keep upper's); over anything else (a file, a whiteout) it becomes
 *   opaque, since the lower directory it would otherwise merge with was deleted;
 * - anything else replaces the old entry.
 */
export function applyLayer(upper: DirInode, layer: DirInode, isImplied: (dir: DirInode) => boolean): void {
  const opaque = layer.xattrs.has(OVERLAY_OPAQUE);
  if (opaque) {
    upper.entries.clear();
    upper.xattrs.set(OVERLAY_OPAQUE, OPAQUE_VALUE);
  }
  if (!isImplied(layer)) {
    const keepOpaque = upper.xattrs.get(OVERLAY_OPAQUE);
    upper.mode = layer.mode;
    upper.uid = layer.uid;
    upper.gid = layer.gid;
    upper.mtime = layer.mtime;
    upper.xattrs = new Map(layer.xattrs);
    if (keepOpaque) upper.xattrs.set(OVERLAY_OPAQUE, keepOpaque);
  }
  for (const [name, child] of layer.entries) {
    const old = upper.entries.get(name);
    if (child.type === 'dir' && old?.type === 'dir') {
      applyLayer(old, child, isImplied);
      continue;
    }
    if (child.type === 'dir' && old) child.xattrs.set(OVERLAY_OPAQUE, OPAQUE_VALUE);
    upper.entries.set(name, child);
  }
}
