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
  const v = new DataView(buf.buffer, buf.byteOffset + off, inodeSize(ino.extended));
  const format = (ino.extended ? EROFS_INODE_LAYOUT_EXTENDED : EROFS_INODE_LAYOUT_COMPACT) | (ino.datalayout << EROFS_I_DATALAYOUT_BIT);
  v.setUint16(0, format, true);
  v.setUint16(2, ino.i_xattr_icount, true);
  v.setUint16(4, ino.i_mode, true);
  if (!ino.extended) {
    v.setUint16(6, ino.i_nlink, true);
    v.setUint32(8, ino.i_size, true);
    v.setUint32(12, 0, true); // i_mtime offset from build_time (kernels >= 6.15): always 0 here
    v.setUint32(16, ino.i_u, true);
    v.setUint32(20, ino.i_ino, true);
    v.setUint16(24, ino.i_uid, true);
    v.setUint16(26, ino.i_gid, true);
    return;
  }
  v.setBigUint64(8, BigInt(ino.i_size), true);
  v.setUint32(16, ino.i_u, true);
  v.setUint32(20, ino.i_ino, true);
  v.setUint32(24, ino.i_uid, true);
  v.setUint32(28, ino.i_gid, true);
  v.setBigUint64(32, BigInt.asUintN(64, ino.i_mtime), true);
  v.setUint32(40, ino.i_mtime_nsec, true);
  v.setUint32(44, ino.i_nlink, true);
}

/** rdev as the kernel's new_encode_dev (what erofs stores in i_u for device inodes). */
export function encodeRdev(major: number, minor: number): number {
  return ((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12)) >>> 0;
}
