import { hi32, lo32, splitTime } from '@fstools/fstree';
import { EXT4_GOOD_OLD_INODE_SIZE } from './constants.js';
import { ext4Chksum } from './csum.js';

/** A timestamp as seconds since the epoch and nanoseconds. */
export interface Timestamp {
  sec: bigint;
  nsec: number;
}

/** The struct ext4_inode fields this writer sets; sizes and block counts are 64-bit values. */
export interface InodeFields {
  i_mode: number;
  i_uid: number;
  i_gid: number;
  i_size: number;
  i_links_count: number;
  /** i_blocks in 512-byte units (huge_file's per-block unit is never needed). */
  i_blocks: number;
  i_flags: number;
  /** The 60 bytes of i_block: block map, extent root, fast symlink target or device number. */
  i_block: Uint8Array;
  i_file_acl: number;
  i_atime: Timestamp;
  i_ctime: Timestamp;
  i_mtime: Timestamp;
  /** Only in large inodes. */
  i_crtime: Timestamp;
  /** Bytes of the large inode in use past 128 (0 or 32). */
  i_extra_isize: number;
  /** The in-inode extended attribute area (after i_extra_isize), if any. */
  xattrs?: Uint8Array;
}

/** Earliest and latest seconds a large inode can store: a signed 32-bit field plus 2 epoch bits. */
export const EXT4_TIME_MIN = -(2n ** 31n);
export const EXT4_TIME_MAX = 3n * 2n ** 32n + 2n ** 31n - 1n;
/** Without the extra fields (128-byte inodes) only the signed 32-bit seconds remain. */
export const EXT4_OLD_TIME_MAX = 2n ** 31n - 1n;

/**
 * The time an inode stores for an mtime (ns since the epoch): clamped to the build time `clamp`
 * (seconds) when later, then to what an inode of `inodeSize` bytes holds (128-byte inodes have
 * no nanoseconds and end in 2038). Both the inode records and the content-derived UUID and hash
 * seed use it, so the identity follows what is written, not the source's raw metadata.
 */
export function storedTime(mtime: bigint, clamp: bigint | undefined, inodeSize: number): Timestamp {
  let { sec, nsec } = splitTime(mtime);
  if (clamp !== undefined && sec >= clamp && !(sec === clamp && nsec === 0)) {
    sec = clamp;
    nsec = 0;
  }
  const large = inodeSize > EXT4_GOOD_OLD_INODE_SIZE;
  const max = large ? EXT4_TIME_MAX : EXT4_OLD_TIME_MAX;
  if (sec > max) return { sec: max, nsec: large ? 999999999 : 0 };
  if (sec < EXT4_TIME_MIN) return { sec: EXT4_TIME_MIN, nsec: 0 };
  return { sec, nsec: large ? nsec : 0 };
}

/**
 * Splits seconds into the 32-bit field and the extra field (ext4_encode_extra_time): the
 * extra word's low 2 bits are bits 32..33 of (sec - (int32)sec), the rest is nsec << 2.
 */
function encodeTime(t: Timestamp): { base: number; extra: number } {
  const low = BigInt.asIntN(32, t.sec);
  const epoch = Number(((t.sec - low) >> 32n) & 3n);
  return { base: Number(BigInt.asUintN(32, t.sec)), extra: ((t.nsec << 2) | epoch) >>> 0 };
}

/**
 * Writes an inode of `inodeSize` bytes at `off` (ext4 docs, "Index Nodes"). With the inode's
 * checksum seed (csum.ts inodeCsumSeed: fs seed, inode number, i_generation) the inode checksum is
 * crc32c(seed, inode with both checksum fields zeroed); its high half is stored only when
 * i_extra_isize covers i_checksum_hi.
 */
export function encodeInode(out: Uint8Array, off: number, inodeSize: number, f: InodeFields, csumSeed: number | undefined): void {
  const b = out.subarray(off, off + inodeSize);
  b.fill(0);
  const dv = new DataView(b.buffer, b.byteOffset, inodeSize);
  dv.setUint16(0x00, f.i_mode, true);
  dv.setUint16(0x02, f.i_uid & 0xffff, true);
  dv.setUint32(0x04, lo32(f.i_size), true);
  const at = encodeTime(f.i_atime);
  const ct = encodeTime(f.i_ctime);
  const mt = encodeTime(f.i_mtime);
  dv.setUint32(0x08, at.base, true);
  dv.setUint32(0x0c, ct.base, true);
  dv.setUint32(0x10, mt.base, true);
  dv.setUint16(0x18, f.i_gid & 0xffff, true);
  dv.setUint16(0x1a, f.i_links_count, true);
  dv.setUint32(0x1c, lo32(f.i_blocks), true);
  dv.setUint32(0x20, f.i_flags, true);
  b.set(f.i_block, 0x28);
  dv.setUint32(0x68, lo32(f.i_file_acl), true);
  dv.setUint32(0x6c, hi32(f.i_size), true);
  dv.setUint16(0x74, hi32(f.i_blocks), true);
  dv.setUint16(0x76, hi32(f.i_file_acl), true);
  dv.setUint16(0x78, f.i_uid >>> 16, true);
  dv.setUint16(0x7a, f.i_gid >>> 16, true);
  if (inodeSize > EXT4_GOOD_OLD_INODE_SIZE) {
    dv.setUint16(0x80, f.i_extra_isize, true);
    if (f.i_extra_isize >= 0x18) {
      dv.setUint32(0x84, ct.extra, true);
      dv.setUint32(0x88, mt.extra, true);
      dv.setUint32(0x8c, at.extra, true);
      const cr = encodeTime(f.i_crtime);
      dv.setUint32(0x90, cr.base, true);
      dv.setUint32(0x94, cr.extra, true);
    }
    if (f.xattrs) b.set(f.xattrs, EXT4_GOOD_OLD_INODE_SIZE + f.i_extra_isize);
  }
  if (csumSeed !== undefined) setInodeCsum(b, csumSeed);
}

/** Fills in i_checksum_lo (and i_checksum_hi when i_extra_isize reaches it) of an encoded inode. */
function setInodeCsum(b: Uint8Array, csumSeed: number): void {
  const dv = new DataView(b.buffer, b.byteOffset, b.length);
  const hasHi = b.length > EXT4_GOOD_OLD_INODE_SIZE && dv.getUint16(0x80, true) >= 4;
  dv.setUint16(0x7c, 0, true);
  if (hasHi) dv.setUint16(0x82, 0, true);
  const crc = ext4Chksum(csumSeed, b);
  dv.setUint16(0x7c, crc & 0xffff, true);
  if (hasHi) dv.setUint16(0x82, crc >>> 16, true);
}
