import { EROFS_BLOCK_MAP_ENTRY_SIZE, EROFS_CHUNK_FORMAT_BLKBITS_MASK, EROFS_CHUNK_FORMAT_INDEXES, EROFS_CHUNK_INDEX_SIZE, EROFS_NULL_ADDR, READER_CHUNK_FORMAT_ALL } from './constants.js';
import type { ErofsWhere, Fail } from './errors.js';

/** struct erofs_inode_chunk_info (the i_u word of a CHUNK_BASED inode), decoded. */
export interface ChunkFormat {
  /** log2 of the chunk size in bytes: blkszbits + format & 0x1f. */
  chunkbits: number;
  /** 8-byte erofs_inode_chunk_index entries (device + block) or a 4-byte block map. */
  indexes: boolean;
  entrySize: number;
}

/** One chunk's location, or null for a hole (EROFS_NULL_ADDR). */
export interface ChunkRef {
  device_id: number;
  blkaddr: number;
}

export function parseChunkFormat(i_u: number, blkszbits: number, fail: Fail, where: ErofsWhere): ChunkFormat {
  const format = i_u & 0xffff;
  if (format & ~READER_CHUNK_FORMAT_ALL) fail('UNSUPPORTED', `chunk format 0x${format.toString(16)} has unknown bits`, where);
  const chunkbits = blkszbits + (format & EROFS_CHUNK_FORMAT_BLKBITS_MASK);
  if (chunkbits > 47) fail('BAD_CHUNK', `chunk size 2^${chunkbits} out of range`, where);
  const indexes = (format & EROFS_CHUNK_FORMAT_INDEXES) !== 0;
  return { chunkbits, indexes, entrySize: indexes ? EROFS_CHUNK_INDEX_SIZE : EROFS_BLOCK_MAP_ENTRY_SIZE };
}

/**
 * Byte offset of the chunk table: right after the inode and its inline xattrs, rounded up to the
 * entry size (an odd number of 4-byte xattr units shifts 8-byte indexes).
 */
export function chunkTableOffset(iloc: number, inode_isize: number, xattr_isize: number, entrySize: number): number {
  return Math.ceil((iloc + inode_isize + xattr_isize) / entrySize) * entrySize;
}

/**
 * Decodes one table entry. 4-byte maps hold a block address on the primary device; 8-byte indexes
 * hold startblk_hi (unused without 48BIT), device_id (masked by the device-id mask) and startblk_lo.
 */
export function parseChunkEntry(b: Uint8Array, fmt: ChunkFormat, deviceIdMask: number): ChunkRef | null {
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  if (!fmt.indexes) {
    const blkaddr = v.getUint32(0, true);
    return blkaddr === EROFS_NULL_ADDR ? null : { device_id: 0, blkaddr };
  }
  const blkaddr = v.getUint32(4, true);
  if (blkaddr === EROFS_NULL_ADDR) return null;
  return { device_id: v.getUint16(2, true) & deviceIdMask, blkaddr };
}

/** The kernel's device_id_mask: roundup_pow_of_two(extra_devices + 1) - 1. */
export function deviceIdMask(extra_devices: number): number {
  let p = 1;
  while (p < extra_devices + 1) p *= 2;
  return p - 1;
}
