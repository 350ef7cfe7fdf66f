import type { ByteString } from './bytestring.js';

/** Every entry type a Linux filesystem can hold. */
export type InodeType = 'dir' | 'file' | 'symlink' | 'chr' | 'blk' | 'fifo' | 'sock';

/** Metadata every inode carries. */
export interface InodeMeta {
  /** Permission bits including setuid (0o4000), setgid (0o2000) and sticky (0o1000). */
  mode: number;
  /** 32-bit owner ids. */
  uid: number;
  gid: number;
  /** Modification time in nanoseconds since the epoch (may be negative). */
  mtime: bigint;
  /** Extended attributes by full name ("user.x", "security.capability"), values as raw bytes. */
  xattrs: Map<string, Uint8Array>;
}

/** A block device or image another filesystem's data blocks live in. */
export interface ImageDevice {
  /** Stable identity, e.g. a layer's diff ID. Becomes the EROFS device-table tag. */
  tag: string;
  /** Host path of the image file. */
  path: string;
  blockSize: number;
  /** Size of the image in blocks. */
  blocks: number;
}

/**
 * Positional, synchronous access to a regular file's bytes, whatever its data source.
 * `read` fills `buf` from byte `pos` of the file; it never reads past the inode's size and throws
 * an InputError when the source is shorter than the inode says (a file that shrank).
 */
export interface DataReader {
  read(buf: Uint8Array, pos: number): void;
  close(): void;
}

/**
 * Where a regular file's bytes come from. The inode's size says how many bytes there are.
 * - bytes: in memory;
 * - host: a byte range of a host file starting at offset;
 * - device: a byte range of another image starting at offset (block aligned for chunk refs);
 * - sparse: data segments at given offsets, zeros everywhere else (holes);
 * - reader: anything else that can read the bytes on demand (an image reader, say);
 * - stored: the bytes went straight into a writer's output as a tar streamed past (its
 *   storeData hook); nothing here can read them again.
 */
export type FileData =
  | { kind: 'bytes'; bytes: Uint8Array }
  | { kind: 'reader'; open: () => DataReader }
  | { kind: 'stored' }
  | { kind: 'host'; path: string | Buffer; offset: number }
  | { kind: 'device'; device: ImageDevice; offset: number }
  | { kind: 'sparse'; segments: SparseSegment[] };

export interface SparseSegment {
  offset: number;
  bytes: Uint8Array;
}

export interface DirInode extends InodeMeta {
  type: 'dir';
  /** Children by name (byte string). Hardlinked inodes appear under several names. */
  entries: Map<ByteString, Inode>;
}
export interface FileInode extends InodeMeta {
  type: 'file';
  size: number;
  data: FileData;
}
export interface SymlinkInode extends InodeMeta {
  type: 'symlink';
  target: ByteString;
}
export interface DeviceInode extends InodeMeta {
  type: 'chr' | 'blk';
  major: number;
  minor: number;
}
export interface SpecialInode extends InodeMeta {
  type: 'fifo' | 'sock';
}
export type Inode = DirInode | FileInode | SymlinkInode | DeviceInode | SpecialInode;

/** S_IFMT bits of each type (Linux stat.h values, shared by every format we write). */
export const S_IFMT = 0o170000;
export const S_IFSOCK = 0o140000;
export const S_IFLNK = 0o120000;
export const S_IFREG = 0o100000;
export const S_IFBLK = 0o060000;
export const S_IFDIR = 0o040000;
export const S_IFCHR = 0o020000;
export const S_IFIFO = 0o010000;

const typeBits: Record<InodeType, number> = {
  dir: S_IFDIR,
  file: S_IFREG,
  symlink: S_IFLNK,
  chr: S_IFCHR,
  blk: S_IFBLK,
  fifo: S_IFIFO,
  sock: S_IFSOCK,
};

/**
 * Directory entry file types: the kernel's FT_* numbering (include/linux/fs_types.h), which ext4's
 * EXT4_FT_* and EROFS's EROFS_FT_* both use. 0 is FT_UNKNOWN.
 */
const fileTypeCodes: Record<InodeType, number> = { file: 1, dir: 2, chr: 3, blk: 4, fifo: 5, sock: 6, symlink: 7 };
const typesByCode = new Map(Object.entries(fileTypeCodes).map(([type, code]) => [code, type as InodeType]));

/** The directory entry file type (FT_*) of an inode type. */
export function fileTypeCode(type: InodeType): number {
  return fileTypeCodes[type];
}

/** The inode type of a directory entry file type, or undefined for FT_UNKNOWN and unknown values. */
export function typeOfFileType(code: number): InodeType | undefined {
  return typesByCode.get(code);
}

/** st_mode of an inode: type bits | permission bits. */
export function fullMode(inode: Inode): number {
  return typeBits[inode.type] | (inode.mode & 0o7777);
}

/** The inode type of an st_mode value, or undefined for an unknown S_IFMT. */
export function typeOfMode(mode: number): InodeType | undefined {
  const t = mode & S_IFMT;
  return (Object.keys(typeBits) as InodeType[]).find((k) => typeBits[k] === t);
}

/** Size in bytes as stat reports it for non-directories: file bytes, symlink target length, else 0. */
export function contentSize(inode: Inode): number {
  if (inode.type === 'file') return inode.size;
  if (inode.type === 'symlink') return inode.target.length;
  return 0;
}

export function defaultMeta(over: Partial<InodeMeta> = {}): InodeMeta {
  return { mode: 0o755, uid: 0, gid: 0, mtime: 0n, xattrs: new Map(), ...over };
}

export function makeDir(meta: Partial<InodeMeta> = {}): DirInode {
  return { type: 'dir', ...defaultMeta(meta), entries: new Map() };
}

export function makeFile(data: Uint8Array | { size: number; data: FileData }, meta: Partial<InodeMeta> = {}): FileInode {
  const m = defaultMeta({ mode: 0o644, ...meta });
  if (data instanceof Uint8Array) return { type: 'file', ...m, size: data.length, data: { kind: 'bytes', bytes: data } };
  return { type: 'file', ...m, size: data.size, data: data.data };
}

export function makeSymlink(target: ByteString, meta: Partial<InodeMeta> = {}): SymlinkInode {
  return { type: 'symlink', ...defaultMeta({ mode: 0o777, ...meta }), target };
}

export function makeDevice(type: 'chr' | 'blk', major: number, minor: number, meta: Partial<InodeMeta> = {}): DeviceInode {
  return { type, ...defaultMeta({ mode: 0o600, ...meta }), major, minor };
}

export function makeSpecial(type: 'fifo' | 'sock', meta: Partial<InodeMeta> = {}): SpecialInode {
  return { type, ...defaultMeta({ mode: 0o644, ...meta }) };
}

/** Splits ns since the epoch into whole seconds (floor) and nanoseconds 0..999999999. */
export function splitTime(ns: bigint): { sec: bigint; nsec: number } {
  let sec = ns / 1_000_000_000n;
  let nsec = ns - sec * 1_000_000_000n;
  if (nsec < 0n) {
    sec -= 1n;
    nsec += 1_000_000_000n;
  }
  return { sec, nsec: Number(nsec) };
}

export function joinTime(sec: bigint | number, nsec: number): bigint {
  return BigInt(sec) * 1_000_000_000n + BigInt(nsec);
}
