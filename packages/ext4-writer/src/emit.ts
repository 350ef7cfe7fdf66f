import { fullMode, hi32, lo32 } from '@fstools/fstree';
import { bitmapCsum, buildBitmap } from './bitmap.js';
import { buildBlockMap } from './blockmap.js';
import {
  DX_HASH_HALF_MD4,
  EXT3_JNL_BACKUP_BLOCKS,
  EXT4_BAD_INO,
  EXT4_BG_BLOCK_UNINIT,
  EXT4_BG_INODE_UNINIT,
  EXT4_BG_INODE_ZEROED,
  EXT4_CRC32C_CHKSUM,
  EXT4_DEFM_ACL,
  EXT4_DEFM_XATTR_USER,
  EXT4_DYNAMIC_REV,
  EXT4_ERRORS_CONTINUE,
  EXT4_EXT_ENTRY_SIZE,
  EXT4_EXT_HEADER_SIZE,
  EXT4_EXTENTS_FL,
  EXT4_FAST_SYMLINK_MAX,
  EXT4_FLAGS_SIGNED_HASH,
  EXT4_GOOD_OLD_FIRST_INO,
  EXT4_GOOD_OLD_INODE_SIZE,
  EXT4_INDEX_FL,
  EXT4_INODE_LARGE_SIZE,
  EXT4_JOURNAL_INO,
  EXT4_N_BLOCKS,
  EXT4_OS_LINUX,
  EXT4_RESIZE_INO,
  EXT4_ROOT_INO,
  EXT4_SUPER_MAGIC,
  EXT4_VALID_FS,
  SUPERBLOCK_OFFSET,
} from './constants.js';
import { csumSeedOfUuid, inodeCsumSeed } from './csum.js';
import { setLeafCsum } from './dirent.js';
import { buildExtentTree, writeExtentEntry } from './extent.js';
import { featureWords } from './features.js';
import { encodeGroupDesc } from './group-desc.js';
import { encodeDir, setDxCsum } from './htree.js';
import type { ImageFile } from './image-file.js';
import type { InodeFields, Timestamp } from './inode.js';
import { encodeInode, storedTime } from './inode.js';
import { encodeJournalSuperblock } from './journal.js';
import type { BlockSet } from './layout/block-set.js';
import type { Extent } from './layout/extents.js';
import type { FixedLayout } from './layout/fixed.js';
import { groupBase, groupBlockCount, groupFirstBlock } from './layout/groups.js';
import { dirFormat } from './layout/inode-table.js';
import type { InodeTable } from './layout/inode-table.js';
import type { PlacedInode, Placement } from './layout/placement.js';
import { buildResizeInode } from './resize-inode.js';
import { encodeSuperBlock } from './superblock.js';
import { encodeInodeXattrs, encodeXattrBlock, setXattrBlockCsum } from './xattr.js';

/** What identifies and dates the filesystem. */
export interface Identity {
  uuid: Uint8Array;
  hashSeed: Uint8Array;
  /** Creation time (seconds): superblock times, special inodes. */
  now: bigint;
  /** Inode times later than this are clamped to it (reproducible builds), if set. */
  clamp?: bigint;
  label: Uint8Array;
  /** Owner of / when set (-E root_owner). */
  rootOwner?: { uid: number; gid: number };
}

export interface EmitResult {
  freeBlocks: number;
  freeInodes: number;
}

type BlockWriter = (pblk: number, data: Uint8Array) => void;

/** Writes every metadata structure of a planned filesystem (file data is already in place). */
export function emitFilesystem(image: ImageFile, fixed: FixedLayout, table: InodeTable, placement: Placement, id: Identity): EmitResult {
  const geo = fixed.geo;
  // With metadata_csum_seed, s_checksum_seed holds this same value, fixed at mkfs time.
  const fsSeed = geo.features.has('metadata_csum') ? csumSeedOfUuid(id.uuid) : undefined;
  const writeBlock: BlockWriter = (pblk, data) => image.write(pblk * geo.blockSize, data);
  const records = new InodeTableWriter(image, fixed);
  const reserved = reservedInodes(fixed, id, fsSeed, writeBlock);
  for (const block of placement.xattrBlocks) {
    const data = encodeXattrBlock(block.list, geo.blockSize, block.refcount);
    if (fsSeed !== undefined) setXattrBlockCsum(data, block.pblk, fsSeed);
    writeBlock(block.pblk, data);
  }
  // Records go out in inode order (a group's table is gathered, then written).
  let next = 0;
  for (let ino = 1; ino <= table.lastIno; ino++) {
    const r = reserved.records.get(ino);
    if (r) records.put(ino, r.fields, false, r.seed);
    else if (placement.placed[next]?.t.ino === ino) emitInode(placement.placed[next++]!, fixed, id, fsSeed, records, writeBlock);
  }
  records.finish(table.lastIno);

  const used = fixed.reserved.clone();
  for (const p of placement.placed) {
    for (const e of p.extents) used.mark(e.pblk, e.len);
    for (const b of p.mapBlocks) used.mark(b, 1);
  }
  for (const x of placement.xattrBlocks) used.mark(x.pblk, 1);
  const totals = emitGroups(image, fixed, used, records, table.lastIno, fsSeed);
  emitSuperblocks(image, fixed, totals, id, reserved.jnlBlocks, fsSeed);
  return totals;
}

/**
 * Inodes 1 and 3 to 10 as mke2fs leaves them: zero (with checksums under metadata_csum; none
 * written without), the bad-block inode dated, the resize inode and the journal, whose blocks are
 * written here. Also s_jnl_blocks.
 */
function reservedInodes(fixed: FixedLayout, id: Identity, fsSeed: number | undefined, writeBlock: BlockWriter): { records: Map<number, ReservedRecord>; jnlBlocks: Uint32Array } {
  const geo = fixed.geo;
  const bs = geo.blockSize;
  const now: Timestamp = { sec: id.now, nsec: 0 };
  const records = new Map<number, ReservedRecord>();
  const set = (ino: number, fields: InodeFields | undefined, seed = inodeSeed(fsSeed, ino)): void => {
    records.set(ino, { fields, seed });
  };
  for (let ino = 1; ino < EXT4_GOOD_OLD_FIRST_INO; ino++) if (ino !== EXT4_ROOT_INO) set(ino, fsSeed !== undefined ? zeroInode() : undefined);
  set(EXT4_BAD_INO, { ...zeroInode(), i_atime: now, i_ctime: now, i_mtime: now });
  if (geo.features.has('resize_inode')) {
    const r = buildResizeInode(geo, fixed.resizeDind);
    for (const b of r.blocks) writeBlock(b.pblk, b.data);
    set(EXT4_RESIZE_INO, { ...largeInode(geo.inodeSize, now), i_mode: 0o100600, i_links_count: 1, i_size: r.size, i_blocks: r.blockCount * (bs / 512), i_block: r.iBlock });
  }
  const jnlBlocks = new Uint32Array(17);
  const j = fixed.journal;
  if (!j) return { records, jnlBlocks };
  writeBlock(j.extents[0]!.pblk, encodeJournalSuperblock(bs, geo.journalBlocks, id.uuid));
  const seed = inodeSeed(fsSeed, EXT4_JOURNAL_INO);
  const map = mapping(j.extents, j.mapBlocks, geo.features.has('extent'), bs, seed, writeBlock);
  if (geo.features.has('extent') && j.mapBlocks.length) keepSplitRemains(map.iBlock, j.extents);
  const size = geo.journalBlocks * bs;
  set(EXT4_JOURNAL_INO, { ...largeInode(geo.inodeSize, now), i_mode: 0o100600, i_links_count: 1, i_size: size, i_blocks: (geo.journalBlocks + j.mapBlocks.length) * (bs / 512), i_flags: map.flags, i_block: map.iBlock }, seed);
  // s_jnl_blocks: a backup of i_block, then i_size_high and i_size.
  const words = new DataView(map.iBlock.buffer, map.iBlock.byteOffset, EXT4_N_BLOCKS * 4);
  for (let i = 0; i < EXT4_N_BLOCKS; i++) jnlBlocks[i] = words.getUint32(i * 4, true);
  jnlBlocks[15] = hi32(size);
  jnlBlocks[16] = lo32(size);
  return { records, jnlBlocks };
}

/** One inode of the tree: its directory or symlink blocks, its mapping, its record. */
function emitInode(p: PlacedInode, fixed: FixedLayout, id: Identity, fsSeed: number | undefined, records: InodeTableWriter, writeBlock: BlockWriter): void {
  const geo = fixed.geo;
  const bs = geo.blockSize;
  const seed = inodeSeed(fsSeed, p.t.ino);
  const inode = p.t.inode;
  let flags = 0;
  let iBlock: Uint8Array = new Uint8Array(EXT4_N_BLOCKS * 4);
  let size = 0;
  let mapped = false;
  if (inode.type === 'dir') {
    const dir = encodeDir(p.t.dir!, p.t.ino, p.t.parent, dirFormat(bs, geo.features));
    if (seed !== undefined) dir.blocks.forEach((block, i) => (dir.leaf[i] ? setLeafCsum(block, seed) : setDxCsum(block, seed, i === 0)));
    writeMapped(p.extents, dir.blocks, writeBlock);
    if (p.t.dir!.indexed) flags |= EXT4_INDEX_FL;
    size = dir.blocks.length * bs;
    mapped = true;
  } else if (inode.type === 'symlink') {
    size = inode.target.length;
    mapped = size > EXT4_FAST_SYMLINK_MAX;
    const target = Buffer.from(inode.target, 'latin1');
    if (mapped) {
      const block = new Uint8Array(bs);
      block.set(target);
      writeMapped(p.extents, [block], writeBlock);
    } else iBlock.set(target);
  } else if (inode.type === 'file') {
    size = inode.size;
    mapped = true;
  } else if (inode.type === 'chr' || inode.type === 'blk') iBlock = deviceBlock(inode.major, inode.minor);
  if (mapped) {
    const map = mapping(p.extents, p.mapBlocks, geo.features.has('extent'), bs, seed, writeBlock);
    flags |= map.flags;
    iBlock = map.iBlock;
  }
  const blocks = p.extents.reduce((n, e) => n + e.len, 0) + p.mapBlocks.length + (p.xattrBlock ? 1 : 0);
  const owner = p.t.ino === EXT4_ROOT_INO && id.rootOwner ? id.rootOwner : { uid: inode.uid, gid: inode.gid };
  const t = storedTime(inode.mtime, id.clamp, geo.inodeSize);
  const large = geo.inodeSize > EXT4_GOOD_OLD_INODE_SIZE;
  records.put(
    p.t.ino,
    {
      i_mode: fullMode(inode),
      i_uid: owner.uid,
      i_gid: owner.gid,
      i_size: size,
      i_links_count: p.t.links,
      i_blocks: blocks * (bs / 512),
      i_flags: flags,
      i_block: iBlock,
      i_file_acl: p.xattrBlock?.pblk ?? 0,
      i_atime: t,
      i_ctime: t,
      i_mtime: t,
      i_crtime: t,
      i_extra_isize: large ? EXT4_INODE_LARGE_SIZE - EXT4_GOOD_OLD_INODE_SIZE : 0,
      ...(p.t.xattrsInInode.length ? { xattrs: encodeInodeXattrs(p.t.xattrsInInode, geo.inodeSize - EXT4_INODE_LARGE_SIZE) } : {}),
    },
    inode.type === 'dir',
    seed,
  );
}

/** A reserved inode's record (none written when undefined) and its checksum seed. */
interface ReservedRecord {
  fields: InodeFields | undefined;
  seed: number | undefined;
}

/** The checksum seed of inode `ino` under metadata_csum (its i_generation is always 0 here). */
function inodeSeed(fsSeed: number | undefined, ino: number): number | undefined {
  return fsSeed === undefined ? undefined : inodeCsumSeed(fsSeed, ino, 0);
}

function zeroInode(): InodeFields {
  const t0: Timestamp = { sec: 0n, nsec: 0 };
  return {
    i_mode: 0, i_uid: 0, i_gid: 0, i_size: 0, i_links_count: 0, i_blocks: 0, i_flags: 0,
    i_block: new Uint8Array(EXT4_N_BLOCKS * 4), i_file_acl: 0,
    i_atime: t0, i_ctime: t0, i_mtime: t0, i_crtime: t0, i_extra_isize: 0,
  };
}

/** A new large inode as ext2fs_write_new_inode leaves it: times now, i_extra_isize 32. */
function largeInode(inodeSize: number, now: Timestamp): InodeFields {
  return { ...zeroInode(), i_atime: now, i_ctime: now, i_mtime: now, i_crtime: now, i_extra_isize: inodeSize > EXT4_GOOD_OLD_INODE_SIZE ? EXT4_INODE_LARGE_SIZE - EXT4_GOOD_OLD_INODE_SIZE : 0 };
}

/** Device numbers in i_block: the old 16-bit form when both fit in a byte, else the new one in i_block[1]. */
function deviceBlock(major: number, minor: number): Uint8Array {
  const b = new Uint8Array(EXT4_N_BLOCKS * 4);
  const dv = new DataView(b.buffer);
  if (major < 256 && minor < 256) dv.setUint32(0, (major << 8) | minor, true);
  else dv.setUint32(4, ((minor & 0xff) | (major << 8) | ((minor & ~0xff) << 12)) >>> 0, true);
  return b;
}

/**
 * When mke2fs's journal outgrows the four extents in i_block, the root moves to a leaf and the
 * index entry overwrites slot 0 only: slots 1-3 keep extents 2-4, unused but on disk. They are
 * copied so that empty images match mke2fs byte for byte.
 */
function keepSplitRemains(root: Uint8Array, extents: Extent[]): void {
  const dv = new DataView(root.buffer, root.byteOffset, root.length);
  for (let i = 1; i < 4; i++) writeExtentEntry(dv, EXT4_EXT_HEADER_SIZE + i * EXT4_EXT_ENTRY_SIZE, extents[i]!);
}

/** Writes blocks at consecutive logical positions of `extents`. */
function writeMapped(extents: Extent[], blocks: Uint8Array[], write: BlockWriter): void {
  let i = 0;
  for (const e of extents) for (let k = 0; k < e.len && i < blocks.length; k++) write(e.pblk + k, blocks[i++]!);
}

/** i_block and flags for mapped content: an extent tree, or block maps without the extent feature. */
function mapping(extents: Extent[], mapBlocks: number[], useExtents: boolean, bs: number, seed: number | undefined, write: BlockWriter): { iBlock: Uint8Array; flags: number } {
  if (useExtents) {
    const tree = buildExtentTree(extents, mapBlocks, bs, seed);
    for (const b of tree.blocks) write(b.pblk, b.data);
    return { iBlock: tree.root, flags: EXT4_EXTENTS_FL };
  }
  const map = buildBlockMap(extents, mapBlocks, bs);
  for (const b of map.blocks) write(b.pblk, b.data);
  return { iBlock: map.iBlock, flags: 0 };
}

/**
 * Inode records, gathered group by group and written over the used start of each group's inode
 * table (the rest stays a hole: ITABLE_ZEROED). Tracks used inodes and directories per group.
 */
class InodeTableWriter {
  private group = -1;
  private buf: Uint8Array;
  private top = 0;
  readonly dirs: number[];

  constructor(
    private readonly image: ImageFile,
    private readonly fixed: FixedLayout,
  ) {
    const geo = fixed.geo;
    this.buf = new Uint8Array(geo.inodesPerGroup * geo.inodeSize);
    this.dirs = new Array(geo.groupCount).fill(0);
  }

  /** Records inode `ino` (checksummed with its seed, if any); numbers must come in ascending order. */
  put(ino: number, fields: InodeFields | undefined, isDir: boolean, seed: number | undefined): void {
    const geo = this.fixed.geo;
    const g = Math.floor((ino - 1) / geo.inodesPerGroup);
    if (g !== this.group) {
      this.flush();
      this.group = g;
      this.buf.fill(0);
      this.top = 0;
    }
    const idx = (ino - 1) % geo.inodesPerGroup;
    if (fields) encodeInode(this.buf, idx * geo.inodeSize, geo.inodeSize, fields, seed);
    this.top = Math.max(this.top, idx + 1);
    if (isDir) this.dirs[g]!++;
  }

  finish(lastIno: number): void {
    const geo = this.fixed.geo;
    const g = Math.floor((lastIno - 1) / geo.inodesPerGroup);
    if (g === this.group) this.top = Math.max(this.top, ((lastIno - 1) % geo.inodesPerGroup) + 1);
    this.flush();
  }

  private flush(): void {
    if (this.group < 0 || this.top === 0) return;
    const geo = this.fixed.geo;
    const bytes = Math.ceil((this.top * geo.inodeSize) / geo.blockSize) * geo.blockSize;
    this.image.write(this.fixed.inodeTable[this.group]! * geo.blockSize, this.buf.subarray(0, bytes));
  }
}

/** Block and inode bitmaps, and the descriptors with their free counts, flags and checksums. */
function emitGroups(image: ImageFile, fixed: FixedLayout, used: BlockSet, records: InodeTableWriter, lastIno: number, seed: number | undefined): EmitResult & { gdt: Uint8Array } {
  const geo = fixed.geo;
  const bs = geo.blockSize;
  const csum = seed !== undefined;
  const gdt = new Uint8Array(geo.descBlocks * bs);
  let freeBlocks = 0;
  let freeInodes = 0;
  for (let g = 0; g < geo.groupCount; g++) {
    const start = groupFirstBlock(geo, g);
    const count = groupBlockCount(geo, g);
    const usedBlocks = used.countIn(start, start + count);
    const usedInodes = Math.max(0, Math.min(geo.inodesPerGroup, lastIno - g * geo.inodesPerGroup));
    let flags = EXT4_BG_INODE_ZEROED;
    let bbCsum = 0;
    let ibCsum = 0;
    // A group may leave its block bitmap uninitialized when it holds nothing but what the kernel
    // would compute for it: its own descriptor copies and its own bitmaps and inode table.
    if (csum && g !== geo.groupCount - 1 && usedBlocks === impliedUsed(fixed, g)) flags |= EXT4_BG_BLOCK_UNINIT;
    else {
      const bitmap = buildBitmap(bs, count, relative(used.runsIn(start, start + count), start));
      if (csum) bbCsum = bitmapCsum(seed, bitmap, geo.blocksPerGroup);
      image.write(fixed.blockBitmap[g]! * bs, bitmap);
    }
    if (csum && usedInodes === 0) flags |= EXT4_BG_INODE_UNINIT;
    else {
      const bitmap = buildBitmap(bs, geo.inodesPerGroup, usedInodes ? [[0, usedInodes]] : []);
      if (csum) ibCsum = bitmapCsum(seed, bitmap, geo.inodesPerGroup);
      image.write(fixed.inodeBitmap[g]! * bs, bitmap);
    }
    freeBlocks += count - usedBlocks;
    freeInodes += geo.inodesPerGroup - usedInodes;
    encodeGroupDesc(gdt, g * geo.descSize, {
      bg_block_bitmap: fixed.blockBitmap[g]!,
      bg_inode_bitmap: fixed.inodeBitmap[g]!,
      bg_inode_table: fixed.inodeTable[g]!,
      bg_free_blocks_count: count - usedBlocks,
      bg_free_inodes_count: geo.inodesPerGroup - usedInodes,
      bg_used_dirs_count: records.dirs[g]!,
      bg_flags: csum ? flags : EXT4_BG_INODE_ZEROED,
      bg_block_bitmap_csum: bbCsum,
      bg_inode_bitmap_csum: ibCsum,
      bg_itable_unused: csum ? geo.inodesPerGroup - usedInodes : 0,
    }, geo.descSize, g, seed);
  }
  return { freeBlocks, freeInodes, gdt };
}

/** Blocks the kernel marks in an uninitialized group's bitmap (ext4_init_block_bitmap). */
function impliedUsed(fixed: FixedLayout, g: number): number {
  const geo = fixed.geo;
  const start = groupFirstBlock(geo, g);
  const end = start + groupBlockCount(geo, g);
  const b = groupBase(geo, g);
  const inGroup = (from: number, count: number): number => Math.max(0, Math.min(end, from + count) - Math.max(start, from));
  return (
    (b.superBlock >= 0 ? 1 : 0) +
    b.descCount +
    (b.metaDescBlock >= 0 ? 1 : 0) +
    inGroup(fixed.blockBitmap[g]!, 1) +
    inGroup(fixed.inodeBitmap[g]!, 1) +
    inGroup(fixed.inodeTable[g]!, geo.inodeBlocksPerGroup)
  );
}

function* relative(runs: Iterable<[number, number]>, base: number): Generator<[number, number]> {
  for (const [s, e] of runs) yield [s - base, e - base];
}

function emitSuperblocks(image: ImageFile, fixed: FixedLayout, totals: EmitResult & { gdt: Uint8Array }, id: Identity, jnlBlocks: Uint32Array, seed: number | undefined): void {
  const geo = fixed.geo;
  const bs = geo.blockSize;
  const words = featureWords(geo.features);
  const csum = seed !== undefined;
  const now = Number(BigInt.asUintN(32, id.now));
  const sb = {
    s_inodes_count: geo.inodesCount,
    s_blocks_count: geo.blocksCount,
    s_r_blocks_count: geo.reservedBlocksCount,
    s_free_blocks_count: totals.freeBlocks,
    s_free_inodes_count: totals.freeInodes,
    s_first_data_block: geo.firstDataBlock,
    s_log_block_size: geo.logBlockSize,
    s_log_cluster_size: geo.logBlockSize,
    s_blocks_per_group: geo.blocksPerGroup,
    s_clusters_per_group: geo.blocksPerGroup,
    s_inodes_per_group: geo.inodesPerGroup,
    s_wtime: now,
    s_max_mnt_count: -1,
    s_magic: EXT4_SUPER_MAGIC,
    s_state: EXT4_VALID_FS,
    s_errors: EXT4_ERRORS_CONTINUE,
    s_lastcheck: now,
    s_creator_os: EXT4_OS_LINUX,
    s_rev_level: EXT4_DYNAMIC_REV,
    s_first_ino: EXT4_GOOD_OLD_FIRST_INO,
    s_inode_size: geo.inodeSize,
    s_block_group_nr: 0,
    s_feature_compat: words.compat,
    s_feature_incompat: words.incompat,
    s_feature_ro_compat: words.ro_compat,
    s_uuid: id.uuid,
    s_volume_name: id.label,
    s_reserved_gdt_blocks: geo.reservedGdtBlocks,
    s_journal_inum: fixed.journal ? EXT4_JOURNAL_INO : 0,
    s_hash_seed: id.hashSeed,
    s_def_hash_version: DX_HASH_HALF_MD4,
    s_jnl_backup_type: fixed.journal ? EXT3_JNL_BACKUP_BLOCKS : 0,
    s_desc_size: geo.features.has('64bit') ? geo.descSize : 0,
    s_default_mount_opts: EXT4_DEFM_XATTR_USER | EXT4_DEFM_ACL,
    s_first_meta_bg: 0,
    s_mkfs_time: now,
    s_jnl_blocks: jnlBlocks,
    s_min_extra_isize: geo.inodeSize >= EXT4_INODE_LARGE_SIZE ? EXT4_INODE_LARGE_SIZE - EXT4_GOOD_OLD_INODE_SIZE : 0,
    s_want_extra_isize: geo.inodeSize >= EXT4_INODE_LARGE_SIZE ? EXT4_INODE_LARGE_SIZE - EXT4_GOOD_OLD_INODE_SIZE : 0,
    s_flags: EXT4_FLAGS_SIGNED_HASH,
    s_log_groups_per_flex: geo.logGroupsPerFlex,
    s_checksum_type: csum ? EXT4_CRC32C_CHKSUM : 0,
    s_kbytes_written: 0,
    s_overhead_clusters: overhead(fixed),
    s_checksum_seed: geo.features.has('metadata_csum_seed') ? seed! : 0,
  };
  // Descriptor copies and backup superblocks (marked not clean, with their group number, as
  // e2fsprogs writes them), then the primary superblock.
  for (let g = 0; g < geo.groupCount; g++) {
    const b = groupBase(geo, g);
    if (b.descBlock >= 0) image.write(b.descBlock * bs, totals.gdt);
    if (b.metaDescBlock >= 0) {
      const m = Math.floor(g / geo.descPerBlock);
      image.write(b.metaDescBlock * bs, totals.gdt.subarray(m * bs, (m + 1) * bs));
    }
  }
  sb.s_kbytes_written = Math.ceil(image.written / 1024);
  for (let g = 1; g < geo.groupCount; g++) {
    const b = groupBase(geo, g);
    if (b.superBlock < 0) continue;
    image.write(b.superBlock * bs, encodeSuperBlock({ ...sb, s_state: 0, s_block_group_nr: Math.min(g, 0xffff) }, csum));
  }
  image.write(SUPERBLOCK_OFFSET, encodeSuperBlock(sb, csum));
}

/** s_overhead_clusters as mke2fs counts it: blocks of the fixed metadata and the journal. */
function overhead(fixed: FixedLayout): number {
  const geo = fixed.geo;
  let n = 0;
  for (let g = 0; g < geo.groupCount; g++) {
    const b = groupBase(geo, g);
    n += (b.superBlock >= 0 ? 1 : 0) + Math.min(b.descCount, b.descBlock >= 0 ? geo.blocksCount - b.descBlock : 0) + (b.metaDescBlock >= 0 ? 1 : 0);
  }
  n += geo.groupCount * (2 + geo.inodeBlocksPerGroup) + geo.journalBlocks + geo.firstDataBlock;
  return n;
}

