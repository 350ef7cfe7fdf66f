import { EXT4_IND_BLOCK, EXT4_N_BLOCKS, EXT4_NDIR_BLOCKS } from './constants.js';
import { OptionError } from './errors.js';
import type { Extent } from './layout/extents.js';

/**
 * Indirect block maps (ext2/ext3 style, used without the extent feature): i_block holds 12 direct
 * pointers, then single, double and triple indirect blocks of 32-bit pointers; a zero pointer is a
 * hole. Indirect blocks exist only above mapped blocks.
 */
export interface BlockMap {
  iBlock: Uint8Array;
  blocks: Array<{ pblk: number; data: Uint8Array }>;
}

/** Indirect blocks a file with these extents needs. */
export function blockMapIndirectCount(extents: Extent[], blockSize: number): number {
  let n = 0;
  walk(extents, blockSize, () => ++n, () => {});
  return n;
}

/** Builds the map with indirect blocks from `indirect` in pre-order (blockMapIndirectCount of them). */
export function buildBlockMap(extents: Extent[], indirect: number[], blockSize: number): BlockMap {
  let next = 0;
  const blocks: BlockMap['blocks'] = [];
  const iBlock = walk(extents, blockSize, () => indirect[next++]!, (pblk, data) => blocks.push({ pblk, data }));
  return { iBlock, blocks };
}

/**
 * The logical blocks at which a block-mapped file's indirect blocks come into use, in pre-order,
 * with the level of each (1 single, 2 double, 3 triple indirect): e2fsprogs allocates each one
 * just before the first data block under it.
 */
export function indirectStarts(blocks: number, blockSize: number): Array<{ lblk: number; level: number }> {
  const apb = blockSize / 4;
  const out: Array<{ lblk: number; level: number }> = [];
  let start = EXT4_NDIR_BLOCKS;
  for (let level = 1; level <= 3 && start < blocks; level++) {
    const visit = (lvl: number, from: number): void => {
      if (from >= blocks) return;
      out.push({ lblk: from, level: lvl });
      if (lvl === 1) return;
      for (let i = 0; i < apb; i++) visit(lvl - 1, from + i * apb ** (lvl - 1));
    };
    visit(level, start);
    start += apb ** level;
  }
  return out;
}

/**
 * Builds i_block, taking each indirect block's number from `take` in pre-order (a parent before
 * its children, as e2fsprogs allocates them) and handing its contents to `emit`.
 */
function walk(extents: Extent[], blockSize: number, take: () => number, emit: (pblk: number, data: Uint8Array) => void): Uint8Array {
  const apb = blockSize / 4;
  const sorted = [...extents].sort((a, b) => a.lblk - b.lblk);
  const last = sorted.length ? sorted[sorted.length - 1]!.lblk + sorted[sorted.length - 1]!.len : 0;
  if (last > EXT4_NDIR_BLOCKS + apb + apb ** 2 + apb ** 3) throw new OptionError('file too large for block maps (enable the extent feature)');
  const lookup = (lblk: number): number => {
    let lo = 0;
    let hi = sorted.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const e = sorted[mid]!;
      if (lblk < e.lblk) hi = mid - 1;
      else if (lblk >= e.lblk + e.len) lo = mid + 1;
      else return e.pblk + (lblk - e.lblk);
    }
    return 0;
  };
  const anyMapped = (from: number, to: number): boolean => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (sorted[mid]!.lblk + sorted[mid]!.len <= from) lo = mid + 1;
      else hi = mid;
    }
    return lo < sorted.length && sorted[lo]!.lblk < to;
  };
  /** The pointer for the subtree of `level` (0 = data block) starting at logical block `start`. */
  const node = (level: number, start: number): number => {
    if (level === 0) return lookup(start);
    const span = apb ** (level - 1);
    if (!anyMapped(start, start + span * apb)) return 0;
    const pblk = take();
    const data = new Uint8Array(blockSize);
    const dv = new DataView(data.buffer);
    for (let i = 0; i < apb; i++) dv.setUint32(i * 4, node(level - 1, start + i * span), true);
    emit(pblk, data);
    return pblk;
  };
  const iBlock = new Uint8Array(EXT4_N_BLOCKS * 4);
  const dv = new DataView(iBlock.buffer);
  for (let i = 0; i < EXT4_NDIR_BLOCKS; i++) dv.setUint32(i * 4, lookup(i), true);
  let start = EXT4_NDIR_BLOCKS;
  for (let level = 1; level <= 3; level++) {
    dv.setUint32((EXT4_IND_BLOCK + level - 1) * 4, node(level, start), true);
    start += apb ** level;
  }
  return iBlock;
}
