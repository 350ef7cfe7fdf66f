import type { DirInode, Inode, InodeMeta } from '@fstools/fstree';
import { makeDir, OVERLAY_OPAQUE } from '@fstools/fstree';

/**
 * The writable layer of an overlayfs sandbox: /upper holds the changes over the read-only lower
 * layers (whiteouts as char 0/0 devices, opaque directories with trusted.overlay.opaque=y) and
 * /work is overlayfs' work directory.
 */
const UPPER = 'upper';
const WORK = 'work';

const OPAQUE_VALUE = new Uint8Array([0x79]); // "y"

function isWhiteout(inode: Inode): boolean {
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
 * Applies OCI layers (as treeFromTar reads them with whiteouts: 'overlay') in order over an upper
 * directory, then drops the whiteouts nothing can need (see dropInertWhiteouts).
 */
export function applyLayers(upper: DirInode, layers: DirInode[], isImplied: (dir: DirInode) => boolean): void {
  for (const layer of layers) applyLayer(upper, layer, isImplied);
  dropInertWhiteouts(upper, false);
}

/**
 * Applies one layer so that upper shows, over any lower layers, what OCI semantics say:
 * - a whiteout replaces whatever upper had at its path (it still hides the lower entry);
 * - an opaque directory drops what upper had inside it and stays opaque;
 * - a directory over a directory merges, the layer's metadata winning (except for directories the
 *   tar only implies, which keep upper's); over anything else (a file, a whiteout) it becomes
 *   opaque, since the lower directory it would otherwise merge with was deleted;
 * - anything else replaces the old entry.
 */
function applyLayer(upper: DirInode, layer: DirInode, isImplied: (dir: DirInode) => boolean): void {
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

/**
 * Below an opaque directory nothing of the lower layers shows, so whiteouts there hide nothing,
 * and overlayfs would list them (it merges, and filters whiteouts, only where a lower directory
 * exists). They are removed. Elsewhere a whiteout stays, since the lower layers are not known
 * here: in a directory that exists only in the upper layer it shows up in listings as an entry
 * that cannot be opened.
 */
function dropInertWhiteouts(dir: DirInode, underOpaque: boolean): void {
  const opaque = underOpaque || dir.xattrs.has(OVERLAY_OPAQUE);
  for (const [name, child] of dir.entries) {
    if (opaque && isWhiteout(child)) dir.entries.delete(name);
    else if (child.type === 'dir') dropInertWhiteouts(child, opaque);
  }
}
