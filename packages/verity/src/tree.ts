import { VERITY_SB_SIZE } from './superblock.js';

/** SHA-256: 32-byte digests, already a power of two, so each slot of a hash block is 32 bytes. */
export const DIGEST_SIZE = 32;

/** One level of the hash tree: `blocks` hash blocks from byte `offset` of the hash file. */
export interface TreeLevel {
  blocks: number;
  offset: number;
}

/** Where everything sits: the superblock at hashOffset, then the levels, the top (smallest) first. */
export interface TreeGeometry {
  dataBlocks: number;
  dataBlockSize: number;
  hashBlockSize: number;
  /** Digest slots per hash block. */
  hashPerBlock: number;
  /** The superblock's offset in the hash file. */
  hashOffset: number;
  /** The first hash block after the superblock (the kernel's hash_start_block, in bytes). */
  treeOffset: number;
  /** levels[0] holds the data blocks' digests (stored last); levels.at(-1) is the single top block. */
  levels: TreeLevel[];
  /** The byte after the last hash block: the hash file's size at least. */
  end: number;
}

/**
 * The tree's shape, as the kernel's dm-verity constructor and veritysetup compute it: each level
 * holds ceil(blocks below / hashPerBlock) blocks, up to the first level of one block. One data
 * block needs no level at all: its own digest is the root hash. The levels are laid out from
 * the top down, the superblock's block first, so the tree starts at the hash block boundary at
 * or after hashOffset + 512.
 */
export function treeGeometry(dataBlocks: number, dataBlockSize: number, hashBlockSize: number, hashOffset: number): TreeGeometry {
  const hashPerBlock = hashBlockSize / DIGEST_SIZE;
  const counts: number[] = [];
  for (let n = dataBlocks; n > 1; ) {
    n = Math.ceil(n / hashPerBlock);
    counts.push(n);
  }
  const treeOffset = Math.ceil((hashOffset + VERITY_SB_SIZE) / hashBlockSize) * hashBlockSize;
  const levels: TreeLevel[] = new Array(counts.length);
  let at = treeOffset;
  for (let i = counts.length - 1; i >= 0; i--) {
    levels[i] = { blocks: counts[i]!, offset: at };
    at += counts[i]! * hashBlockSize;
  }
  return { dataBlocks, dataBlockSize, hashBlockSize, hashPerBlock, hashOffset, treeOffset, levels, end: at };
}
