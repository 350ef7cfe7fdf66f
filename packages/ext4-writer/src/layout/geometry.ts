import {
  EXT4_DESC_SIZE,
  EXT4_DESC_SIZE_64BIT,
  EXT4_GOOD_OLD_FIRST_INO,
  EXT4_GOOD_OLD_INODE_SIZE,
  EXT4_MIN_BLOCK_SIZE,
  JBD2_MAX_JOURNAL_BLOCKS,
  JBD2_MIN_JOURNAL_BLOCKS,
} from '../constants.js';
import { OptionError, TooSmallError } from '../errors.js';
import type { Feature, FeatureRequest } from '../features.js';
import { checkFeatureDependencies, dropFeature } from '../features.js';
import { groupHasSuper, isMetaBgDescGroup } from './backup-groups.js';

/**
 * The usage types of mke2fs.conf (e2fsprogs 1.47, as Debian ships it): block size and bytes per
 * inode. mke2fs picks floppy/small/default/big/huge from the size; -T names others.
 */
const USAGE_TYPES: Record<string, { blockSize?: number; inodeRatio?: number }> = {
  floppy: { blockSize: 1024, inodeRatio: 8192 },
  small: { blockSize: 1024, inodeRatio: 4096 },
  default: {},
  big: { inodeRatio: 32768 },
  huge: { inodeRatio: 65536 },
  news: { inodeRatio: 4096 },
  largefile: { inodeRatio: 1048576, blockSize: 4096 },
  largefile4: { inodeRatio: 4194304, blockSize: 4096 },
};
const DEFAULT_BLOCK_SIZE = 4096;
const DEFAULT_INODE_RATIO = 16384;
const DEFAULT_INODE_SIZE = 256;
const DEFAULT_RESERVED_RATIO = 5;
const FLEX_BG_SIZE = 16;
/**
 * Default online-growth reserve. Every reserved GDT block is written (it lists its backups), so
 * mke2fs's 1024x reserve costs 4 MiB on an empty 16 GiB image; 16x costs 120 KiB. Beyond the
 * reserve the kernel still grows the filesystem online, converting it to meta_bg.
 */
const RESIZE_FACTOR = 16;
const MAX_32 = 2 ** 32 - 1;

export function isUsageType(name: string): boolean {
  return name in USAGE_TYPES;
}

export interface GeometryOptions {
  /** Bytes available for the filesystem. */
  bytes: number;
  /** 1024, 2048 or 4096; by default as mke2fs picks it from the size. */
  blockSize?: number;
  /** Bytes per inode (-I, default 256). */
  inodeSize?: number;
  /** Bytes of filesystem per inode (-i). */
  inodeRatio?: number;
  /** Inode count (-N); wins over the ratio. */
  inodeCount?: number;
  /** Percent of blocks reserved for root (-m, default 5), 0..50. */
  reservedRatio?: number;
  /** mke2fs.conf usage types (-T small, news, largefile, ...), replacing the one picked by size. */
  usageTypes?: string[];
  /** Journal size in MiB (-J size=); default from mke2fs's table. */
  journalMiB?: number;
  /**
   * Blocks the filesystem should be able to grow to online (-E resize=): sizes the reserved GDT
   * blocks. Default 16 times the size (mke2fs: 1024 times), see RESIZE_FACTOR.
   */
  resizeMaxBlocks?: number;
  features: FeatureRequest;
}

/** The options a caller passes straight through to the geometry, in a fixed order. */
export const GEOMETRY_KEYS = ['blockSize', 'inodeSize', 'inodeRatio', 'inodeCount', 'reservedRatio', 'usageTypes', 'journalMiB', 'resizeMaxBlocks'] as const;
export type GeometryKey = (typeof GEOMETRY_KEYS)[number];

/** Everything about the filesystem's shape that follows from the size and the options. */
export interface Geometry {
  blockSize: number;
  /** s_log_block_size: log2(blockSize) - 10. */
  logBlockSize: number;
  firstDataBlock: number;
  blocksCount: number;
  blocksPerGroup: number;
  groupCount: number;
  inodeSize: number;
  inodesPerGroup: number;
  inodeBlocksPerGroup: number;
  inodesCount: number;
  /** Group descriptor size; 0 in the superblock of a 32-bit filesystem. */
  descSize: number;
  descPerBlock: number;
  descBlocks: number;
  reservedGdtBlocks: number;
  reservedBlocksCount: number;
  /** log2 of the flex group size, 0 without flex_bg. */
  logGroupsPerFlex: number;
  /** Journal length in blocks; 0 without a journal. */
  journalBlocks: number;
  features: ReadonlySet<Feature>;
  /** Notes about defaults dropped on the way (printed unless -q). */
  notes: string[];
}

/**
 * Computes the geometry mke2fs 1.47 would choose (misc/mke2fs.c PRS() and
 * lib/ext2fs/initialize.c): size type, block size, inode count, groups, reserved GDT blocks,
 * meta_bg for huge descriptor tables, the last-group trim and the journal size.
 */
export function computeGeometry(opts: GeometryOptions): Geometry {
  const req: FeatureRequest = { enabled: new Set(opts.features.enabled), explicit: new Set(opts.features.explicit) };
  const notes: string[] = [];
  checkFeatureDependencies(req);
  const on = (f: Feature): boolean => req.enabled.has(f);

  // Size type (in units of the block size if given, else of 1 KiB, as mke2fs does).
  const unit = opts.blockSize ?? EXT4_MIN_BLOCK_SIZE;
  const meg = (1024 * 1024) / unit;
  const units = Math.floor(opts.bytes / unit);
  const sizeType =
    units < 3 * meg ? 'floppy' : units < 512 * meg ? 'small' : units < 4 * 1024 * 1024 * meg ? 'default' : units < 16 * 1024 * 1024 * meg ? 'big' : 'huge';
  const types = opts.usageTypes?.length ? opts.usageTypes : [sizeType];
  for (const t of types) if (!isUsageType(t)) throw new OptionError(`unknown usage type '${t}'`);
  // The last type that sets a value wins.
  const fromTypes = (key: 'blockSize' | 'inodeRatio'): number | undefined =>
    types.reduce<number | undefined>((v, t) => USAGE_TYPES[t]![key] ?? v, undefined);

  const blockSize = opts.blockSize ?? fromTypes('blockSize') ?? DEFAULT_BLOCK_SIZE;
  if (![1024, 2048, 4096].includes(blockSize)) throw new OptionError(`invalid block size ${blockSize} (1024, 2048 or 4096)`);
  // The resize inode's i_size passes 2 GiB at 4 KiB blocks (e2fsprogs turns large_file back on for it).
  if (!on('large_file') && blockSize === 4096) dropFeature(req, 'resize_inode', 'resize_inode needs large_file at 4096-byte blocks');
  const logBlockSize = Math.log2(blockSize) - 10;
  let blocks = Math.floor(opts.bytes / blockSize);

  if (blocks > MAX_32) {
    if (!on('64bit')) throw new OptionError(`${opts.bytes} bytes is ${blocks} blocks of ${blockSize}: more than 2^32 blocks needs the 64bit feature`);
    req.enabled.delete('resize_inode'); // mke2fs: reserved GDT blocks cannot address blocks past 2^32
  }
  if (blocks > 2 ** (Math.log2(blockSize) + 3 + 32) - 1) throw new OptionError(`too large for block size ${blockSize}`);

  const inodeRatio = Math.max(opts.inodeRatio ?? fromTypes('inodeRatio') ?? DEFAULT_INODE_RATIO, blockSize);
  const inodeSize = opts.inodeSize ?? DEFAULT_INODE_SIZE;
  if (inodeSize < EXT4_GOOD_OLD_INODE_SIZE || inodeSize > blockSize || (inodeSize & (inodeSize - 1)) !== 0) {
    throw new OptionError(`invalid inode size ${inodeSize} (a power of two from ${EXT4_GOOD_OLD_INODE_SIZE} to ${blockSize})`);
  }
  const reservedRatio = opts.reservedRatio ?? DEFAULT_RESERVED_RATIO;
  if (!(reservedRatio >= 0 && reservedRatio <= 50)) throw new OptionError(`invalid reserved blocks percent ${reservedRatio} (0 to 50)`);

  let inodes: number;
  if (opts.inodeCount !== undefined) {
    if (opts.inodeCount > MAX_32) throw new OptionError(`too many inodes (${opts.inodeCount}), specify < 2^32 inodes`);
    inodes = opts.inodeCount;
  } else {
    inodes = Math.floor((blocks * blockSize) / inodeRatio);
    if (inodes > MAX_32) {
      if (!on('64bit')) throw new OptionError(`too many inodes (${inodes}), raise the inode ratio`);
      inodes = MAX_32;
    }
  }
  if (inodes * inodeSize >= blocks * blockSize) {
    throw new OptionError(`${inodes} inodes of ${inodeSize} bytes do not fit in ${blocks} blocks: use a higher inode ratio or fewer inodes`);
  }
  const reservedParam = Math.floor((reservedRatio * blocks) / 100);
  const descSize = on('64bit') ? EXT4_DESC_SIZE_64BIT : EXT4_DESC_SIZE;
  const descPerBlock = blockSize / descSize;
  if (opts.resizeMaxBlocks !== undefined) {
    if (!on('resize_inode')) throw new OptionError('contradictory options: -E resize= without resize_inode');
    if (opts.resizeMaxBlocks <= blocks) throw new OptionError('the resize maximum must be greater than the filesystem size');
  }
  // As mke2fs -E resize=: a reserve that comes out empty falls back to mke2fs's own default.
  const resizeReserve = reservedGdt(opts.resizeMaxBlocks ?? Math.min(blocks * RESIZE_FACTOR, MAX_32), blocks, blockSize * 8, descPerBlock, blockSize);

  // ext2fs_initialize().
  const firstDataBlock = blockSize === 1024 ? 1 : 0;
  let blocksPerGroup = blockSize * 8;
  const paramBlocks = blocks;
  let reserved = reservedParam;
  let groupCount: number, descBlocks: number, inodesPerGroup: number, inodeBlocksPerGroup: number, reservedGdtBlocks: number;
  for (;;) {
    groupCount = Math.ceil((blocks - firstDataBlock) / blocksPerGroup);
    if (groupCount === 0) throw tooSmall(opts.bytes);
    descBlocks = Math.ceil(groupCount / descPerBlock);
    let count = Math.max(inodes, EXT4_GOOD_OLD_FIRST_INO + 1);
    let ipg = Math.ceil(count / groupCount);
    if (ipg > blockSize * 8) {
      if (blocksPerGroup < 256) throw new OptionError('too many inodes for the block size');
      blocksPerGroup -= 8; // ext2fs_initialize: retry with slightly smaller groups
      blocks = paramBlocks;
      continue;
    }
    ipg = Math.min(ipg, 65536 - blockSize / inodeSize); // EXT2_MAX_INODES_PER_GROUP
    for (;;) {
      // Fill whole inode table blocks, then round down to a multiple of 8.
      inodeBlocksPerGroup = Math.ceil((ipg * inodeSize) / blockSize);
      inodesPerGroup = Math.floor((inodeBlocksPerGroup * blockSize) / inodeSize);
      inodesPerGroup = Math.max(inodesPerGroup, 8) & ~7;
      inodeBlocksPerGroup = Math.ceil((inodesPerGroup * inodeSize) / blockSize);
      if (inodesPerGroup * groupCount <= MAX_32) break;
      ipg--;
    }
    count = inodesPerGroup * groupCount;
    reservedGdtBlocks = !on('resize_inode') ? 0 : resizeReserve > 0 ? resizeReserve : defaultReservedGdt(blocks, firstDataBlock, blocksPerGroup, descPerBlock, descBlocks, blockSize);
    if (reservedGdtBlocks + descBlocks > (blocksPerGroup * 3) / 4) {
      // Enable meta_bg if the descriptors would eat more than 3/4 of a group.
      if (req.explicit.has('resize_inode') && req.enabled.has('resize_inode')) {
        throw new OptionError('contradictory features: the descriptor table is too large for resize_inode (needs meta_bg)');
      }
      req.enabled.add('meta_bg');
      req.enabled.delete('resize_inode');
      reservedGdtBlocks = 0;
    }
    const overheadFull = 3 + inodeBlocksPerGroup + reservedGdtBlocks + (req.enabled.has('meta_bg') ? 1 : descBlocks);
    if (overheadFull > blocksPerGroup) throw new OptionError('too many inodes for this size: the inode table does not fit in a group');
    // Drop a last group too small to hold its own metadata plus 50 blocks.
    let overhead = 2 + inodeBlocksPerGroup;
    if (groupHasSuper(groupCount - 1, on('sparse_super'))) overhead += 1 + descBlocks + reservedGdtBlocks;
    const rem = (blocks - firstDataBlock) % blocksPerGroup;
    if (groupCount === 1 && rem && rem < overhead) throw tooSmall(opts.bytes);
    if (rem && rem < overhead + 50) {
      blocks -= rem;
      const ratio = (100 * reservedParam) / paramBlocks;
      reserved = Math.floor((ratio * blocks) / 100);
      continue;
    }
    inodes = count;
    break;
  }

  const logGroupsPerFlex = on('flex_bg') ? Math.log2(FLEX_BG_SIZE) : 0;
  const journalBlocks = on('has_journal') ? journalSize(opts.journalMiB, blocks, blockSize, freeBeforeTables(), req, notes) : 0;
  if (!on('has_journal') && opts.journalMiB !== undefined) throw new OptionError('contradictory options: -J size= without has_journal');

  function freeBeforeTables(): number {
    // ext2fs_initialize's free count: every block but the superblock and descriptor copies (and,
    // without flex_bg, the group's own bitmaps and inode table).
    let free = 0;
    for (let g = 0; g < groupCount; g++) {
      const size = g === groupCount - 1 ? blocks - firstDataBlock - g * blocksPerGroup : blocksPerGroup;
      let used = groupHasSuper(g, on('sparse_super')) ? 1 + (req.enabled.has('meta_bg') ? 0 : descBlocks + reservedGdtBlocks) : 0;
      if (req.enabled.has('meta_bg') && isMetaBgDescGroup(g, descPerBlock)) used++;
      free += size - used - (on('flex_bg') ? 0 : 2 + inodeBlocksPerGroup);
    }
    return free;
  }

  return {
    blockSize,
    logBlockSize,
    firstDataBlock,
    blocksCount: blocks,
    blocksPerGroup,
    groupCount,
    inodeSize,
    inodesPerGroup,
    inodeBlocksPerGroup,
    inodesCount: inodes,
    descSize,
    descPerBlock,
    descBlocks,
    reservedGdtBlocks,
    reservedBlocksCount: reserved,
    logGroupsPerFlex,
    journalBlocks,
    features: req.enabled,
    notes,
  };
}

/** mke2fs's default reserve: growth to 1024x the size or 2^32 blocks (calc_reserved_gdt_blocks). */
function defaultReservedGdt(blocks: number, firstDataBlock: number, bpg: number, descPerBlock: number, descBlocks: number, blockSize: number): number {
  const maxBlocks = blocks < MAX_32 / 1024 ? blocks * 1024 : MAX_32;
  const rsvGroups = Math.ceil((maxBlocks - firstDataBlock) / bpg);
  return Math.min(Math.ceil(rsvGroups / descPerBlock) - descBlocks, blockSize / 4);
}

/**
 * Reserved GDT blocks for growing to `maxBlocks` (mke2fs -E resize=): the descriptor blocks that
 * many blocks need beyond today's, at most one block of pointers.
 */
function reservedGdt(maxBlocks: number, blocks: number, bpg: number, descPerBlock: number, blockSize: number): number {
  const descBlocks = Math.ceil(Math.ceil(blocks / bpg) / descPerBlock);
  const rsv = Math.ceil(Math.ceil(maxBlocks / bpg) / descPerBlock) - descBlocks;
  return Math.max(0, Math.min(rsv, blockSize / 4));
}

/** mke2fs's default journal size table (lib/ext2fs/mkjournal.c), in blocks; -1 when too small. */
function defaultJournalBlocks(blocks: number): number {
  if (blocks < 2048) return -1;
  if (blocks < 32768) return 1024;
  if (blocks < 256 * 1024) return 4096;
  if (blocks < 512 * 1024) return 8192;
  if (blocks < 4096 * 1024) return 16384;
  if (blocks < 8192 * 1024) return 32768;
  if (blocks < 16384 * 1024) return 65536;
  if (blocks < 32768 * 1024) return 131072;
  return 262144;
}

function journalSize(mib: number | undefined, blocks: number, blockSize: number, free: number, req: FeatureRequest, notes: string[]): number {
  const dflt = defaultJournalBlocks(blocks);
  if (mib === undefined) {
    if (dflt > 0) return dflt;
    dropFeature(req, 'has_journal', 'the filesystem is too small for a journal');
    notes.push('filesystem too small for a journal: has_journal dropped');
    return 0;
  }
  if (dflt < 0) throw new OptionError('the filesystem is too small for a journal');
  const j = Math.floor((mib * 1024) / (blockSize / 1024));
  if (j < JBD2_MIN_JOURNAL_BLOCKS || j > JBD2_MAX_JOURNAL_BLOCKS) {
    throw new OptionError(`journal size ${mib} MiB is ${j} blocks; it must be between ${JBD2_MIN_JOURNAL_BLOCKS} and ${JBD2_MAX_JOURNAL_BLOCKS} blocks`);
  }
  if (j > free / 2) throw new OptionError(`journal size ${mib} MiB is too big for the filesystem (at most half of it)`);
  return j;
}

function tooSmall(bytes: number): TooSmallError {
  return new TooSmallError(`${bytes} bytes is too small for an ext4 filesystem`);
}

