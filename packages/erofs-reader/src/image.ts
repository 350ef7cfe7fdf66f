import type { ByteString, DataReader } from '@fstools/fstree';
import { FsTree, displayName } from '@fstools/fstree';
import {
  EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX,
  EROFS_FEATURE_INCOMPAT_COMPR_CFGS,
  EROFS_FEATURE_INCOMPAT_FRAGMENTS,
  EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES,
  EROFS_FEATURE_INCOMPAT_ZERO_PADDING,
  EROFS_INODE_COMPRESSED_COMPACT,
  EROFS_INODE_COMPRESSED_FULL,
  EROFS_ISLOTBITS,
  EROFS_SUPER_OFFSET,
  Z_EROFS_COMPRESSION_LZ4,
} from './constants.js';
import type { FileExtent } from './data.js';
import { flatExtents } from './data.js';
import { lzmaDictSize } from './compr-cfgs.js';
import type { DecodeContext } from './decompress.js';
import { decodePcluster } from './decompress.js';
import type { DeviceSlot } from './device-table.js';
import { readDeviceTable } from './device-table.js';
import { DeviceMap } from './devices.js';
import { deviceIdMask } from './chunk.js';
import type { Dirent } from './dirent.js';
import { parseDirBlock } from './dirent.js';
import type { ErofsWhere, Fail } from './errors.js';
import { failer } from './errors.js';
import type { ErofsInode } from './inode.js';
import { decodeRdev, inodeSize, parseInode } from './inode.js';
import { BlockFile } from './io.js';
import type { Superblock } from './superblock.js';
import { checksumLength, hasChecksum, parseSuperblock, sbSize, superblockChecksum } from './superblock.js';
import { buildTree } from './to-tree.js';
import type { TreeOptions } from './to-tree.js';
import type { LongPrefix, XattrIbody } from './xattr.js';
import { parseIbody, parseLongPrefixes, parseXattrEntry, resolveName } from './xattr.js';
import type { ZExtent } from './zmap.js';
import { buildZMap } from './zmap.js';

export interface OpenOptions {
  /**
   * Files holding the extra devices (blobs), in device-table order, like fsck.erofs --device.
   * Without them an image with a device table is read in "flat" mode (blobs concatenated after
   * the primary at each slot's mapped_blkaddr) when every slot has one.
   */
  devices?: string[];
  /** Refuse an image whose superblock checksum is wrong (default true; fsck reports it instead). */
  verifyChecksum?: boolean;
}

/** What stat reports about an inode. */
export interface ErofsStat {
  nid: number;
  ino: number;
  type: ErofsInode['type'];
  /** Permission bits incl. setuid/setgid/sticky. */
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  size: number;
  /** ns since the epoch. */
  mtime: bigint;
  rdev?: { major: number; minor: number };
  /** 'compact' or 'extended' on-disk inode. */
  inodeFormat: 'compact' | 'extended';
  layout: 'flat-plain' | 'compressed-full' | 'flat-inline' | 'compressed-compact' | 'chunk-based';
}

const layoutNames: ErofsStat['layout'][] = ['flat-plain', 'compressed-full', 'flat-inline', 'compressed-compact', 'chunk-based'];

/** Limits on in-memory caches (entries). */
const INODE_CACHE = 4096;
const EXTENT_CACHE = 64;

/**
 * A read-only EROFS image. Reads are synchronous and positional; metadata goes through a small
 * block cache. Every problem with the image surfaces as an ErofsError.
 */
export class ErofsImage {
  readonly superblock: Superblock;
  readonly blockSize: number;
  /** Superblock checksum verdict: undefined when the image has none. */
  readonly checksumOk: boolean | undefined;
  readonly fail: Fail;
  private readonly primary: BlockFile;
  private readonly devices: DeviceMap;
  private readonly inodes = new Map<number, ErofsInode>();
  private readonly extents = new Map<number, FileExtent[]>();
  private lastPcluster: { nid: number; la: number; data: Uint8Array } | undefined;
  private prefixes: LongPrefix[] | undefined;
  private lzmaDict: number | undefined;

  private constructor(
    readonly path: string,
    opts: OpenOptions,
  ) {
    this.fail = failer(path);
    this.primary = new BlockFile(path, this.fail);
    const given: BlockFile[] = [];
    try {
      if (this.primary.size < EROFS_SUPER_OFFSET + 128) this.fail('BAD_SUPERBLOCK', `${this.primary.size} bytes are too few for an EROFS image`);
      const head = this.primary.read(EROFS_SUPER_OFFSET, Math.min(this.primary.size - EROFS_SUPER_OFFSET, 256));
      this.superblock = parseSuperblock(head, this.fail);
      const sb = this.superblock;
      this.blockSize = 2 ** sb.blkszbits;
      if (hasChecksum(sb)) {
        const region = this.primary.read(EROFS_SUPER_OFFSET, checksumLength(sb.blkszbits));
        this.checksumOk = superblockChecksum(region) === sb.checksum;
        if (!this.checksumOk && opts.verifyChecksum !== false) this.fail('BAD_CHECKSUM', `superblock checksum 0x${sb.checksum.toString(16)} does not match 0x${superblockChecksum(region).toString(16)}`, { offset: EROFS_SUPER_OFFSET + 4 });
      }
      const slots = readDeviceTable(sb.devt_slotoff, sb.extra_devices, EROFS_SUPER_OFFSET + sbSize(sb), (p, l) => this.meta(p, l), this.fail);
      for (const p of opts.devices ?? []) given.push(new BlockFile(p, failer(p)));
      this.devices = new DeviceMap(this.primary, slots, given, this.blockSize, this.fail);
    } catch (err) {
      for (const f of [this.primary, ...given]) f.close();
      throw err;
    }
  }

  static open(path: string, opts: OpenOptions = {}): ErofsImage {
    return new ErofsImage(path, opts);
  }

  /** The device table (empty without extra devices). */
  get deviceSlots(): readonly DeviceSlot[] {
    return this.devices.slots;
  }

  /** Extra devices are read from the primary image at each slot's mapped_blkaddr. */
  get flat(): boolean {
    return this.devices.flat;
  }

  get rootNid(): number {
    return this.superblock.root_nid;
  }

  /** Size of the primary image file in bytes. */
  get imageSize(): number {
    return this.primary.size;
  }

  close(): void {
    this.primary.close();
    this.devices.close();
  }

  /** `len` bytes at an absolute byte offset of the primary device (metadata reads). */
  meta(pos: number, len: number): Uint8Array {
    return this.primary.read(pos, len);
  }

  /** Byte offset of an inode: meta_blkaddr * block size + nid * 32. */
  iloc(nid: number): number {
    return this.superblock.meta_blkaddr * this.blockSize + nid * 2 ** EROFS_ISLOTBITS;
  }

  /** The parsed on-disk inode. */
  inode(nid: number): ErofsInode {
    const hit = this.inodes.get(nid);
    if (hit) return hit;
    const iloc = this.iloc(nid);
    if (!Number.isSafeInteger(iloc) || iloc + 2 > this.primary.size) this.fail('BAD_INODE', 'inode lies outside the image', { nid });
    const fmt = this.meta(iloc, 2);
    const ino = parseInode(this.meta(iloc, inodeSize(fmt[0]! | (fmt[1]! << 8))), nid, iloc, this.superblock, this.fail);
    if (this.inodes.size >= INODE_CACHE) this.inodes.clear();
    this.inodes.set(nid, ino);
    return ino;
  }

  stat(nid: number): ErofsStat {
    const ino = this.inode(nid);
    const st: ErofsStat = {
      nid,
      ino: ino.i_ino,
      type: ino.type,
      mode: ino.i_mode & 0o7777,
      uid: ino.i_uid,
      gid: ino.i_gid,
      nlink: ino.i_nlink,
      size: ino.i_size,
      mtime: ino.mtime,
      inodeFormat: ino.version ? 'extended' : 'compact',
      layout: layoutNames[ino.datalayout]!,
    };
    if (ino.type === 'chr' || ino.type === 'blk') st.rdev = decodeRdev(ino.i_u);
    return st;
  }

  /** Every on-disk dirent of a directory, "." and ".." included, block by block. */
  dirents(nid: number): Dirent[] {
    const ino = this.inode(nid);
    if (ino.type !== 'dir') this.fail('NOT_DIR', 'not a directory', { nid });
    const bs = this.blockSize;
    const out: Dirent[] = [];
    const block = new Uint8Array(bs);
    for (let pos = 0; pos < ino.i_size; pos += bs) {
      const used = Math.min(bs, ino.i_size - pos);
      this.readRange(ino, block.subarray(0, used), pos);
      for (const d of parseDirBlock(block.subarray(0, used), used, this.fail, { nid, offset: pos })) out.push(d);
    }
    return out;
  }

  /** The entries of a directory without "." and "..". */
  readdir(nid: number): Dirent[] {
    return this.dirents(nid).filter((d) => d.name !== '.' && d.name !== '..');
  }

  /** The nid at a path (byte string, "/"-separated, leading "/" optional); symlinks are not followed. */
  lookup(path: ByteString): number {
    let nid = this.rootNid;
    const seen: string[] = [];
    for (const part of path.split('/')) {
      if (part === '' || part === '.') continue;
      const ino = this.inode(nid);
      if (ino.type !== 'dir') this.fail('NOT_DIR', 'not a directory', { nid, path: displayName(seen.join('/')) });
      seen.push(part);
      const hit = this.dirents(nid).find((d) => d.name === part);
      if (!hit) this.fail('NOT_FOUND', 'no such file or directory', { path: displayName(seen.join('/')) });
      nid = hit.nid;
    }
    return nid;
  }

  /**
   * Reads file bytes at `pos` into `buf`; returns how many (fewer only at end of file). Works for
   * every inode with data: regular files, directories, symlinks.
   */
  read(nid: number, buf: Uint8Array, pos: number): number {
    const ino = this.inode(nid);
    const n = Math.max(0, Math.min(buf.length, ino.i_size - pos));
    if (n > 0) this.readRange(ino, buf.subarray(0, n), pos);
    return n;
  }

  /** A symlink's target. */
  readlink(nid: number): ByteString {
    const ino = this.inode(nid);
    if (ino.type !== 'symlink') this.fail('WRONG_TYPE', 'not a symlink', { nid });
    if (ino.i_size === 0 || ino.i_size > 4095) this.fail('BAD_SIZE', `symlink target of ${ino.i_size} bytes`, { nid });
    const buf = Buffer.alloc(ino.i_size);
    this.readRange(ino, buf, 0);
    return buf.toString('latin1');
  }

  /** A DataReader over a file's bytes (what toTree hands out as FileData). */
  openData(nid: number): DataReader {
    return {
      read: (buf, pos) => {
        const ino = this.inode(nid);
        if (pos + buf.length > ino.i_size) this.fail('BAD_SIZE', `read past end of file`, { nid, offset: pos });
        this.readRange(ino, buf, pos);
      },
      close() {},
    };
  }

  /** How a file's data is laid out, in offset order (see FileExtent). */
  fileExtents(nid: number): FileExtent[] {
    const hit = this.extents.get(nid);
    if (hit) return hit;
    const ino = this.inode(nid);
    const ctx = { blkszbits: this.superblock.blkszbits, deviceSize: this.primary.size, meta: (p: number, l: number) => this.meta(p, l), fail: this.fail };
    let out: FileExtent[];
    if (ino.datalayout === EROFS_INODE_COMPRESSED_FULL || ino.datalayout === EROFS_INODE_COMPRESSED_COMPACT) {
      const sb = this.superblock;
      const availableAlgorithms = sb.feature_incompat & EROFS_FEATURE_INCOMPAT_COMPR_CFGS ? sb.u1 : 1 << Z_EROFS_COMPRESSION_LZ4;
      out = buildZMap(ino, { ...ctx, feature_incompat: sb.feature_incompat, availableAlgorithms }).map(toFileExtent);
    } else {
      out = flatExtents(ino, { ...ctx, deviceIdMask: deviceIdMask(this.superblock.extra_devices) });
    }
    if (this.extents.size >= EXTENT_CACHE) this.extents.clear();
    this.extents.set(nid, out);
    return out;
  }

  /** Extended attributes by full name. */
  xattrs(nid: number): Map<string, Uint8Array> {
    const out = new Map<string, Uint8Array>();
    for (const x of this.xattrList(nid)) out.set(x.name, x.value);
    return out;
  }

  /** Every xattr of an inode in on-disk order (shared first), with its name parts; `body` is its parsed inline region (xattrIbody). */
  xattrList(nid: number, body = this.xattrIbody(nid)): Array<{ name: string; value: Uint8Array; baseIndex: number; afterBase: Uint8Array; shared: boolean }> {
    if (!body) return [];
    const where = { nid };
    const prefixes = this.longPrefixes();
    const sharedBase = this.superblock.xattr_blkaddr * this.blockSize;
    const read = (p: number, l: number) => this.meta(p, l);
    const out = body.shared.map((id) => {
      const pos = sharedBase + id * 4;
      if (pos >= this.primary.size) this.fail('BAD_XATTR', `shared xattr id ${id} points outside the image`, where);
      const e = parseXattrEntry(read, pos, this.primary.size, this.fail, { ...where, offset: pos });
      return { ...resolveName(e, prefixes, this.fail, where), value: e.value, shared: true };
    });
    for (const e of body.entries) out.push({ ...resolveName(e, prefixes, this.fail, where), value: e.value, shared: false });
    return out;
  }

  /** The inline xattr region of an inode, or undefined when it has none. */
  xattrIbody(nid: number): XattrIbody | undefined {
    const ino = this.inode(nid);
    if (!ino.xattr_isize) return undefined;
    return parseIbody((p, l) => this.meta(p, l), ino.iloc + ino.inode_isize, ino.xattr_isize, this.fail, { nid });
  }

  /** The long xattr name prefixes (XATTR_PREFIXES), from the packed inode when there is one. */
  longPrefixes(): LongPrefix[] {
    if (this.prefixes) return this.prefixes;
    const sb = this.superblock;
    if (!(sb.feature_incompat & EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES) || sb.xattr_prefix_count === 0) return (this.prefixes = []);
    const inPacked = sb.feature_incompat & EROFS_FEATURE_INCOMPAT_FRAGMENTS && sb.packed_nid > 0 && !(sb.feature_compat & EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX);
    if (inPacked) {
      const packed = this.inode(sb.packed_nid);
      const read = (p: number, l: number) => {
        const b = new Uint8Array(l);
        this.readRange(packed, b, p);
        return b;
      };
      return (this.prefixes = parseLongPrefixes(read, sb.xattr_prefix_start, sb.xattr_prefix_count, packed.i_size, this.fail));
    }
    return (this.prefixes = parseLongPrefixes((p, l) => this.meta(p, l), sb.xattr_prefix_start, sb.xattr_prefix_count, this.primary.size, this.fail));
  }

  /** The whole tree as fstree inodes; file data is read from the image on demand. */
  toTree(opts: TreeOptions = {}): FsTree {
    return buildTree(this, opts);
  }

  /** Fills `buf` with the inode's bytes at `pos` (the range must lie inside the file). */
  readRange(ino: ErofsInode, buf: Uint8Array, pos: number, depth = 0): void {
    const end = pos + buf.length;
    const extents = this.fileExtents(ino.nid);
    for (let i = firstExtentEndingAfter(extents, pos); i < extents.length && extents[i]!.offset < end; i++) {
      const ext = extents[i]!;
      const s = Math.max(pos, ext.offset);
      const e = Math.min(end, ext.offset + ext.length);
      if (s >= e) continue;
      const dst = buf.subarray(s - pos, e - pos);
      const where = { nid: ino.nid, offset: s };
      switch (ext.kind) {
        case 'hole':
          dst.fill(0);
          break;
        case 'data': {
          const { file, pos: at } = this.devices.resolve(ext.device, ext.physical + (s - ext.offset), e - s, where);
          file.readInto(dst, at, ext.device);
          break;
        }
        case 'inline':
          dst.set(this.meta(ext.physical + (s - ext.offset), e - s));
          break;
        case 'fragment': {
          const sb = this.superblock;
          if (depth > 0 || !sb.packed_nid) this.fail('BAD_COMPRESSION', 'fragment without a usable packed inode', where);
          const packed = this.inode(sb.packed_nid);
          if (ext.packedOffset + ext.length > packed.i_size) this.fail('BAD_COMPRESSION', `fragment at ${ext.packedOffset} beyond the packed inode's ${packed.i_size} bytes`, where);
          this.readRange(packed, dst, ext.packedOffset + (s - ext.offset), depth + 1);
          break;
        }
        case 'compressed':
          dst.set(this.decoded(ino.nid, ext).subarray(s - ext.offset, e - ext.offset));
          break;
      }
    }
  }

  /** The decoded bytes of a compressed extent (one-entry cache: reads are mostly sequential). */
  private decoded(nid: number, ext: Extract<FileExtent, { kind: 'compressed' }>): Uint8Array {
    const c = this.lastPcluster;
    if (c && c.nid === nid && c.la === ext.offset) return c.data;
    const where = { nid, offset: ext.offset };
    const input = ext.inline ? this.meta(ext.physical, ext.physicalLength) : this.readPhysical(ext.physical, ext.physicalLength, where);
    const ctx: DecodeContext = {
      blockSize: this.blockSize,
      lz4ZeroPadding: (this.superblock.feature_incompat & EROFS_FEATURE_INCOMPAT_ZERO_PADDING) !== 0,
      lzmaDictSize: () => (this.lzmaDict ??= lzmaDictSize(this.superblock, (p, l) => this.meta(p, l), this.fail)),
    };
    const data = decodePcluster(ext, input, ctx, this.fail, where);
    this.lastPcluster = { nid, la: ext.offset, data };
    return data;
  }

  private readPhysical(physical: number, length: number, where: ErofsWhere): Uint8Array {
    const { file, pos } = this.devices.resolve(0, physical, length, where);
    const buf = new Uint8Array(length);
    file.readInto(buf, pos);
    return buf;
  }
}

/** Index of the first extent (sorted by offset) that ends after `pos` (binary search). */
function firstExtentEndingAfter(extents: FileExtent[], pos: number): number {
  let lo = 0;
  let hi = extents.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const e = extents[mid]!;
    if (e.offset + e.length <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function toFileExtent(z: ZExtent): FileExtent {
  if (z.format.kind === 'fragment') return { kind: 'fragment', offset: z.la, length: z.llen, packedOffset: z.pa };
  return { kind: 'compressed', offset: z.la, length: z.llen, physical: z.pa, physicalLength: z.plen, format: z.format, inline: z.inline, partialref: z.partialref };
}
