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
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const i_format = v.getUint16(0, true);
  const where = { nid, offset: iloc };
  if (i_format & ~EROFS_I_ALL) fail('BAD_INODE', `i_format 0x${i_format.toString(16)} has unknown bits`, where);
  const version = i_format & EROFS_I_VERSION_MASK;
  const datalayout = (i_format >> EROFS_I_DATALAYOUT_BIT) & EROFS_I_DATALAYOUT_MASK;
  if (datalayout > EROFS_INODE_CHUNK_BASED) fail('BAD_INODE', `unknown data layout ${datalayout}`, where);
  const i_mode = v.getUint16(4, true);
  const type = typeOfMode(i_mode);
  if (!type) fail('BAD_INODE', `unknown file type in mode 0${i_mode.toString(8)}`, where);
  const i_xattr_icount = v.getUint16(2, true);
  const common = { nid, iloc, i_format, version, datalayout, i_xattr_icount, i_mode, type, xattr_isize: xattrIbodySize(i_xattr_icount) };
  if (version === EROFS_INODE_LAYOUT_EXTENDED) {
    const size = v.getBigUint64(8, true);
    if (size > BigInt(Number.MAX_SAFE_INTEGER)) fail('BAD_SIZE', `i_size ${size} out of range`, where);
    const nsec = v.getUint32(40, true);
    if (nsec >= 1e9) fail('BAD_INODE', `i_mtime_nsec ${nsec} out of range`, where);
    return {
      ...common,
      i_nlink: v.getUint32(44, true),
      i_size: Number(size),
      i_u: v.getUint32(16, true),
      i_ino: v.getUint32(20, true),
      i_uid: v.getUint32(24, true),
      i_gid: v.getUint32(28, true),
      mtime: joinTime(v.getBigInt64(32, true), nsec),
      inode_isize: EROFS_INODE_EXTENDED_SIZE,
    };
  }
  return {
    ...common,
    i_nlink: v.getUint16(6, true),
    i_size: v.getUint32(8, true),
    i_u: v.getUint32(16, true),
    i_ino: v.getUint32(20, true),
    i_uid: v.getUint16(24, true),
    i_gid: v.getUint16(26, true),
    mtime: joinTime(sb.epoch + BigInt(v.getUint32(12, true)), sb.fixed_nsec),
    inode_isize: EROFS_INODE_COMPACT_SIZE,
  };
}

/** Major and minor of a device inode's i_u (the kernel's new_decode_dev). */
export function decodeRdev(rdev: number): { major: number; minor: number } {
  return { major: (rdev & 0xfff00) >>> 8, minor: (rdev & 0xff) | ((rdev >>> 12) & 0xfff00) };
}
