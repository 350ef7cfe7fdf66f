import { hi32, lo32 } from '@fstools/fstree';
import { EXT4_EXT_ENTRY_SIZE, EXT4_EXT_HEADER_SIZE, EXT4_EXT_MAGIC, EXT4_MAX_EXTENT_DEPTH, EXT4_N_BLOCKS, EXT_INIT_MAX_LEN } from './constants.js';
import { ext4Chksum } from './csum.js';
import { OptionError } from './errors.js';
import type { Extent } from './layout/extents.js';

/** Entries that fit in i_block's 60 bytes after the header. */
const ROOT_ENTRIES = (EXT4_N_BLOCKS * 4 - EXT4_EXT_HEADER_SIZE) / EXT4_EXT_ENTRY_SIZE;

/** Entries per tree block: the 4-byte checksum tail fits in what is left over at every block size. */
function entriesPerBlock(blockSize: number): number {
  return Math.floor((blockSize - EXT4_EXT_HEADER_SIZE) / EXT4_EXT_ENTRY_SIZE);
}

/** Cuts extents to ext4's longest initialized extent (32768 blocks). */
export function splitLongExtents(extents: Iterable<Extent>): Extent[] {
  const out: Extent[] = [];
  for (const e of extents) {
    for (let done = 0; done < e.len; done += EXT_INIT_MAX_LEN) {
      out.push({ lblk: e.lblk + done, pblk: e.pblk + done, len: Math.min(EXT_INIT_MAX_LEN, e.len - done) });
    }
  }
  return out;
}

/**
 * Blocks per level of the smallest tree holding `count` extents, leaves first: every node full but
 * the last of its level, so e2fsck finds nothing to narrow or shorten.
 */
function extentTreeLevels(count: number, blockSize: number): number[] {
  const per = entriesPerBlock(blockSize);
  const levels: number[] = [];
  let n = count;
  while (n > ROOT_ENTRIES) {
    n = Math.ceil(n / per);
    levels.push(n);
  }
  if (levels.length > EXT4_MAX_EXTENT_DEPTH) throw new OptionError('file too fragmented for an extent tree');
  return levels;
}

export function extentTreeBlockCount(count: number, blockSize: number): number {
  return extentTreeLevels(count, blockSize).reduce((a, b) => a + b, 0);
}

export interface ExtentTree {
  /** The 60 bytes for i_block. */
  root: Uint8Array;
  /** Tree blocks with their contents, at the block numbers given. */
  blocks: Array<{ pblk: number; data: Uint8Array }>;
}

interface Entry {
  lblk: number;
  /** Leaf: extent start and length. Index: child block (len unused). */
  pblk: number;
  len: number;
}

/**
 * Builds the extent tree (ext4 docs, "Extent Tree") for extents no longer than 32768 blocks, in
 * `treeBlocks` (extentTreeBlockCount of them, leaves first). `inodeSeed` is the per-inode
 * checksum seed when metadata_csum is on: tree blocks end with crc32c(seed, block up to the tail).
 */
export function buildExtentTree(extents: Extent[], treeBlocks: number[], blockSize: number, inodeSeed: number | undefined): ExtentTree {
  const per = entriesPerBlock(blockSize);
  const blocks: ExtentTree['blocks'] = [];
  let level: Entry[] = extents.map((e) => ({ lblk: e.lblk, pblk: e.pblk, len: e.len }));
  let depth = 0;
  let next = 0;
  while (level.length > ROOT_ENTRIES) {
    const parents: Entry[] = [];
    for (let i = 0; i < level.length; i += per) {
      const chunk = level.slice(i, i + per);
      const pblk = treeBlocks[next++]!;
      const data = new Uint8Array(blockSize);
      writeNode(data, chunk, per, depth);
      if (inodeSeed !== undefined) {
        const tail = EXT4_EXT_HEADER_SIZE + per * EXT4_EXT_ENTRY_SIZE;
        new DataView(data.buffer).setUint32(tail, ext4Chksum(inodeSeed, data.subarray(0, tail)), true);
      }
      blocks.push({ pblk, data });
      parents.push({ lblk: chunk[0]!.lblk, pblk, len: 0 });
    }
    level = parents;
    depth++;
  }
  const root = new Uint8Array(EXT4_N_BLOCKS * 4);
  writeNode(root, level, ROOT_ENTRIES, depth);
  return { root, blocks };
}

/** struct ext4_extent_header followed by ext4_extent (depth 0) or ext4_extent_idx entries. */
function writeNode(out: Uint8Array, entries: Entry[], max: number, depth: number): void {
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  dv.setUint16(0, EXT4_EXT_MAGIC, true);
  dv.setUint16(2, entries.length, true);
  dv.setUint16(4, max, true);
  dv.setUint16(6, depth, true);
  entries.forEach((e, i) => {
    const o = EXT4_EXT_HEADER_SIZE + i * EXT4_EXT_ENTRY_SIZE;
    if (depth === 0) writeExtentEntry(dv, o, e);
    else {
      // ei_block, ei_leaf_lo, ei_leaf_hi
      dv.setUint32(o, e.lblk, true);
      dv.setUint32(o + 4, lo32(e.pblk), true);
      dv.setUint16(o + 8, hi32(e.pblk), true);
    }
  });
}

/** struct ext4_extent at `o`: ee_block, ee_len, ee_start_hi, ee_start_lo. */
export function writeExtentEntry(dv: DataView, o: number, e: Extent): void {
  dv.setUint32(o, e.lblk, true);
  dv.setUint16(o + 4, e.len, true);
  dv.setUint16(o + 6, hi32(e.pblk), true);
  dv.setUint32(o + 8, lo32(e.pblk), true);
}
