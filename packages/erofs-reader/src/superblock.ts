import crc32c from 'crc-32/crc32c.js';
import {
  EROFS_FEATURE_COMPAT_SB_CHKSUM,
  EROFS_FEATURE_INCOMPAT_48BIT,
  EROFS_FEATURE_INCOMPAT_METABOX,
  EROFS_SB_BASE_SIZE,
  EROFS_SB_EXTSLOT_SIZE,
  EROFS_SUPER_MAGIC_V1,
  EROFS_SUPER_OFFSET,
  READER_FEATURE_INCOMPAT,
} from './constants.js';
import type { Fail } from './errors.js';

/**
 * struct erofs_super_block, fields named as in the kernel's erofs_fs.h (6.15+ names: `epoch` and
 * `fixed_nsec` are what erofs-utils 1.5-1.8 call build_time and build_time_nsec).
 */
export interface Superblock {
  magic: number;
  checksum: number;
  feature_compat: number;
  blkszbits: number;
  sb_extslots: number;
  root_nid: number;
  inos: bigint;
  /** Base seconds of compact inodes' mtimes. */
  epoch: bigint;
  /** Nanoseconds of every compact inode's mtime. */
  fixed_nsec: number;
  /** Block count of the primary device (blocks_lo). */
  blocks: number;
  meta_blkaddr: number;
  xattr_blkaddr: number;
  uuid: Uint8Array;
  volume_name: string;
  feature_incompat: number;
  /** available_compr_algs with COMPR_CFGS, else lz4_max_distance. */
  u1: number;
  extra_devices: number;
  devt_slotoff: number;
  dirblkbits: number;
  xattr_prefix_count: number;
  xattr_prefix_start: number;
  packed_nid: number;
  xattr_filter_reserved: number;
  /** Seconds added to epoch for the mkfs time (6.15+). */
  build_time: number;
}

/** Bytes the superblock checksum covers, starting at EROFS_SUPER_OFFSET (kernel super.c). */
export function checksumLength(blkszbits: number): number {
  const len = 1 << blkszbits;
  return len > EROFS_SUPER_OFFSET ? len - EROFS_SUPER_OFFSET : len;
}

/**
 * The superblock checksum: CRC32C with seed ~0 and no final inversion over `region` (the bytes from
 * EROFS_SUPER_OFFSET, checksumLength long) with the checksum field taken as zero.
 */
export function superblockChecksum(region: Uint8Array): number {
  const copy = Buffer.from(region);
  copy.writeUInt32LE(0, 4);
  // crc-32's buf() inverts at both ends; undo the final inversion.
  return ~crc32c.buf(copy, 0) >>> 0;
}

/** Parses the superblock from the bytes at EROFS_SUPER_OFFSET (at least 128 of them). */
export function parseSuperblock(b: Uint8Array, fail: Fail): Superblock {
  if (b.length < EROFS_SB_BASE_SIZE) fail('BAD_SUPERBLOCK', 'image too small for a superblock', { offset: EROFS_SUPER_OFFSET });
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const at = (o: number) => ({ offset: EROFS_SUPER_OFFSET + o });
  const magic = v.getUint32(0, true);
  if (magic !== EROFS_SUPER_MAGIC_V1) fail('BAD_MAGIC', `not an EROFS image (magic 0x${magic.toString(16)})`, at(0));
  const sb: Superblock = {
    magic,
    checksum: v.getUint32(4, true),
    feature_compat: v.getUint32(8, true),
    blkszbits: v.getUint8(12),
    sb_extslots: v.getUint8(13),
    root_nid: v.getUint16(14, true),
    inos: v.getBigUint64(16, true),
    epoch: v.getBigInt64(24, true),
    fixed_nsec: v.getUint32(32, true),
    blocks: v.getUint32(36, true),
    meta_blkaddr: v.getUint32(40, true),
    xattr_blkaddr: v.getUint32(44, true),
    uuid: b.slice(48, 64),
    volume_name: Buffer.from(b.subarray(64, 80)).toString('latin1').replace(/\0.*$/s, ''),
    feature_incompat: v.getUint32(80, true),
    u1: v.getUint16(84, true),
    extra_devices: v.getUint16(86, true),
    devt_slotoff: v.getUint16(88, true),
    dirblkbits: v.getUint8(90),
    xattr_prefix_count: v.getUint8(91),
    xattr_prefix_start: v.getUint32(92, true),
    packed_nid: safeU64(v.getBigUint64(96, true), fail, at(96)),
    xattr_filter_reserved: v.getUint8(104),
    build_time: v.getUint32(108, true),
  };
  // The kernel accepts 512 B .. PAGE_SIZE blocks; erofs-utils writes at most 64 KiB.
  if (sb.blkszbits < 9 || sb.blkszbits > 16) fail('BAD_SUPERBLOCK', `block size 2^${sb.blkszbits} out of range`, at(12));
  const unknown = sb.feature_incompat & ~READER_FEATURE_INCOMPAT;
  if (unknown & (EROFS_FEATURE_INCOMPAT_48BIT | EROFS_FEATURE_INCOMPAT_METABOX)) {
    fail('UNSUPPORTED', `incompatible features 0x${unknown.toString(16)} (48BIT/METABOX) are not supported`, at(80));
  }
  if (unknown) fail('UNSUPPORTED', `unknown incompatible features 0x${unknown.toString(16)}`, at(80));
  // The kernel reads the superblock from one 4 KiB page (super.c).
  if (sbSize(sb) > 4096 - EROFS_SUPER_OFFSET) fail('BAD_SUPERBLOCK', `sb_extslots ${sb.sb_extslots} too large`, at(13));
  if (sb.dirblkbits) fail('UNSUPPORTED', `dirblkbits ${sb.dirblkbits} is not supported`, at(90));
  return sb;
}

/** On-disk size of the superblock: 128 + 16 per extension slot. */
export function sbSize(sb: Superblock): number {
  return EROFS_SB_BASE_SIZE + sb.sb_extslots * EROFS_SB_EXTSLOT_SIZE;
}

export function hasChecksum(sb: Superblock): boolean {
  return (sb.feature_compat & EROFS_FEATURE_COMPAT_SB_CHKSUM) !== 0;
}

function safeU64(x: bigint, fail: Fail, where: { offset: number }): number {
  if (x > BigInt(Number.MAX_SAFE_INTEGER)) fail('BAD_SUPERBLOCK', `value ${x} out of range`, where);
  return Number(x);
}
