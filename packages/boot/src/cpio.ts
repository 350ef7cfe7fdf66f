import type { ByteString, FileInode, FsTree, Inode } from '@fstools/fstree';
import { bytesOf, contentSize, fullMode, openData, splitTime, writeOutputFile } from '@fstools/fstree';

/** "New ASCII" cpio (newc), the format the kernel unpacks an initramfs from. */
const MAGIC = '070701';
const TRAILER = 'TRAILER!!!';
const HEADER_SIZE = 110;
const CHUNK = 1 << 20;

interface Header {
  ino: number;
  mode: number;
  uid: number;
  gid: number;
  nlink: number;
  mtime: number;
  filesize: number;
  rdevmajor: number;
  rdevminor: number;
  name: Buffer;
}

/** One newc header with its name, NUL and padding to 4 bytes. */
function encodeHeader(h: Header): Buffer {
  const fields = [h.ino, h.mode, h.uid, h.gid, h.nlink, h.mtime, h.filesize, 0, 0, h.rdevmajor, h.rdevminor, h.name.length + 1, 0];
  const head = MAGIC + fields.map((v) => (v >>> 0).toString(16).toUpperCase().padStart(8, '0')).join('');
  const size = align4(HEADER_SIZE + h.name.length + 1);
  const out = Buffer.alloc(size);
  out.write(head, 'latin1');
  h.name.copy(out, HEADER_SIZE);
  return out;
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

/** Seconds for the 32-bit unsigned mtime field, clamped. */
function mtimeField(ns: bigint): number {
  const { sec } = splitTime(ns);
  return Number(sec < 0n ? 0n : sec > 0xffffffffn ? 0xffffffffn : sec);
}

/**
 * The newc archive of a tree, in chunks: every entry except the root, parents before children,
 * device nodes and symlinks included (no root needed to make them). Hardlinked inodes share an
 * inode number and carry their data on the last name, as GNU cpio writes it and the kernel reads it.
 */
export function* cpioChunks(tree: FsTree): Generator<Uint8Array> {
  const links = tree.linkCounts();
  const inoOf = new Map<Inode, number>();
  const remaining = new Map<Inode, number>();
  for (const { path, inode } of tree.walk()) {
    if (path === '') continue;
    let ino = inoOf.get(inode);
    if (ino === undefined) {
      ino = inoOf.size + 1;
      inoOf.set(inode, ino);
      remaining.set(inode, inode.type === 'dir' ? 1 : links.get(inode)!);
    }
    const left = remaining.get(inode)! - 1;
    remaining.set(inode, left);
    const carriesData = inode.type !== 'dir' && left === 0;
    yield encodeHeader({
      ino,
      mode: fullMode(inode),
      uid: inode.uid,
      gid: inode.gid,
      nlink: links.get(inode)!,
      mtime: mtimeField(inode.mtime),
      filesize: carriesData ? contentSize(inode) : 0,
      rdevmajor: inode.type === 'chr' || inode.type === 'blk' ? inode.major : 0,
      rdevminor: inode.type === 'chr' || inode.type === 'blk' ? inode.minor : 0,
      name: bytesOf(path as ByteString),
    });
    if (!carriesData) continue;
    if (inode.type === 'file') yield* fileChunks(inode);
    else if (inode.type === 'symlink') yield bytesOf(inode.target);
    const pad = align4(contentSize(inode)) - contentSize(inode);
    if (pad) yield Buffer.alloc(pad);
  }
  yield encodeHeader({ ino: 0, mode: 0, uid: 0, gid: 0, nlink: 1, mtime: 0, filesize: 0, rdevmajor: 0, rdevminor: 0, name: Buffer.from(TRAILER) });
}

function* fileChunks(file: FileInode): Generator<Uint8Array> {
  const r = openData(file);
  try {
    for (let pos = 0; pos < file.size; pos += CHUNK) {
      const buf = Buffer.allocUnsafe(Math.min(CHUNK, file.size - pos));
      r.read(buf, pos);
      yield buf;
    }
  } finally {
    r.close();
  }
}

/** Writes the newc archive of a tree to `out` (through an fstree OutputFile: renamed into place when complete). */
export function writeCpio(tree: FsTree, out: string): void {
  writeOutputFile(out, (file) => {
    let pos = 0;
    for (const chunk of cpioChunks(tree)) {
      file.write(chunk, pos);
      pos += chunk.length;
    }
    return pos;
  });
}
