import type { InodeType } from '@fstools/fstree';
import { joinTime, typeOfMode } from '@fstools/fstree';
import {
  EROFS_I_ALL,
  EROFS_I_DATALAYOUT_BIT,
  EROFS_I_DATALAYOUT_MASK,
  EROFS_I_VERSION_MASK,
  EROFS_INODE_CHUNK_BASED,
  EROFS_INODE_COMPACT_SIZE,
  EROFS_INODE_EXTENDED_SIZE,
  EROFS_INODE_LAYOUT_EXTENDED,
  EROFS_XATTR_IBODY_HEADER_SIZE,
} from './constants.js';
import type { Fail } from './errors.js';

/** An on-disk inode, compact (32 B) or extended (64 B), normalised. */
export interface ErofsInode {
  nid: number;
  /** Byte offset of the inode on the primary device. */
  iloc: number;
  i_format: number;
  /** 0 compact, 1 extended. */
  version: number;
  /** EROFS_INODE_FLAT_PLAIN ... EROFS_INODE_CHUNK_BASED. */
  datalayout: number;
  i_xattr_icount: number;
  i_mode: number;
  type: InodeType;
  i_nlink: number;
  i_size: number;
  /** The raw i_u word: raw_blkaddr, compressed_blocks, rdev or chunk format by layout. */
  i_u: number;
  i_ino: number;
  i_uid: number;
  i_gid: number;
  /** ns since the epoch. */
  mtime: bigint;
  /** 32 or 64. */
  inode_isize: number;
  /** Bytes of inline xattrs after the inode (0 or 12 + 4 * (icount - 1)). */
  xattr_isize: number;
}

/** Size in bytes of the on-disk inode whose first two bytes (i_format) are given. */
export function inodeSize(i_format: number): number {
  return (i_format & EROFS_I_VERSION_MASK) === EROFS_INODE_LAYOUT_EXTENDED ? EROFS_INODE_EXTENDED_SIZE : EROFS_INODE_COMPACT_SIZE;
}

/** erofs_xattr_ibody_size: 12-byte header plus 4 bytes per further count. */
export function xattrIbodySize(icount: number): number {
  return icount === 0 ? 0 : EROFS_XATTR_IBODY_HEADER_SIZE + 4 * (icount - 1);
}

/**
 * Parses an inode from its bytes (32 or 64 as inodeSize says). Compact inodes take their mtime
 * from the superblock: epoch + i_mtime seconds (i_mtime was reserved, hence 0, before 6.15) and
 * fixed_nsec.
 */
export function parseInode(b: Uint8Array, nid: number, iloc: number, sb: { epoch: bigint; fixed_nsec: number }, fail: Fail): ErofsInode {
  // Plain byte arithmetic and one object shape: this runs once per inode of every image read.
  const u16 = (o: number): number => b[o]! | (b[o + 1]! << 8);
  const u32 = (o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
  const i_format = u16(0);
  if (i_format & ~EROFS_I_ALL) fail('BAD_INODE', `i_format 0x${i_format.toString(16)} has unknown bits`, { nid, offset: iloc });
  const version = i_format & EROFS_I_VERSION_MASK;
  const datalayout = (i_format >> EROFS_I_DATALAYOUT_BIT) & EROFS_I_DATALAYOUT_MASK;
  if (datalayout > EROFS_INODE_CHUNK_BASED) fail('BAD_INODE', `unknown data layout ${datalayout}`, { nid, offset: iloc });
  const i_mode = u16(4);
  const type = typeOfMode(i_mode);
  if (!type) fail('BAD_INODE', `unknown file type in mode 0${i_mode.toString(8)}`, { nid, offset: iloc });
  const i_xattr_icount = u16(2);
  const extended = version === EROFS_INODE_LAYOUT_EXTENDED;
  let i_size: number;
  let mtime: bigint;
  if (extended) {
    const high = u32(12);
    // i_size is 64-bit: anything past 2^53 cannot be a file we can address.
    if (high >= 0x200000) fail('BAD_SIZE', `i_size ${(BigInt(high) << 32n) | BigInt(u32(8))} out of range`, { nid, offset: iloc });
    i_size = high * 0x1_0000_0000 + u32(8);
    const nsec = u32(40);
    if (nsec >= 1e9) fail('BAD_INODE', `i_mtime_nsec ${nsec} out of range`, { nid, offset: iloc });
    const secHigh = u32(36) | 0; // i_mtime is signed 64-bit
    const sec = secHigh >= -0x200000 && secHigh < 0x200000 ? BigInt(secHigh * 0x1_0000_0000 + u32(32)) : (BigInt(secHigh) << 32n) | BigInt(u32(32));
    mtime = joinTime(sec, nsec);
  } else {
    i_size = u32(8);
    mtime = joinTime(sb.epoch + BigInt(u32(12)), sb.fixed_nsec);
  }
  return {
    nid,
    iloc,
    i_format,
    version,
    datalayout,
    i_xattr_icount,
    i_mode,
    type: type!,
    i_nlink: extended ? u32(44) : u16(6),
    i_size,
    i_u: u32(16),
    i_ino: u32(20),
    i_uid: extended ? u32(24) : u16(24),
    i_gid: extended ? u32(28) : u16(26),
    mtime,
    inode_isize: extended ? EROFS_INODE_EXTENDED_SIZE : EROFS_INODE_COMPACT_SIZE,
    xattr_isize: xattrIbodySize(i_xattr_icount),
  };
}

/** Major and minor of a device inode's i_u (the kernel's new_decode_dev). */
export function decodeRdev(rdev: number): { major: number; minor: number } {
  return { major: (rdev & 0xfff00) >>> 8, minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) };
}
