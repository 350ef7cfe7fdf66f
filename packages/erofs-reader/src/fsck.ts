import type { ByteString } from '@fstools/fstree';
import { displayName, typeOfFileType } from '@fstools/fstree';
import { dirProblems } from './dir-check.js';
import { EROFS_FEATURE_COMPAT_XATTR_FILTER, EROFS_FEATURE_INCOMPAT_FRAGMENTS, EROFS_SUPER_OFFSET } from './constants.js';
import type { FileExtent } from './data.js';
import type { ErofsErrorCode, ErofsWhere } from './errors.js';
import { ErofsError } from './errors.js';
import type { OpenOptions } from './image.js';
import { ErofsImage } from './image.js';
import type { ErofsInode } from './inode.js';
import { filterBit } from './xattr.js';

export interface FsckOptions extends OpenOptions {
  /** Read (and decompress) every file's data, not only check where it lies (default true). */
  data?: boolean;
  /** Stop collecting after this many problems (default 1000). */
  maxErrors?: number;
}

export interface FsckResult {
  /** Every problem found, in the order found. Empty means the image is consistent. */
  errors: ErofsError[];
  /** Inodes reached from the root (plus the packed inode). */
  inodes: number;
  directories: number;
  /** Bytes of file data read and verified. */
  bytes: number;
}

const READ_CHUNK = 1 << 20;

/**
 * Checks an image the way fsck.erofs does and more: superblock (checksum, fields), device table,
 * every inode reachable from the root (format, layout, sizes against blocks, block references
 * inside their device), directories (bounds, byte order across blocks, "." and "..", file types,
 * cycles), xattrs (bounds, prefixes, shared ids, bloom filter), link counts, and all data. It keeps
 * going after a problem and reports all of them.
 */
export function fsck(path: string, opts: FsckOptions = {}): FsckResult {
  const result: FsckResult = { errors: [], inodes: 0, directories: 0, bytes: 0 };
  let img: ErofsImage;
  try {
    img = ErofsImage.open(path, { ...opts, verifyChecksum: false });
  } catch (err) {
    result.errors.push(asErofsError(err, {}));
    return result;
  }
  try {
    new Checker(img, result, opts).run();
  } finally {
    img.close();
  }
  return result;
}

class Checker {
  private readonly bs: number;
  private readonly names = new Map<number, number>();
  private readonly subdirs = new Map<number, number>();
  private readonly checked = new Map<number, ErofsInode | undefined>();
  private readonly paths = new Map<number, ByteString>();

  constructor(
    private readonly img: ErofsImage,
    private readonly result: FsckResult,
    private readonly opts: FsckOptions,
  ) {
    this.bs = img.blockSize;
  }

  run(): void {
    this.checkSuperblock();
    this.walk();
    const sb = this.img.superblock;
    if (sb.packed_nid && sb.feature_incompat & EROFS_FEATURE_INCOMPAT_FRAGMENTS) this.checkInode(sb.packed_nid, '(packed inode)');
    this.checkLinks();
  }

  private problem(code: ErofsErrorCode, detail: string, where: RawWhere): void {
    if (this.result.errors.length < (this.opts.maxErrors ?? 1000)) this.result.errors.push(new ErofsError(this.img.path, code, detail, shown(where)));
  }

  /** Runs a step; an ErofsError it throws becomes a reported problem (with the path added). */
  private attempt<T>(where: RawWhere, fn: () => T): T | undefined {
    try {
      return fn();
    } catch (err) {
      const e = asErofsError(err, shown(where));
      if (this.result.errors.length < (this.opts.maxErrors ?? 1000)) this.result.errors.push(e);
      return undefined;
    }
  }

  private checkSuperblock(): void {
    const { img } = this;
    const sb = img.superblock;
    if (img.checksumOk === false) this.problem('BAD_CHECKSUM', `superblock checksum 0x${sb.checksum.toString(16)} is wrong`, { offset: EROFS_SUPER_OFFSET + 4 });
    if (sb.fixed_nsec >= 1e9) this.problem('BAD_SUPERBLOCK', `fixed_nsec ${sb.fixed_nsec} out of range`, { offset: EROFS_SUPER_OFFSET + 32 });
    if (sb.blocks * this.bs > img.imageSize) this.problem('IO', `image has ${img.imageSize} bytes, the superblock says ${sb.blocks} blocks`, {});
    if (sb.meta_blkaddr * this.bs >= img.imageSize) this.problem('BAD_SUPERBLOCK', `meta_blkaddr ${sb.meta_blkaddr} beyond the image`, { offset: EROFS_SUPER_OFFSET + 40 });
    if (sb.xattr_filter_reserved) this.problem('UNSUPPORTED', `xattr_filter_reserved ${sb.xattr_filter_reserved}: unknown filter format`, { offset: EROFS_SUPER_OFFSET + 104 });
    for (const [i, slot] of img.deviceSlots.entries()) {
      const where = { device: i + 1 };
      if (!slot.blocks) this.problem('BAD_DEVICE_TABLE', `device ${i + 1} has no blocks`, where);
      if (img.flat && (slot.mapped_blkaddr + slot.blocks) * this.bs > img.imageSize) this.problem('BLOCK_OUT_OF_RANGE', `device ${i + 1} (mapped at block ${slot.mapped_blkaddr}) extends past the flat image`, where);
    }
  }

  /** Depth-first walk from the root with an explicit stack; each directory is entered once. */
  private walk(): void {
    const root = this.img.rootNid;
    const stack: Array<{ nid: number; parent: number; path: ByteString }> = [{ nid: root, parent: root, path: '' }];
    const reached = new Set<number>([root]); // directories entered or waiting on the stack
    this.checkInode(root, '');
    while (stack.length) {
      const { nid, parent, path } = stack.pop()!;
      this.result.directories++;
      const where = { nid, path };
      const dirents = this.attempt(where, () => this.img.dirents(nid));
      if (!dirents) continue;
      for (const p of dirProblems(dirents, nid, parent)) this.problem(p.code, p.detail, p.entry ? { nid: p.entry.nid, path: path ? `${path}/${p.entry.name}` : p.entry.name } : where);
      for (const d of dirents) {
        if (d.name === '.' || d.name === '..') continue;
        const childPath = path ? `${path}/${d.name}` : d.name;
        const at = { nid: d.nid, path: childPath };
        const ino = this.checkInode(d.nid, childPath);
        if (!ino) continue;
        if (typeOfFileType(d.file_type) !== ino.type) this.problem('FILE_TYPE_MISMATCH', `dirent file_type ${d.file_type}, inode is a ${ino.type}`, at);
        if (ino.type === 'dir') {
          this.subdirs.set(nid, (this.subdirs.get(nid) ?? 0) + 1);
          if (reached.has(d.nid)) this.problem('DIR_CYCLE', 'directory reached twice (cycle or directory hardlink)', at);
          else {
            reached.add(d.nid);
            stack.push({ nid: d.nid, parent: nid, path: childPath });
          }
        } else this.names.set(d.nid, (this.names.get(d.nid) ?? 0) + 1);
      }
    }
  }

  /** Checks an inode once; returns it when it parsed. */
  private checkInode(nid: number, path: ByteString): ErofsInode | undefined {
    if (this.checked.has(nid)) return this.checked.get(nid);
    const where = { nid, path };
    const ino = this.attempt(where, () => this.img.inode(nid));
    this.checked.set(nid, ino);
    this.paths.set(nid, path);
    if (!ino) return undefined;
    this.result.inodes++;
    this.attempt(where, () => this.checkXattrs(ino, where));
    if (ino.type === 'symlink' && (ino.i_size === 0 || ino.i_size > 4095)) this.problem('BAD_SIZE', `symlink of ${ino.i_size} bytes`, where);
    if ((ino.type === 'chr' || ino.type === 'blk' || ino.type === 'fifo' || ino.type === 'sock') && ino.i_size) this.problem('BAD_SIZE', `${ino.type} with size ${ino.i_size}`, where);
    if (ino.type === 'dir' && ino.i_size === 0) this.problem('BAD_SIZE', 'empty directory data (no "." and "..")', where);
    if (ino.type === 'file' || ino.type === 'dir' || ino.type === 'symlink') {
      const extents = this.attempt(where, () => this.img.fileExtents(nid));
      // Data is read only where every reference is in range: one problem, one report.
      if (extents && this.checkExtents(extents, where) && ino.type === 'file' && this.opts.data !== false) this.attempt(where, () => this.readAll(ino, extents));
    }
    return ino;
  }

  /** Reports references outside their device; true when there are none. */
  private checkExtents(extents: FileExtent[], where: RawWhere): boolean {
    const sb = this.img.superblock;
    const before = this.result.errors.length;
    for (const e of extents) {
      const at = { ...where, offset: e.offset };
      if (e.kind === 'data') {
        const limit = e.device === 0 ? sb.blocks * this.bs : (this.img.deviceSlots[e.device - 1]?.blocks ?? 0) * this.bs;
        if (e.device > this.img.deviceSlots.length) this.problem('BAD_CHUNK', `device id ${e.device} beyond the ${this.img.deviceSlots.length} extra devices`, at);
        else if (e.physical + e.length > limit) this.problem('BLOCK_OUT_OF_RANGE', `${e.length} bytes at ${e.physical} lie outside device ${e.device} (${limit} bytes)`, { ...at, device: e.device });
      } else if (e.kind === 'compressed' && e.physical + e.physicalLength > sb.blocks * this.bs) {
        this.problem('BLOCK_OUT_OF_RANGE', `pcluster of ${e.physicalLength} bytes at ${e.physical} lies outside the image`, at);
      }
    }
    return this.result.errors.length === before;
  }

  /** Reads every stored byte (holes cost nothing, so huge sparse files stay cheap). */
  private readAll(ino: ErofsInode, extents: FileExtent[]): void {
    const buf = new Uint8Array(Math.min(READ_CHUNK, ino.i_size));
    for (const e of extents) {
      if (e.kind === 'hole') continue;
      for (let pos = e.offset; pos < e.offset + e.length; pos += buf.length) {
        const n = Math.min(buf.length, e.offset + e.length - pos);
        this.img.readRange(ino, buf.subarray(0, n), pos);
        this.result.bytes += n;
      }
    }
  }

  private checkXattrs(ino: ErofsInode, where: RawWhere): void {
    const body = this.img.xattrIbody(ino.nid);
    if (!body) return;
    const list = this.img.xattrList(ino.nid, body);
    const seen = new Set<string>();
    for (const x of list) {
      if (seen.has(x.name)) this.problem('BAD_XATTR', `xattr ${x.name} appears twice`, where);
      seen.add(x.name);
    }
    const sb = this.img.superblock;
    if (sb.feature_compat & EROFS_FEATURE_COMPAT_XATTR_FILTER && !sb.xattr_filter_reserved) {
      // A set bit means "no xattr hashes here": a present name on a set bit would be hidden.
      for (const x of list) {
        const bit = filterBit(x.baseIndex, x.afterBase);
        if (body.h_name_filter & (1 << bit)) this.problem('XATTR_FILTER', `bloom filter bit ${bit} says ${x.name} is absent`, where);
      }
    }
  }

  /** Link counts: names per non-directory, 2 + subdirectories per directory (the packed inode has none). */
  private checkLinks(): void {
    for (const [nid, ino] of this.checked) {
      if (!ino) continue;
      const want = ino.type === 'dir' ? 2 + (this.subdirs.get(nid) ?? 0) : this.names.get(nid);
      if (want !== undefined && ino.i_nlink !== want) this.problem('BAD_NLINK', `nlink ${ino.i_nlink}, found ${want}`, { nid, path: this.paths.get(nid) ?? '' });
    }
  }
}

/** An ErofsWhere whose path is still the raw byte string: made displayable only for a reported problem. */
type RawWhere = ErofsWhere;

function shown(where: RawWhere): ErofsWhere {
  return where.path === undefined ? where : { ...where, path: displayName(where.path) };
}

/** Any failure as an ErofsError (a non-ErofsError here is a reader bug, reported as such). */
function asErofsError(err: unknown, where: ErofsWhere): ErofsError {
  if (err instanceof ErofsError) return err.where.path !== undefined || where.path === undefined ? err : new ErofsError(err.file, err.code, err.detail, { ...err.where, path: where.path });
  throw err;
}
