import { ext4Chksum } from './csum.js';

/** Sets bits [from, to) of a little-endian bitmap (bit i is byte i/8, bit i%8). */
function setBits(bitmap: Uint8Array, from: number, to: number): void {
  let i = from;
  while (i < to && i % 8) bitmap[i >> 3]! |= 1 << (i & 7), i++;
  const fullEnd = to - (to % 8);
  if (i < fullEnd) {
    bitmap.fill(0xff, i >> 3, fullEnd >> 3);
    i = fullEnd;
  }
  while (i < to) bitmap[i >> 3]! |= 1 << (i & 7), i++;
}

/**
 * A group's block or inode bitmap: one block, a bit per block (inode) of the group, used runs
 * given relative to the group's start. Bits past the group's `valid` entries are set: the padding
 * of a short last group, of blocks beyond blocks-per-group and of inodes beyond inodes-per-group.
 */
export function buildBitmap(blockSize: number, valid: number, used: Iterable<[number, number]>): Uint8Array {
  const bitmap = new Uint8Array(blockSize);
  for (const [s, e] of used) setBits(bitmap, s, e);
  setBits(bitmap, valid, blockSize * 8);
  return bitmap;
}

/**
 * Bitmap checksum (ext4_block_bitmap_csum_set / ext4_inode_bitmap_csum_set): crc32c from the fs
 * seed over the bytes covering `bits` (blocks per group or inodes per group).
 */
export function bitmapCsum(seed: number, bitmap: Uint8Array, bits: number): number {
  return ext4Chksum(seed, bitmap.subarray(0, bits / 8));
}
