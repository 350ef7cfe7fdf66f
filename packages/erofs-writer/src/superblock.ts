import CRC32C from 'crc-32/crc32c.js';
import { EROFS_FEATURE_COMPAT_SB_CHKSUM, EROFS_SUPER_MAGIC_V1, EROFS_SUPER_OFFSET, EROFS_SUPER_SIZE } from './constants.js';

/** struct erofs_super_block fields we set; everything else is zero. */
export interface SuperBlock {
  feature_compat: number;
  blkszbits: number;
  root_nid: number;
  inos: bigint;
  build_time: bigint;
  build_time_nsec: number;
  blocks: number;
  meta_blkaddr: number;
  xattr_blkaddr: number;
  uuid: Uint8Array;
  volume_name: Uint8Array;
  feature_incompat: number;
  /** available_compr_algs with COMPR_CFGS, else lz4_max_distance (0 without compression). */
  u1: number;
  extra_devices: number;
  devt_slotoff: number;
  xattr_prefix_count: number;
  xattr_prefix_start: number;
  /** The packed inode's nid (-E fragments), 0 for none. */
  packed_nid: number;
}

/** Writes the superblock into `head` (the image bytes from offset 0) at EROFS_SUPER_OFFSET. */
export function encodeSuperBlock(sb: SuperBlock, head: Buffer): void {
  const v = new DataView(head.buffer, head.byteOffset + EROFS_SUPER_OFFSET, EROFS_SUPER_SIZE);
  v.setUint32(0, EROFS_SUPER_MAGIC_V1, true);
  v.setUint32(4, 0, true); // checksum, set by sealSuperBlock
  v.setUint32(8, sb.feature_compat, true);
  v.setUint8(12, sb.blkszbits);
  v.setUint8(13, 0); // sb_extslots
  v.setUint16(14, sb.root_nid, true);
  v.setBigUint64(16, sb.inos, true);
  v.setBigUint64(24, sb.build_time, true);
  v.setUint32(32, sb.build_time_nsec, true);
  v.setUint32(36, sb.blocks, true);
  v.setUint32(40, sb.meta_blkaddr, true);
  v.setUint32(44, sb.xattr_blkaddr, true);
  head.set(sb.uuid.subarray(0, 16), EROFS_SUPER_OFFSET + 48);
  head.set(sb.volume_name.subarray(0, 16), EROFS_SUPER_OFFSET + 64);
  v.setUint32(80, sb.feature_incompat, true);
  v.setUint16(84, sb.u1, true);
  v.setUint16(86, sb.extra_devices, true);
  v.setUint16(88, sb.devt_slotoff, true);
  v.setUint8(90, 0); // dirblkbits: directory blocks are filesystem blocks
  v.setUint8(91, sb.xattr_prefix_count);
  v.setUint32(92, sb.xattr_prefix_start, true);
  v.setBigUint64(96, BigInt(sb.packed_nid), true);
  v.setUint8(104, 0); // xattr_filter_reserved: 0 lets kernels use the name filter
}

/**
 * Sets the checksum (feature_compat SB_CHKSUM): CRC32C with seed ~0 and no final inversion over
 * the superblock block from byte 1024, checksum field zeroed; for blocks of 1 KiB or less it
 * covers one block's worth of bytes from 1024 (fs/erofs/super.c erofs_superblock_csum_verify).
 */
export function sealSuperBlock(head: Buffer, blockSize: number): void {
  const len = blockSize > EROFS_SUPER_OFFSET ? blockSize - EROFS_SUPER_OFFSET : blockSize;
  const region = head.subarray(EROFS_SUPER_OFFSET, EROFS_SUPER_OFFSET + len);
  if (region.length !== len) throw new Error('superblock region shorter than the checksummed length');
  const compat = region.readUInt32LE(8);
  if (!(compat & EROFS_FEATURE_COMPAT_SB_CHKSUM)) return;
  region.writeUInt32LE(0, 4);
  region.writeUInt32LE((CRC32C.buf(region, 0) ^ 0xffffffff) >>> 0, 4);
}

/** Bytes from the image start that the checksum covers (the superblock "header" must hold them). */
export function checksummedEnd(blockSize: number): number {
  return EROFS_SUPER_OFFSET + (blockSize > EROFS_SUPER_OFFSET ? blockSize - EROFS_SUPER_OFFSET : blockSize);
}
