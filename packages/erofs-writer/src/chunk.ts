import {
  EROFS_BLOCK_MAP_ENTRY_SIZE,
  EROFS_CHUNK_FORMAT_BLKBITS_MASK,
  EROFS_CHUNK_FORMAT_INDEXES,
  EROFS_CHUNK_INDEX_SIZE,
  EROFS_NULL_ADDR,
} from './constants.js';

/** Where one chunk's blocks are: a block address on a device (0 = this image), or a hole. */
export interface ChunkRef {
  blkaddr: number;
  device_id: number;
}
export const HOLE: ChunkRef = { blkaddr: EROFS_NULL_ADDR, device_id: 0 };

/**
 * struct erofs_inode_chunk_info.format: log2(chunk size / block size) in the low 5 bits, plus
 * EROFS_CHUNK_FORMAT_INDEXES for 8-byte struct erofs_inode_chunk_index entries (needed to name a
 * device); without it the array is 4-byte block addresses.
 */
export function chunkFormat(chunkBits: number, blkszbits: number, indexes: boolean): number {
  const rel = chunkBits - blkszbits;
  if (rel < 0 || rel > EROFS_CHUNK_FORMAT_BLKBITS_MASK) throw new Error(`chunk size 2^${chunkBits} out of range`);
  return rel | (indexes ? EROFS_CHUNK_FORMAT_INDEXES : 0);
}

export function chunkEntrySize(indexes: boolean): number {
  return indexes ? EROFS_CHUNK_INDEX_SIZE : EROFS_BLOCK_MAP_ENTRY_SIZE;
}

/** Number of chunks covering `size` bytes. */
export function chunkCount(size: number, chunkBits: number): number {
  return Number((BigInt(size) + (1n << BigInt(chunkBits)) - 1n) >> BigInt(chunkBits));
}

/** Encodes the chunk array at `off` (which the caller aligned to the entry size). */
export function encodeChunks(chunks: readonly ChunkRef[], indexes: boolean, buf: Buffer, off: number): void {
  chunks.forEach((c, i) => {
    if (indexes) {
      const at = off + i * EROFS_CHUNK_INDEX_SIZE;
      buf.writeUInt16LE(0, at); // startblk_hi (formerly advise): block addresses here fit 32 bits
      buf.writeUInt16LE(c.blkaddr === EROFS_NULL_ADDR ? 0 : c.device_id, at + 2);
      buf.writeUInt32LE(c.blkaddr, at + 4);
    } else {
      buf.writeUInt32LE(c.blkaddr, off + i * EROFS_BLOCK_MAP_ENTRY_SIZE);
    }
  });
}
