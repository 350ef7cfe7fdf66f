import { EXT4_DIND_BLOCK, EXT4_N_BLOCKS, EXT4_NDIR_BLOCKS } from './constants.js';
import { backupGroups } from './layout/backup-groups.js';
import type { Geometry } from './layout/geometry.js';

/**
 * The resize inode (inode 7) reserves the GDT blocks online resizing will need
 * (lib/ext2fs/res_gdt.c): a double-indirect block whose entry (descBlocks + i) % pointers-per-block
 * points at the i-th primary reserved GDT block; that block, read as an indirect block, lists the
 * same reserved block in every backup group. The inode has no extents flag.
 */
export interface ResizeInode {
  /** Block contents to write: the double-indirect block and the primary reserved GDT blocks. */
  blocks: Array<{ pblk: number; data: Uint8Array }>;
  iBlock: Uint8Array;
  size: number;
  /** Blocks charged to the inode: the dind block, the primary reserved blocks and their backups. */
  blockCount: number;
}

export function buildResizeInode(geo: Geometry, dind: number): ResizeInode {
  const apb = geo.blockSize / 4;
  const backups = backupGroups(geo.groupCount, geo.features.has('sparse_super'));
  const dindData = new Uint8Array(geo.blockSize);
  const dindView = new DataView(dindData.buffer);
  const blocks: ResizeInode['blocks'] = [{ pblk: dind, data: dindData }];
  for (let i = 0; i < geo.reservedGdtBlocks; i++) {
    const gdtBlk = geo.firstDataBlock + 1 + geo.descBlocks + i;
    dindView.setUint32(((geo.descBlocks + i) % apb) * 4, gdtBlk, true);
    const data = new Uint8Array(geo.blockSize);
    const dv = new DataView(data.buffer);
    backups.forEach((grp, k) => dv.setUint32(k * 4, gdtBlk + grp * geo.blocksPerGroup, true));
    blocks.push({ pblk: gdtBlk, data });
  }
  const iBlock = new Uint8Array(EXT4_N_BLOCKS * 4);
  new DataView(iBlock.buffer).setUint32(EXT4_DIND_BLOCK * 4, dind, true);
  return {
    blocks,
    iBlock,
    size: (apb * apb + apb + EXT4_NDIR_BLOCKS) * geo.blockSize,
    blockCount: 1 + geo.reservedGdtBlocks * (1 + backups.length),
  };
}
