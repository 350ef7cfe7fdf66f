import { writeErofs } from '@fstools/erofs-writer';
import type { ErofsOptions, ErofsResult } from '@fstools/erofs-writer';
import { FsTree, makeDir } from '@fstools/fstree';
import type { DirInode, ImageDevice, Inode } from '@fstools/fstree';
import { BLOCK_SIZE } from './layer-blob.js';

/**
 * Writes fsmeta: the merged tree's metadata, every regular file a chunk-based inode whose
 * chunks point into the layer images through the device table (one slot per layer image in
 * stack order, tag = diff ID hex, mapped_blkaddr where it starts on the one-disk layout).
 */
export function writeFsmeta(merged: FsTree, devices: ImageDevice[], output: string): Promise<ErofsResult> {
  return writeErofs(merged, output, { blockSize: BLOCK_SIZE, devices });
}

/** Writes one self-contained image: the same tree with every file's bytes copied in. */
export function writeStandalone(merged: FsTree, output: string, o: Pick<ErofsOptions, 'compression' | 'workers'> = {}): Promise<ErofsResult> {
  return writeErofs(withHostData(merged), output, { ...o, blockSize: BLOCK_SIZE });
}

/**
 * A copy of the tree whose files read their bytes from the layer image files as plain host
 * ranges, so the writer stores them instead of referencing a device. Hard links stay shared.
 */
function withHostData(tree: FsTree): FsTree {
  const copies = new Map<Inode, Inode>();
  const copy = (inode: Inode): Inode => {
    let c = copies.get(inode);
    if (c) return c;
    if (inode.type === 'dir') {
      const dir: DirInode = { ...inode, entries: new Map() };
      for (const [name, child] of inode.entries) dir.entries.set(name, copy(child));
      c = dir;
    } else if (inode.type === 'file' && inode.data.kind === 'device') {
      c = { ...inode, data: { kind: 'host', path: inode.data.device.path, offset: inode.data.offset } };
    } else c = inode;
    copies.set(inode, c);
    return c;
  };
  const root = copy(tree.root);
  return new FsTree(root.type === 'dir' ? root : makeDir());
}
