import { indirectStarts } from '../blockmap.js';
import { EXT_INIT_MAX_LEN } from '../constants.js';
import { OptionError, TooSmallError } from '../errors.js';
import { BlockSet } from './block-set.js';
import type { Extent } from './extents.js';
import { appendExtent } from './extents.js';
import type { Geometry } from './geometry.js';
import { groupBase, groupBlockCount, groupFirstBlock, groupOfBlock } from './groups.js';

/**
 * The blocks placed before any content, in mke2fs's order and by its rules, so an empty image
 * matches mke2fs block for block: superblock and descriptor copies, bitmaps and inode tables
 * (lib/ext2fs/alloc_tables.c), the first blocks of / and /lost+found, the resize inode's
 * double-indirect block (res_gdt.c) and the journal (mkjournal.c, fallocate.c).
 */
export interface FixedLayout {
  geo: Geometry;
  /** Every block the above occupy. */
  reserved: BlockSet;
  blockBitmap: Float64Array;
  inodeBitmap: Float64Array;
  inodeTable: Float64Array;
  rootBlock: number;
  lostFoundBlocks: Extent[];
  /** The resize inode's double-indirect block, or -1. */
  resizeDind: number;
  /** The journal's extents (logical order) and the blocks mapping it: an extent tree leaf, or indirect blocks in pre-order. */
  journal: { extents: Extent[]; mapBlocks: number[] } | undefined;
}

/** /lost+found grows as mke2fs makes it: to 16 KiB and at least two blocks, within 12 blocks. */
export function lostFoundBlockCount(blockSize: number): number {
  let blocks = 1;
  for (let i = 1; i < 12; i++) {
    const size = i * blockSize;
    if (size >= 16 * 1024 && size >= 2 * blockSize) break;
    blocks++;
  }
  return blocks;
}

export function planFixedLayout(geo: Geometry): FixedLayout {
  const used = new BlockSet(geo.firstDataBlock, geo.blocksPerGroup);
  const n = geo.groupCount;
  for (let g = 0; g < n; g++) {
    const b = groupBase(geo, g);
    if (b.superBlock >= 0) used.mark(b.superBlock, 1);
    if (b.descBlock >= 0) used.mark(b.descBlock, Math.min(b.descCount, geo.blocksCount - b.descBlock));
    if (b.metaDescBlock >= 0) used.mark(b.metaDescBlock, 1);
  }
  if (geo.firstDataBlock === 0) used.mark(0, 1);

  const alloc = new TableAllocator(geo, used);
  const blockBitmap = new Float64Array(n);
  const inodeBitmap = new Float64Array(n);
  const inodeTable = new Float64Array(n);
  for (let g = 0; g < n; g++) alloc.groupTables(g, blockBitmap, inodeBitmap, inodeTable);

  const first = (goal: number): number => {
    const b = alloc.firstFreeWrapping(goal);
    used.mark(b, 1);
    return b;
  };
  const rootBlock = first(geo.firstDataBlock);
  // /lost+found: its first block, then each expansion the first free block after the last one.
  const lostFound = [first(geo.firstDataBlock)];
  while (lostFound.length < lostFoundBlockCount(geo.blockSize)) lostFound.push(first(lostFound[lostFound.length - 1]!));
  const lostFoundBlocks = toExtents(lostFound);
  const resizeDind = geo.features.has('resize_inode')
    ? first(geo.firstDataBlock + geo.descBlocks + geo.reservedGdtBlocks + 2 + geo.inodeBlocksPerGroup)
    : -1;
  const journal = geo.journalBlocks === 0 ? undefined : geo.features.has('extent') ? placeJournal(geo, used, alloc) : placeMappedJournal(geo, used, alloc);
  return { geo, reserved: used, blockBitmap, inodeBitmap, inodeTable, rootBlock, lostFoundBlocks, resizeDind, journal };
}

function toExtents(blocks: number[]): Extent[] {
  const out: Extent[] = [];
  blocks.forEach((pblk, lblk) => {
    const last = out[out.length - 1];
    if (last && last.pblk + last.len === pblk) last.len++;
    else out.push({ lblk, pblk, len: 1 });
  });
  return out;
}

/** The journal: contiguous free runs from a group near the middle of the filesystem. */
function placeJournal(geo: Geometry, used: BlockSet, alloc: TableAllocator): { extents: Extent[]; mapBlocks: number[] } {
  let pblk = groupFirstBlock(geo, midpointGroup(geo, used));
  const extents: Extent[] = [];
  let leaf = -1;
  let lblk = 0;
  while (lblk < geo.journalBlocks) {
    const want = Math.min(geo.journalBlocks - lblk, EXT_INIT_MAX_LEN);
    let start = used.nextFree(pblk);
    if (start >= geo.blocksCount) start = used.nextFree(geo.firstDataBlock);
    if (start >= geo.blocksCount) throw new TooSmallError("no room for the journal");
    const end = used.nextUsed(start, Math.min(start + want, geo.blocksCount));
    used.mark(start, end - start);
    extents.push({ lblk, pblk: start, len: end - start });
    lblk += end - start;
    pblk = end >= geo.blocksCount ? geo.firstDataBlock : end;
    // The fifth extent overflows i_block: the root moves to a leaf block, placed just before the
    // first extent if that block is free (extent.c, extent_node_split).
    if (extents.length === 5) {
      leaf = alloc.firstFreeWrapping(extents[0]!.pblk - 1);
      used.mark(leaf, 1);
    }
  }
  return { extents, mapBlocks: leaf >= 0 ? [leaf] : [] };
}

/**
 * A block-mapped journal (no extent feature) is allocated block by block from the start of the
 * filesystem, each indirect block just before the first data block under it (ext2fs_bmap2 with
 * BMAP_ALLOC: every goal is the block allocated last).
 */
function placeMappedJournal(geo: Geometry, used: BlockSet, alloc: TableAllocator): { extents: Extent[]; mapBlocks: number[] } {
  const starts = indirectStarts(geo.journalBlocks, geo.blockSize);
  const extents: Extent[] = [];
  const mapBlocks: number[] = [];
  let goal = geo.firstDataBlock;
  const next = (): number => {
    goal = alloc.firstFreeWrapping(goal);
    used.mark(goal, 1);
    return goal;
  };
  let k = 0;
  for (let lblk = 0; lblk < geo.journalBlocks; lblk++) {
    while (k < starts.length && starts[k]!.lblk === lblk) {
      mapBlocks.push(next());
      k++;
    }
    appendExtent(extents, { lblk, pblk: next(), len: 1 });
  }
  return { extents, mapBlocks };
}

/** get_midpoint_journal_block(): the group near the middle with the most free blocks. */
function midpointGroup(geo: Geometry, used: BlockSet): number {
  const free = (g: number): number => {
    const start = groupFirstBlock(geo, g);
    return groupBlockCount(geo, g) - used.countIn(start, start + groupBlockCount(geo, g));
  };
  // The group of the block numbered half the block count (not of the middle block: mke2fs's arithmetic).
  let group = groupOfBlock(geo, Math.floor((geo.blocksCount - geo.firstDataBlock) / 2));
  const flex = 1 << geo.logGroupsPerFlex;
  let start: number;
  if (geo.logGroupsPerFlex && group > flex) {
    group &= ~(flex - 1);
    while (group < geo.groupCount && free(group) === 0) group++;
    if (group === geo.groupCount) group = 0;
    start = group;
  } else start = group > 0 ? group - 1 : group;
  const end = group + 1 < geo.groupCount ? group + 1 : group;
  group = start;
  for (let i = start + 1; i <= end; i++) if (free(i) > free(group)) group = i;
  return group;
}

/** ext2fs_allocate_group_table() with flex_bg packing, over a BlockSet. */
class TableAllocator {
  private readonly flexSize: number;

  constructor(
    private readonly geo: Geometry,
    private readonly used: BlockSet,
  ) {
    this.flexSize = geo.logGroupsPerFlex ? 1 << geo.logGroupsPerFlex : 0;
  }

  /** ext2fs_new_block: first free block at or after goal, then from the start. */
  firstFreeWrapping(goal: number): number {
    const g = goal < this.geo.firstDataBlock || goal >= this.geo.blocksCount ? this.geo.firstDataBlock : goal;
    let b = this.used.nextFree(g);
    if (b >= this.geo.blocksCount) b = this.used.nextFree(this.geo.firstDataBlock);
    if (b >= this.geo.blocksCount) throw new OptionError('filesystem full while placing metadata');
    return b;
  }

  groupTables(group: number, bb: Float64Array, ib: Float64Array, it: Float64Array): void {
    const geo = this.geo;
    let groupBlk = groupFirstBlock(geo, group);
    let lastBlk = groupFirstBlock(geo, group) + groupBlockCount(geo, group) - 1;
    let startBlk = groupBlk;
    let lastGrp = 0;
    let remGrps = 0;
    let tableOffset = 0;
    const flex = this.flexSize;
    if (flex) {
      lastGrp = Math.min(group | (flex - 1), geo.groupCount - 1);
      remGrps = lastGrp - group + 1;
      tableOffset = flex;
      let prev = 0;
      if (group % flex) prev = bb[group - 1]! + 1;
      else if (lastGrp === geo.groupCount - 1) {
        // The last flex group keeps its tables contiguous.
        tableOffset = lastGrp & (flex - 1);
        tableOffset = tableOffset === 0 ? flex : tableOffset + 1;
      }
      startBlk = this.flexbgOffset(group, prev, remGrps, 1);
      lastBlk = this.groupLast(lastGrp);
    }
    bb[group] = this.take(startBlk, lastBlk, groupBlk);

    if (flex) {
      const prev = group % flex ? ib[group - 1]! + 1 : bb[group]! + tableOffset;
      startBlk = this.flexbgOffset(group, prev, remGrps, 1);
      lastBlk = this.groupLast(lastGrp);
    }
    ib[group] = this.take(startBlk, lastBlk, groupBlk);

    if (flex) {
      const prev = group % flex ? it[group - 1]! + geo.inodeBlocksPerGroup : ib[group]! + tableOffset;
      groupBlk = this.flexbgOffset(group, prev, remGrps, geo.inodeBlocksPerGroup);
      lastBlk = this.groupLast(lastGrp);
    }
    const table = this.getFreeBlocks(groupBlk, lastBlk, geo.inodeBlocksPerGroup);
    if (table === undefined) throw new OptionError('could not place the inode tables: too many inodes for this size');
    this.used.mark(table, geo.inodeBlocksPerGroup);
    it[group] = table;
  }

  private groupLast(group: number): number {
    return groupFirstBlock(this.geo, group) + groupBlockCount(this.geo, group) - 1;
  }

  /** One bitmap block: first free in [start, last), else in the group itself. */
  private take(start: number, last: number, groupBlk: number): number {
    const b = this.getFreeBlocks(start, last, 1) ?? this.getFreeBlocks(groupBlk, last, 1);
    if (b === undefined) throw new OptionError('could not place the block group bitmaps');
    this.used.mark(b, 1);
    return b;
  }

  /** flexbg_offset(): where a flex group's run of bitmaps or inode tables can go. */
  private flexbgOffset(group: number, startBlk: number, remGrp: number, elemSize: number): number {
    const geo = this.geo;
    const flexbg = Math.floor(group / this.flexSize);
    const size = Math.min(remGrp * elemSize, Math.floor(geo.blocksPerGroup / 4));
    if (startBlk && startBlk < geo.blocksCount) {
      const b = this.getFreeBlocks(startBlk, startBlk + size, elemSize);
      if (b !== undefined) return b;
    }
    const start = groupFirstBlock(geo, this.flexSize * flexbg);
    const lastBlk = this.groupLast(Math.min(group | (this.flexSize - 1), geo.groupCount - 1));
    return this.getFreeBlocks(start, lastBlk, size) ?? this.getFreeBlocks(start, lastBlk, elemSize) ?? this.getFreeBlocks(0, lastBlk, elemSize) ?? 0;
  }

  /**
   * ext2fs_get_free_blocks2(): the first b in [start, finish) (wrapping to the first data block
   * when finish <= start) with num free blocks from b.
   */
  private getFreeBlocks(start: number, finish: number, num: number): number | undefined {
    const geo = this.geo;
    let b = start || geo.firstDataBlock;
    if (!finish) finish = start;
    const wrapMode = !(finish > start);
    let wrapped = false;
    for (;;) {
      if (b + num - 1 >= geo.blocksCount) {
        if (!wrapMode || wrapped) return undefined;
        b = geo.firstDataBlock;
        wrapped = true;
      }
      if (wrapMode ? wrapped && b >= finish : b >= finish) return undefined;
      const hit = this.used.nextUsed(b, b + num);
      if (hit === b + num) return b;
      b = this.used.nextFree(hit);
    }
  }
}
