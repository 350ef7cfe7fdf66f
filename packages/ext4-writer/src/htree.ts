import { DX_HASH_HALF_MD4, EXT4_DX_TAIL_SIZE } from './constants.js';
import { ext4Chksum } from './csum.js';
import type { DirBlockFormat, DirEntry } from './dirent.js';
import { direntSize, dotEntries, encodeLeafBlock, leafSpace, packEntries, writeDirent } from './dirent.js';
import { halfMd4Hash } from './dirhash.js';
import { OptionError } from './errors.js';

/**
 * Hash-tree directories (ext4 docs, "Hash Tree Directories"): block 0 holds "." and ".." and the
 * dx root, then come interior dx nodes (when one root cannot index every leaf) and the leaves.
 * Leaves hold entries sorted by hash; each index entry carries the lowest hash of its child, with
 * bit 0 set when that child continues a run of equal hashes from the previous one.
 */

/** Offset of dx_countlimit in the root block: "." (12) + ".." (12) + dx_root_info (8). */
const ROOT_COUNT_OFFSET = 32;
/** Offset of dx_countlimit in an interior node: a fake 8-byte empty dirent spanning the block. */
const NODE_COUNT_OFFSET = 8;
const DX_ENTRY_SIZE = 8;

function dxRootLimit(f: DirBlockFormat): number {
  return (f.blockSize - ROOT_COUNT_OFFSET - (f.csum ? EXT4_DX_TAIL_SIZE : 0)) / DX_ENTRY_SIZE;
}

function dxNodeLimit(f: DirBlockFormat): number {
  return (f.blockSize - NODE_COUNT_OFFSET - (f.csum ? EXT4_DX_TAIL_SIZE : 0)) / DX_ENTRY_SIZE;
}

/**
 * How a directory's entries are arranged in blocks, decided before block numbers are known:
 * linear blocks (the first starting with "." and ".."), or an hash tree's leaves with their
 * starting hashes and the count of interior dx nodes.
 */
export type DirShape =
  | { indexed: false; parts: DirEntry[][] }
  | { indexed: true; leaves: DirEntry[][]; starts: number[]; nodeCount: number };

/**
 * Lays out a directory as the kernel would keep it: one linear block while everything fits, else
 * an hash tree; without `index` (no dir_index) always linear, padded to `minBlocks` blocks.
 */
export function shapeDir(ino: number, parent: number, entries: DirEntry[], f: DirBlockFormat, index: { seed: number[] } | undefined, minBlocks = 1): DirShape {
  const parts = packEntries([...dotEntries(ino, parent), ...entries], leafSpace(f));
  if (parts.length === 1 || !index) {
    while (parts.length < minBlocks) parts.push([]);
    return { indexed: false, parts };
  }
  return hashedShape(entries, f, index.seed);
}

export function shapeBlockCount(shape: DirShape): number {
  return shape.indexed ? 1 + shape.nodeCount + shape.leaves.length : shape.parts.length;
}

interface Hashed {
  entry: DirEntry;
  hash: number;
  minor: number;
}

/** Leaves filled in hash order; a second dx level when the root cannot index every leaf. */
function hashedShape(entries: DirEntry[], f: DirBlockFormat, seed: number[]): DirShape {
  const hashed: Hashed[] = entries.map((entry) => ({ entry, ...halfMd4Hash(entry.name, seed) }));
  hashed.sort((a, b) => a.hash - b.hash || a.minor - b.minor || Buffer.compare(a.entry.name, b.entry.name));
  const leaves: Hashed[][] = [];
  const space = leafSpace(f);
  let used = space;
  for (const h of hashed) {
    const size = direntSize(h.entry.name.length);
    if (used + size > space) {
      leaves.push([]);
      used = 0;
    }
    leaves[leaves.length - 1]!.push(h);
    used += size;
  }
  // Lowest hash of each leaf, with the continuation bit when the previous leaf ends on that hash.
  const starts = leaves.map((l, i) => {
    const first = l[0]!.hash;
    const prev = i > 0 ? leaves[i - 1]![leaves[i - 1]!.length - 1]!.hash : -1;
    return (first === prev ? first | 1 : first) >>> 0;
  });
  const nodeCount = leaves.length <= dxRootLimit(f) ? 0 : Math.ceil(leaves.length / dxNodeLimit(f));
  if (nodeCount > dxRootLimit(f)) throw new OptionError(`a directory with ${entries.length} entries needs a third htree level (largedir is not supported)`);
  return { indexed: true, leaves: leaves.map((l) => l.map((h) => h.entry)), starts, nodeCount };
}

/** A directory's blocks in logical order, and which are leaves (dirent tail) rather than dx nodes. */
export interface DirBlocks {
  blocks: Uint8Array[];
  leaf: boolean[];
}

export function encodeDir(shape: DirShape, ino: number, parent: number, f: DirBlockFormat): DirBlocks {
  if (!shape.indexed) return { blocks: shape.parts.map((p) => encodeLeafBlock(p, f)), leaf: shape.parts.map(() => true) };
  const { leaves, starts, nodeCount } = shape;
  const rootLimit = dxRootLimit(f);
  const nodeLimit = dxNodeLimit(f);
  // Block numbers: 0 root, 1..nodeCount interior nodes, then the leaves.
  const leafBlock = (i: number): number => 1 + nodeCount + i;
  const nodes: Uint8Array[] = [];
  let rootEntries: Array<[number, number]>;
  if (nodeCount === 0) rootEntries = starts.map((h, i) => [h, leafBlock(i)]);
  else {
    rootEntries = [];
    for (let n = 0; n < nodeCount; n++) {
      const first = n * nodeLimit;
      const children = starts.slice(first, first + nodeLimit).map((h, i): [number, number] => [h, leafBlock(first + i)]);
      nodes.push(
        dxBlock(f, NODE_COUNT_OFFSET, nodeLimit, children, (dv) => {
          dv.setUint16(4, f.blockSize, true); // fake dirent: inode 0, rec_len = whole block
        }),
      );
      rootEntries.push([starts[first]!, 1 + n]);
    }
  }
  const root = dxBlock(f, ROOT_COUNT_OFFSET, rootLimit, rootEntries, (dv) => {
    const [dot, dotdot] = dotEntries(ino, parent) as [DirEntry, DirEntry];
    writeDirent(dv, 0, dot, direntSize(1), f.filetype);
    writeDirent(dv, 12, dotdot, f.blockSize - 12, f.filetype);
    // dx_root_info at 24: reserved_zero (u32), hash_version, info_length, indirect_levels, unused_flags.
    dv.setUint8(28, DX_HASH_HALF_MD4);
    dv.setUint8(29, 8);
    dv.setUint8(30, nodeCount ? 1 : 0);
  });
  const blocks = [root, ...nodes, ...leaves.map((l) => encodeLeafBlock(l, f))];
  return { blocks, leaf: blocks.map((_, i) => i > nodeCount) };
}

/**
 * A dx root or node: `header` fills what precedes dx_countlimit; entries are (hash, block) with
 * the first entry's hash slot holding limit and count.
 */
function dxBlock(f: DirBlockFormat, countOffset: number, limit: number, entries: Array<[number, number]>, header: (dv: DataView) => void): Uint8Array {
  const block = new Uint8Array(f.blockSize);
  const dv = new DataView(block.buffer);
  header(dv);
  dv.setUint16(countOffset, limit, true);
  dv.setUint16(countOffset + 2, entries.length, true);
  entries.forEach(([hash, blk], i) => {
    const o = countOffset + i * DX_ENTRY_SIZE;
    if (i > 0) dv.setUint32(o, hash, true);
    dv.setUint32(o + 4, blk, true);
  });
  return block;
}

/**
 * dx node checksum (ext4_dx_csum): crc32c(inode seed, block up to the last used entry, then the
 * dx_tail with a zero checksum); stored in the tail after `limit` entries.
 */
export function setDxCsum(block: Uint8Array, inodeSeed: number, isRoot: boolean): void {
  const dv = new DataView(block.buffer, block.byteOffset, block.length);
  const countOffset = isRoot ? ROOT_COUNT_OFFSET : NODE_COUNT_OFFSET;
  const limit = dv.getUint16(countOffset, true);
  const count = dv.getUint16(countOffset + 2, true);
  const tail = countOffset + limit * DX_ENTRY_SIZE;
  let crc = ext4Chksum(inodeSeed, block.subarray(0, countOffset + count * DX_ENTRY_SIZE));
  crc = ext4Chksum(crc, block.subarray(tail, tail + 4)); // dt_reserved
  crc = ext4Chksum(crc, new Uint8Array(4)); // dt_checksum taken as zero
  dv.setUint32(tail + 4, crc, true);
}
