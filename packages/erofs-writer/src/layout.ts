import type { ByteString, DirInode, FileData, FileInode, FsTree, ImageDevice, Inode } from '@fstools/fstree';
import { bytesOf, displayName, EntryError, fileTypeCode, fullMode, sortedNames, splitTime } from '@fstools/fstree';
import type { ChunkRef } from './chunk.js';
import { chunkEntrySize, chunkFormat, encodeChunks, HOLE } from './chunk.js';
import {
  EROFS_INODE_CHUNK_BASED,
  EROFS_INODE_COMPRESSED_COMPACT,
  EROFS_INODE_COMPRESSED_FULL,
  EROFS_INODE_FLAT_INLINE,
  EROFS_INODE_FLAT_PLAIN,
  EROFS_ISLOTBITS,
  EROFS_ROOT_NID_MAX,
  EROFS_XATTR_IBODY_HEADER_SIZE,
  Z_EROFS_ADVISE_BIG_PCLUSTER_1,
  Z_EROFS_ADVISE_COMPACTED_2B,
  Z_EROFS_LEGACY_MAP_HEADER_SIZE,
  Z_EROFS_MAP_HEADER_SIZE,
} from './constants.js';
import type { Placement, ZPlacement } from './data-area.js';
import type { DirentSource } from './dirent.js';
import { dirBlockBytes, encodeDirBlock, splitDirBlocks } from './dirent.js';
import { encodeInode, encodeRdev, fitsCompact, inodeSize } from './inode.js';
import { compactIndexSize, encodeCompactIndexes, encodeMapHeader, encodeWholeFragmentHeader, fullIndexSize, lclusterCount } from './lcluster-index.js';
import { MetaPacker } from './meta-packer.js';
import type { ScratchFile } from './scratch-file.js';
import type { RegionWriter } from './region-writer.js';
import type { EncodedXattr } from './xattr.js';
import { encodeIbody, encodeXattr, SharedXattrs, xattrIcount } from './xattr.js';
import type { LongPrefix } from './xattr-prefix.js';

export interface LayoutOptions {
  blockSize: number;
  blkszbits: number;
  /** Images that files with {kind: 'device'} data point into: device_id = index + 1. */
  devices: readonly ImageDevice[];
  longPrefixes: readonly LongPrefix[];
  /**
   * The superblock time compact inodes take their mtime from (build_time, build_time_nsec); by
   * default the most common stored mtime (ties: the earliest), so most inodes can be compact.
   */
  epoch?: bigint;
  /** The owner and mtime an inode is stored with (after --all-root, -T clamping and the like). */
  stored: (inode: Inode) => Stored;
  /** The algorithm (Z_EROFS_COMPRESSION_*) compressed files' map headers name. */
  algorithm?: number;
  /** The packed inode (-E fragments): a regular file no directory names, owned by root, last. */
  packed?: FileInode;
}

export interface Stored {
  uid: number;
  gid: number;
  mtime: bigint;
}

/** Where the bytes after an inode (and its xattrs) come from. */
type Tail = { kind: 'scratch'; offset: number; length: number } | { kind: 'bytes'; bytes: Buffer } | { kind: 'dir'; length: number };

interface Node {
  inode: Inode;
  /** Owner and mtime as stored. */
  st: Stored;
  /** The name it was first met under (with `parent`, its path for error messages). */
  name: ByteString;
  parent: Node | undefined;
  nlink: number;
  extended: boolean;
  ibody: Buffer;
  datalayout: number;
  i_size: number;
  i_u: number;
  tail?: Tail;
  chunks?: { refs: ChunkRef[]; indexes: boolean };
  /** A compressed file. */
  z?: ZPlacement;
  /** Directory: entries (names sorted, "." and ".." included) and where each block's entries start (splitDirBlocks). */
  dir?: { names: ByteString[]; starts: number[] };
  /** Blocks of this inode's content stored outside the data pass (directory and symlink blocks). */
  extra?: { blkaddr: number; blocks: number };
  recordOffset: number;
  nid: number;
}

/**
 * Decides the metadata of an image whose file data already sits in the data area: the inode of
 * every tree entry, its xattrs (inline or shared), its layout (flat, inline tail, chunks), the
 * blocks of directories and long symlinks, and where each inode record goes (hence nids).
 * Everything here grows with the number of entries, never with file bytes.
 */
export class Layout {
  readonly nodes: Node[] = [];
  readonly shared = new SharedXattrs();
  /** First block after directory/symlink blocks: the shared xattr area starts here. */
  readonly xattrBlkaddr: number;
  readonly metaBlkaddr: number;
  readonly totalBlocks: number;
  readonly rootNid: number;
  /** The packed inode's nid (0: none). */
  readonly packedNid: number;
  readonly epoch: bigint;
  usesChunks = false;
  /** Whether any inode has xattrs (the name filter feature is then set). */
  hasXattrs = false;
  private readonly metaBytes: number;

  constructor(
    tree: FsTree,
    private readonly placements: Map<FileData, Placement>,
    private readonly opts: LayoutOptions,
    dataEnd: number,
  ) {
    const links = tree.linkCounts();
    const byInode = new Map<Inode, Node>();
    const xattrs = new Map<Node, EncodedXattr[]>(); // only inodes that have any
    // Breadth-first: the root first (its nid must fit 16 bits), then each directory's children
    // together, so lookups touch few metadata blocks.
    const queue: Array<{ dir: DirInode; node: Node }> = [];
    const add = (inode: Inode, parent: Node | undefined, name: ByteString): void => {
      if (byInode.has(inode)) return;
      const node: Node = { inode, st: opts.stored(inode), name, parent, nlink: links.get(inode)!, extended: false, ibody: NO_XATTRS, datalayout: EROFS_INODE_FLAT_PLAIN, i_size: 0, i_u: 0, recordOffset: 0, nid: 0 };
      node.parent ??= node;
      byInode.set(inode, node);
      this.nodes.push(node);
      if (inode.xattrs.size > 0) {
        const encoded = [...inode.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([k, value]) => encodeXattr(k, value, opts.longPrefixes, pathOf(node)));
        encoded.forEach((x) => this.shared.count(x));
        xattrs.set(node, encoded);
      }
      if (inode.type === 'dir') queue.push({ dir: inode, node });
    };
    add(tree.root, undefined, '');
    for (let q = 0; q < queue.length; q++) {
      const { dir, node } = queue[q]!;
      const names = sortedNames(dir);
      node.dir = { names: withDots(names), starts: [] };
      for (const name of names) add(dir.entries.get(name)!, node, name);
    }
    this.epoch = opts.epoch ?? commonMtime(this.nodes);
    if (opts.packed) {
      const node: Node = { inode: opts.packed, st: { uid: 0, gid: 0, mtime: this.epoch }, name: '', parent: undefined, nlink: 1, extended: false, ibody: NO_XATTRS, datalayout: EROFS_INODE_FLAT_PLAIN, i_size: 0, i_u: 0, recordOffset: 0, nid: 0 };
      node.parent = node;
      this.nodes.push(node);
    }
    this.nodeIndex = byInode;
    this.shared.seal();

    let extraNext = dataEnd;
    for (const node of this.nodes) {
      const encoded = xattrs.get(node);
      if (encoded) {
        node.ibody = encodeIbody(encoded, this.shared);
        this.hasXattrs = true;
        if (xattrIcount(node.ibody.length) > 0xffff) throw new EntryError(pathOf(node), 'xattrs too large for one EROFS inode');
      }
      this.decideContent(node);
      if (node.extra) {
        node.extra.blkaddr = extraNext;
        node.i_u = extraNext; // raw_blkaddr: the first block not kept inline
        extraNext += node.extra.blocks;
      }
    }
    this.xattrBlkaddr = this.shared.bytes().length > 0 ? extraNext : 0;
    this.metaBlkaddr = extraNext + Math.ceil(this.shared.bytes().length / opts.blockSize);

    // Slot 0 stays unused: nid 0 would become inode number 0, which userspace treats as "no inode".
    const packer = new MetaPacker(opts.blockSize, 32);
    for (const node of this.nodes) {
      const head = inodeSize(node.extended);
      node.recordOffset = packer.place(this.recordSize(node), node.tail !== undefined, head, node.z?.inline?.length ?? 0);
      node.nid = node.recordOffset >> EROFS_ISLOTBITS;
    }
    this.metaBytes = packer.size();
    this.rootNid = this.nodes[0]!.nid;
    this.packedNid = opts.packed ? this.nodes[this.nodes.length - 1]!.nid : 0;
    if (this.rootNid > EROFS_ROOT_NID_MAX) throw new Error('root inode outside the first 2 MiB of metadata');
    // The metadata ends the image. fsck.erofs before 1.8 reads an xattr ibody header after every
    // inode, xattrs or not (erofs_verify_xattr), and calls an image whose last inode ends within
    // that many bytes of the end corrupt: such an image gets one more (zero, unwritten) block.
    const metaBlocks = Math.ceil((this.metaBytes + EROFS_XATTR_IBODY_HEADER_SIZE) / opts.blockSize);
    this.totalBlocks = this.metaBlkaddr + metaBlocks;
  }

  private decideContent(node: Node): void {
    const { inode } = node;
    const bs = this.opts.blockSize;
    let size = 0;
    switch (inode.type) {
      case 'file': {
        size = inode.size;
        if (size === 0) break; // empty files are flat with no blocks, whatever the mode
        if (inode.data.kind === 'device') {
          this.deviceChunks(node, inode.data.device, inode.data.offset, size);
          break;
        }
        const p = this.placements.get(inode.data);
        if (!p) throw new Error('regular file without placed data');
        if (p.z) {
          node.datalayout = p.z.full ? EROFS_INODE_COMPRESSED_FULL : EROFS_INODE_COMPRESSED_COMPACT;
          node.z = p.z;
          node.i_u = p.z.blocks; // compressed_blocks
        } else if (p.chunks) {
          let next = p.blkaddr;
          const per = 2 ** p.chunks.bits / bs;
          const refs = [...p.chunks.present].map((present) => {
            if (!present) return HOLE;
            const ref = { blkaddr: next, device_id: 0 };
            next += per;
            return ref;
          });
          node.datalayout = EROFS_INODE_CHUNK_BASED;
          node.chunks = { refs, indexes: this.opts.devices.length > 0 };
          node.i_u = chunkFormat(p.chunks.bits, this.opts.blkszbits, node.chunks.indexes);
          this.usesChunks = true;
        } else if (p.tail) {
          node.datalayout = EROFS_INODE_FLAT_INLINE;
          node.tail = { kind: 'scratch', ...p.tail };
          node.i_u = p.blocks > 0 ? p.blkaddr : 0;
        } else {
          node.i_u = p.blocks > 0 ? p.blkaddr : 0;
        }
        break;
      }
      case 'dir': {
        const names = node.dir!.names;
        const starts = splitDirBlocks(names, bs);
        const blocks = starts.length - 1;
        const lastBytes = dirBlockBytes(names.slice(starts[blocks - 1]));
        size = (blocks - 1) * bs + lastBytes;
        node.dir!.starts = starts;
        this.contentLayout(node, blocks, lastBytes, { kind: 'dir', length: lastBytes });
        break;
      }
      case 'symlink': {
        const target = bytesOf(inode.target);
        size = target.length;
        // Linux reads at most PATH_MAX - 1 bytes of a link (page_get_link): longer would be cut.
        if (size > SYMLINK_MAX) throw new EntryError(pathOf(node), `symlink target of ${size} bytes is longer than ${SYMLINK_MAX}`);
        const tailLen = size % bs;
        const blocks = Math.ceil(size / bs);
        this.contentLayout(node, blocks, tailLen === 0 ? bs : tailLen, { kind: 'bytes', bytes: target.subarray(size - (tailLen === 0 ? Math.min(bs, size) : tailLen)) });
        break;
      }
      case 'chr':
      case 'blk':
        node.i_u = encodeRdev(inode.major, inode.minor);
        break;
      case 'fifo':
      case 'sock':
        break;
    }
    node.i_size = size;
    const { st } = node;
    node.extended = !fitsCompact({ uid: st.uid, gid: st.gid, nlink: node.nlink, size, mtimeIsEpoch: st.mtime === this.epoch });
  }

  /**
   * Directory and symlink content: the last block inline after the inode when the record fits one
   * block (FLAT_INLINE), otherwise every block stored apart (FLAT_PLAIN).
   */
  private contentLayout(node: Node, blocks: number, lastBytes: number, tail: Tail): void {
    const bs = this.opts.blockSize;
    const fits = inodeSize(true) + node.ibody.length + lastBytes <= bs;
    if (fits) {
      node.datalayout = EROFS_INODE_FLAT_INLINE;
      node.tail = tail;
      if (blocks > 1) node.extra = { blkaddr: 0, blocks: blocks - 1 };
    } else if (blocks > 0) {
      node.datalayout = EROFS_INODE_FLAT_PLAIN;
      node.extra = { blkaddr: 0, blocks };
    }
  }

  /** A file whose bytes live in another image: one chunk index per contiguous run (here: one). */
  private deviceChunks(node: Node, device: ImageDevice, offset: number, size: number): void {
    const bs = this.opts.blockSize;
    const id = this.opts.devices.indexOf(device);
    // The path is built only for an error: fsmeta has one of these per file.
    const fail = (problem: string): never => {
      throw new EntryError(pathOf(node), problem);
    };
    if (id < 0) fail(`data refers to device ${device.tag}, which is not among the image's devices`);
    if (device.blockSize !== bs) fail(`device ${device.tag} has ${device.blockSize}-byte blocks, the image ${bs}`);
    if (offset % bs !== 0) fail(`data at byte ${offset} of device ${device.tag} is not block aligned`);
    if (offset + size > device.blocks * bs) fail(`data runs past the end of device ${device.tag}`);
    // Chunk size: the smallest power of two covering the file, so one index maps it all.
    let bits = this.opts.blkszbits;
    while (2 ** bits < size) bits++;
    node.datalayout = EROFS_INODE_CHUNK_BASED;
    node.chunks = { refs: size === 0 ? [] : [{ blkaddr: offset / bs, device_id: id + 1 }], indexes: true };
    node.i_u = chunkFormat(bits, this.opts.blkszbits, true);
    this.usesChunks = true;
  }

  private recordSize(node: Node): number {
    const head = inodeSize(node.extended) + node.ibody.length;
    if (node.z) {
      const z = zRecord(node.z, head, node.i_size, this.opts.blkszbits);
      return z.headerAt + z.indexSize + (node.z.inline?.length ?? 0);
    }
    if (node.chunks) {
      const unit = chunkEntrySize(node.chunks.indexes);
      return Math.ceil(head / unit) * unit + node.chunks.refs.length * unit;
    }
    return head + (node.tail ? tailLength(node.tail) : 0);
  }

  /**
   * Writes directory and symlink blocks, the shared xattr area and the inode records, in
   * increasing offset order through `w`.
   */
  emit(w: RegionWriter, scratch: ScratchFile): void {
    const bs = this.opts.blockSize;
    for (const node of this.nodes) {
      if (!node.extra) continue;
      const { buf, at } = w.slice(node.extra.blkaddr * bs, node.extra.blocks * bs);
      this.emitExtra(node, buf, at);
    }
    const shared = this.shared.bytes();
    if (shared.length > 0) {
      const { buf, at } = w.slice(this.xattrBlkaddr * bs, shared.length);
      shared.copy(buf, at);
    }
    const metaStart = this.metaBlkaddr * bs;
    const order = this.nodes.map((_, i) => i).sort((a, b) => this.nodes[a]!.recordOffset - this.nodes[b]!.recordOffset);
    for (const i of order) {
      const node = this.nodes[i]!;
      const { buf, at } = w.slice(metaStart + node.recordOffset, this.recordSize(node));
      const { st } = node;
      // Compact inodes take the superblock's time: only extended ones store their own.
      const mtime = node.extended ? splitTime(st.mtime) : NO_MTIME;
      encodeInode(
        {
          extended: node.extended,
          datalayout: node.datalayout,
          i_xattr_icount: xattrIcount(node.ibody.length),
          i_mode: fullMode(node.inode),
          i_nlink: node.nlink,
          i_size: node.i_size,
          i_u: node.i_u,
          i_ino: i + 1,
          i_uid: st.uid,
          i_gid: st.gid,
          i_mtime: mtime.sec,
          i_mtime_nsec: mtime.nsec,
        },
        buf,
        at,
      );
      const contentAt = inodeSize(node.extended) + node.ibody.length;
      node.ibody.copy(buf, at + inodeSize(node.extended));
      if (node.z) {
        this.emitZ(node, scratch, buf, at, contentAt);
      } else if (node.chunks) {
        // Chunk indexes start at the next multiple of their size within the record.
        const unit = chunkEntrySize(node.chunks.indexes);
        encodeChunks(node.chunks.refs, node.chunks.indexes, buf, at + Math.ceil(contentAt / unit) * unit);
      } else if (node.tail?.kind === 'dir') {
        this.encodeDirBlock(node, node.dir!.starts.length - 2, buf, at + contentAt);
      } else if (node.tail?.kind === 'bytes') {
        node.tail.bytes.copy(buf, at + contentAt);
      } else if (node.tail?.kind === 'scratch') {
        scratch.read(node.tail.offset, node.tail.length).copy(buf, at + contentAt);
      }
    }
    w.flush();
  }

  /**
   * A compressed file's map header, lcluster indexes (full ones as parked, or converted to compact
   * now that the record's alignment is known) and tail-packed pcluster, after its inode and xattrs.
   */
  private emitZ(node: Node, scratch: ScratchFile, buf: Buffer, at: number, head: number): void {
    const z = node.z!;
    const r = zRecord(z, head, node.i_size, this.opts.blkszbits);
    if (z.wholeFragment) return encodeWholeFragmentHeader(z.fragmentoff!, buf, at + r.headerAt);
    const inline = z.inline?.length ?? 0;
    encodeMapHeader({ h_fragmentoff: z.fragmentoff, h_idata_size: inline, h_advise: z.advise, algorithm: this.opts.algorithm ?? 0, h_clusterbits: 0 }, buf, at + r.headerAt);
    const full = scratch.read(z.index.offset, z.index.length);
    if (z.full) {
      full.copy(buf, at + r.headerAt + Z_EROFS_LEGACY_MAP_HEADER_SIZE);
    } else {
      const opts = { lclusterbits: this.opts.blkszbits, bigPcluster: (z.advise & Z_EROFS_ADVISE_BIG_PCLUSTER_1) !== 0, c2b: (z.advise & Z_EROFS_ADVISE_COMPACTED_2B) !== 0, blkaddr: z.blkaddr, ebase: r.headerAt + Z_EROFS_MAP_HEADER_SIZE };
      encodeCompactIndexes(full, opts, buf, at + opts.ebase);
    }
    if (z.inline) scratch.read(z.inline.offset, z.inline.length).copy(buf, at + r.headerAt + r.indexSize);
  }

  /** Blocks of a directory or symlink stored apart from its inode, at byte `at` of `buf`. */
  private emitExtra(node: Node, buf: Buffer, at: number): void {
    const bs = this.opts.blockSize;
    if (node.dir) {
      for (let b = 0; b < node.extra!.blocks; b++) this.encodeDirBlock(node, b, buf, at + b * bs);
    } else if (node.inode.type === 'symlink') {
      bytesOf(node.inode.target).subarray(0, node.extra!.blocks * bs).copy(buf, at);
    }
  }

  /** Directory block `b`: its entries with the nids they now have. */
  private encodeDirBlock(node: Node, b: number, buf: Buffer, off: number): void {
    const dir = node.inode as DirInode;
    const { names, starts } = node.dir!;
    const entries: DirentSource[] = names.slice(starts[b], starts[b + 1]).map((name) => {
      const target = name === '.' ? node : name === '..' ? node.parent! : this.nodeOf(dir.entries.get(name)!);
      return { name, nid: target.nid, file_type: fileTypeCode(target.inode.type) };
    });
    encodeDirBlock(entries, buf, off);
  }

  private readonly nodeIndex: Map<Inode, Node>;
  private nodeOf(inode: Inode): Node {
    return this.nodeIndex.get(inode)!;
  }


}

const SYMLINK_MAX = 4095;

/** A directory's sorted names with "." and ".." merged in at their byte-order places. */
function withDots(sorted: readonly ByteString[]): ByteString[] {
  const out: ByteString[] = [];
  const dots = ['.', '..'];
  for (const name of sorted) {
    while (dots.length && dots[0]! < name) out.push(dots.shift()!);
    out.push(name);
  }
  return out.concat(dots);
}

/** The mtime most inodes are stored with (ties: the earliest). */
function commonMtime(nodes: readonly Node[]): bigint {
  const counts = new Map<bigint, number>();
  for (const { st } of nodes) counts.set(st.mtime, (counts.get(st.mtime) ?? 0) + 1);
  let best = 0n;
  let bestCount = -1;
  for (const [t, n] of counts) {
    if (n > bestCount || (n === bestCount && t < best)) {
      best = t;
      bestCount = n;
    }
  }
  return best;
}

const NO_XATTRS = Buffer.alloc(0);
const NO_MTIME = { sec: 0n, nsec: 0 };

/** A node's path (where it was first met), for error messages only. */
function pathOf(node: Node): string {
  const parts: ByteString[] = [];
  for (let n = node; n.parent !== n; n = n.parent!) parts.push(n.name);
  return displayName(parts.reverse().join('/')) || '/';
}

/**
 * Where a compressed file's map header goes in its record (the inode and xattrs end rounded up to
 * 8) and how many bytes header and indexes take there.
 */
function zRecord(z: ZPlacement, head: number, size: number, blkszbits: number): { headerAt: number; indexSize: number } {
  const headerAt = Math.ceil(head / 8) * 8;
  // A file wholly in the packed inode has the header and 8 reserved bytes, as mkfs.erofs writes it.
  if (z.wholeFragment) return { headerAt, indexSize: Z_EROFS_LEGACY_MAP_HEADER_SIZE };
  const totalidx = lclusterCount(size, blkszbits);
  const indexSize = z.full ? fullIndexSize(totalidx) : compactIndexSize(totalidx, headerAt + Z_EROFS_MAP_HEADER_SIZE, (z.advise & Z_EROFS_ADVISE_COMPACTED_2B) !== 0);
  return { headerAt, indexSize };
}

function tailLength(tail: Tail): number {
  return tail.kind === 'bytes' ? tail.bytes.length : tail.length;
}
