import type { FileInode } from '@fstools/fstree';
import { blockMapIndirectCount } from '../blockmap.js';
import { EXT4_GOOD_OLD_FIRST_INO, EXT4_ROOT_INO, EXT4_XATTR_REFCOUNT_MAX } from '../constants.js';
import { TooSmallError } from '../errors.js';
import { extentTreeBlockCount, splitLongExtents } from '../extent.js';
import type { Xattr } from '../xattr.js';
import type { BlockAllocator } from './allocator.js';
import type { Extent } from './extents.js';
import type { FixedLayout } from './fixed.js';
import type { InodeTable, TableInode } from './inode-table.js';

/** An inode with block numbers: its content, the blocks mapping it, its xattr block. */
export interface PlacedInode {
  t: TableInode;
  /** Data, directory or symlink blocks, in logical order (extents no longer than 32768 blocks). */
  extents: Extent[];
  /** Extent tree blocks (leaves first) or indirect blocks. */
  mapBlocks: number[];
  xattrBlock?: SharedXattrBlock;
}

/** One xattr block and the inodes sharing it (h_refcount). */
export interface SharedXattrBlock {
  pblk: number;
  refcount: number;
  list: Xattr[];
}

export interface Placement {
  placed: PlacedInode[];
  xattrBlocks: SharedXattrBlock[];
}

/**
 * Gives every inode of the table its blocks, after the file data already placed: the rest of / and
 * /lost+found beyond their fixed first blocks, then inode by inode its directory or symlink
 * blocks, the extent tree or indirect blocks mapping it, and its xattr block (identical ones are
 * shared). Fails with TooSmallError when the blocks or inodes run out.
 */
export function placeInodes(table: InodeTable, fixed: FixedLayout, alloc: BlockAllocator, dataOf: (f: FileInode) => Extent[]): Placement {
  const geo = fixed.geo;
  if (table.lastIno > geo.inodesCount) throw new TooSmallError(`needs ${table.lastIno} inodes, the filesystem has ${geo.inodesCount}`);
  const full = (): never => {
    throw new TooSmallError('out of blocks');
  };
  const useExtents = geo.features.has('extent');
  const content = new Map<TableInode, Extent[]>();
  for (const t of table.inodes) {
    const first = t.ino === EXT4_ROOT_INO ? [{ lblk: 0, pblk: fixed.rootBlock, len: 1 }] : t.ino === EXT4_GOOD_OLD_FIRST_INO ? fixed.lostFoundBlocks : undefined;
    if (!first) continue;
    const extents = first.map((e) => ({ ...e }));
    const have = extents.reduce((n, e) => n + e.len, 0);
    if (t.contentBlocks > have && !alloc.takeExtents(have, t.contentBlocks - have, extents)) full();
    content.set(t, extents);
  }

  const placed: PlacedInode[] = [];
  const shared = new Map<string, SharedXattrBlock>();
  const xattrBlocks: SharedXattrBlock[] = [];
  for (const t of table.inodes) {
    let extents: Extent[];
    if (t.inode.type === 'file') extents = dataOf(t.inode);
    else {
      extents = content.get(t) ?? [];
      if (!content.has(t) && t.contentBlocks && !alloc.takeExtents(0, t.contentBlocks, extents)) full();
    }
    extents = splitLongExtents(extents);
    let mapBlocks: number[] = [];
    if (extents.length) {
      const need = useExtents ? extentTreeBlockCount(extents.length, geo.blockSize) : blockMapIndirectCount(extents, geo.blockSize);
      if (need) mapBlocks = alloc.takeBlocks(need) ?? full();
    }
    const p: PlacedInode = { t, extents, mapBlocks };
    if (t.xattrKey) {
      let block = shared.get(t.xattrKey);
      if (!block || block.refcount >= EXT4_XATTR_REFCOUNT_MAX) {
        const pblk = alloc.takeBlocks(1)?.[0] ?? full();
        block = { pblk, refcount: 0, list: t.xattrsInBlock };
        shared.set(t.xattrKey, block);
        xattrBlocks.push(block);
      }
      block.refcount++;
      p.xattrBlock = block;
    }
    placed.push(p);
  }
  return { placed, xattrBlocks };
}
