import { writeU64LE } from '@fstools/fstree';
import {
  EROFS_I_DATALAYOUT_BIT,
  EROFS_INODE_COMPACT_SIZE,
  EROFS_INODE_EXTENDED_SIZE,
  EROFS_INODE_LAYOUT_COMPACT,
  EROFS_INODE_LAYOUT_EXTENDED,
} from './constants.js';

/** What an on-disk inode says; i_u is raw_blkaddr, rdev or the chunk format depending on type. */
export interface DiskInode {
  extended: boolean;
  datalayout: number;
  i_xattr_icount: number;
  i_mode: number;
  i_nlink: number;
  i_size: number;
  i_u: number;
  i_ino: number;
  i_uid: number;
  i_gid: number;
  /** Extended inodes only: seconds and ns. */
  i_mtime: bigint;
  i_mtime_nsec: number;
}

export function inodeSize(extended: boolean): number {
  return extended ? EROFS_INODE_EXTENDED_SIZE : EROFS_INODE_COMPACT_SIZE;
}

/** Whether a compact inode can hold these values (its mtime is the superblock's build time). */
export function fitsCompact(i: { uid: number; gid: number; nlink: number; size: number; mtimeIsEpoch: boolean }): boolean {
  return i.uid <= 0xffff && i.gid <= 0xffff && i.nlink <= 0xffff && i.size <= 0xffffffff && i.mtimeIsEpoch;
}

/**
 * Encodes struct erofs_inode_compact / erofs_inode_extended at `off`. i_format holds the
 * version bit and the data layout in bits 1..3; nothing above (older kernels reject it).
 */
export function encodeInode(ino: DiskInode, buf: Buffer, off: number): void {
  const format = (ino.extended ? EROFS_INODE_LAYOUT_EXTENDED : EROFS_INODE_LAYOUT_COMPACT) | (ino.datalayout << EROFS_I_DATALAYOUT_BIT);
  buf.writeUInt16LE(format, off);
  buf.writeUInt16LE(ino.i_xattr_icount, off + 2);
  buf.writeUInt16LE(ino.i_mode, off + 4);
  if (!ino.extended) {
    buf.writeUInt16LE(ino.i_nlink, off + 6);
    buf.writeUInt32LE(ino.i_size, off + 8);
    buf.writeUInt32LE(0, off + 12); // i_mtime offset from build_time (kernels >= 6.15): always 0 here
    buf.writeUInt32LE(ino.i_u, off + 16);
    buf.writeUInt32LE(ino.i_ino, off + 20);
    buf.writeUInt16LE(ino.i_uid, off + 24);
    buf.writeUInt16LE(ino.i_gid, off + 26);
    return;
  }
  writeU64LE(buf, ino.i_size, off + 8);
  buf.writeUInt32LE(ino.i_u, off + 16);
  buf.writeUInt32LE(ino.i_ino, off + 20);
  buf.writeUInt32LE(ino.i_uid, off + 24);
  buf.writeUInt32LE(ino.i_gid, off + 28);
  buf.writeBigUInt64LE(BigInt.asUintN(64, ino.i_mtime), off + 32);
  buf.writeUInt32LE(ino.i_mtime_nsec, off + 40);
  buf.writeUInt32LE(ino.i_nlink, off + 44);
}

/** rdev as the kernel's new_encode_dev (what erofs stores in i_u for device inodes). */
export function encodeRdev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}
