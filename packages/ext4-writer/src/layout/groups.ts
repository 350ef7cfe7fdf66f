import { groupHasSuper, isMetaBgDescGroup } from './backup-groups.js';
import type { Geometry } from './geometry.js';

export function groupFirstBlock(geo: Geometry, group: number): number {
  return geo.firstDataBlock + group * geo.blocksPerGroup;
}

/** Blocks in a group: the last one may be short. */
export function groupBlockCount(geo: Geometry, group: number): number {
  return group === geo.groupCount - 1 ? geo.blocksCount - groupFirstBlock(geo, group) : geo.blocksPerGroup;
}

export function groupOfBlock(geo: Geometry, block: number): number {
  return Math.floor((block - geo.firstDataBlock) / geo.blocksPerGroup);
}

/** Where a group's superblock copy and descriptor blocks are (ext2fs_super_and_bgd_loc2). */
export interface GroupBase {
  /** Superblock copy's block, or -1. Group 0's superblock is at byte 1024 of block firstDataBlock. */
  superBlock: number;
  /** First block of the descriptor table copy (plus reserved GDT blocks after it), or -1. */
  descBlock: number;
  /** Descriptor blocks + reserved GDT blocks of that copy. */
  descCount: number;
  /** meta_bg: the one descriptor block of this group's meta group stored here, or -1. */
  metaDescBlock: number;
}

export function groupBase(geo: Geometry, group: number): GroupBase {
  const start = groupFirstBlock(geo, group);
  const hasSuper = groupHasSuper(group, geo.features.has('sparse_super'));
  const base: GroupBase = { superBlock: -1, descBlock: -1, descCount: 0, metaDescBlock: -1 };
  if (hasSuper) base.superBlock = start;
  if (!geo.features.has('meta_bg')) {
    if (hasSuper) {
      base.descBlock = start + 1;
      base.descCount = geo.descBlocks + geo.reservedGdtBlocks;
    }
  } else if (isMetaBgDescGroup(group, geo.descPerBlock)) {
    base.metaDescBlock = start + (hasSuper ? 1 : 0);
  }
  return base;
}
