import { createHash } from 'node:crypto';
import type { ByteString, DirInode, FsTree, Inode } from '@fstools/fstree';
import { bytesOf, displayName, EntryError, fileTypeCode, makeDir, sortedNames } from '@fstools/fstree';
import {
  EXT4_FAST_SYMLINK_MAX,
  EXT4_GOOD_OLD_FIRST_INO,
  EXT4_GOOD_OLD_INODE_SIZE,
  EXT4_INODE_LARGE_SIZE,
  EXT4_LINK_MAX,
  EXT4_ROOT_INO,
} from '../constants.js';
import type { DirBlockFormat, DirEntry } from '../dirent.js';
import type { Feature } from '../features.js';
import type { DirShape } from '../htree.js';
import { shapeBlockCount, shapeDir } from '../htree.js';
import type { Xattr } from '../xattr.js';
import { fitsInBlock, placeXattrs, sortXattrs, toXattr } from '../xattr.js';
import { lostFoundBlockCount } from './fixed.js';

const LOST_FOUND: ByteString = 'lost+found';

/** One inode of the image with what its layout needs before block numbers are known. */
export interface TableInode {
  ino: number;
  inode: Inode;
  /** The directory it was first found in (the root's is the root). */
  parent: number;
  links: number;
  /** Directories: how the entries sit in blocks. */
  dir?: DirShape;
  /** Blocks of content that are not file data: directory blocks, a slow symlink's block. */
  contentBlocks: number;
  xattrsInInode: Xattr[];
  xattrsInBlock: Xattr[];
  /** Key shared by inodes whose xattr blocks would be identical (they share one block). */
  xattrKey?: string;
}

/** Geometry-independent choices the table depends on. */
export interface TableFormat {
  blockSize: number;
  inodeSize: number;
  features: ReadonlySet<Feature>;
  /** Directory hash seed words (for hash-tree layouts). */
  hashSeed: number[];
}

/** The inodes in number order (2 and 11 first, then 12 upward), with the count of inode numbers used. */
export interface InodeTable {
  inodes: TableInode[];
  lastIno: number;
  /** The lost+found directory (the source's own, or one made like mke2fs makes it). */
  lostFound: DirInode;
}

export function dirFormat(blockSize: number, features: ReadonlySet<Feature>): DirBlockFormat {
  return { blockSize, csum: features.has('metadata_csum'), filetype: features.has('filetype') };
}

/** A directory's children in byte order, with their inodes. */
export interface Children {
  names: ByteString[];
  inodes: Inode[];
}

/** One inode of the tree with its number, in the order numbers were given. */
export interface NumberedInode {
  ino: number;
  inode: Inode;
  /** The directory it was first found in (the root's is the root). */
  parent: number;
  /** Names pointing at it (for directories, recomputed as 2 + subdirectories). */
  names: number;
  /** Directories: their children. */
  children?: Children;
}

/** The tree's inodes numbered: 2 for the root, 11 for lost+found, 12 upward in walk order. */
export interface Numbering {
  inodes: NumberedInode[];
  numbers: Map<Inode, number>;
  lastIno: number;
  /** The lost+found directory (the source's own, or one made like mke2fs makes it). */
  lostFound: DirInode;
  tree: FsTree;
}

/**
 * Numbers the tree's inodes: the root is 2, lost+found 11, the rest from 12 in walk order
 * (directories' children in byte order, depth first), one number per hardlinked inode.
 * `lostFoundMeta` makes lost+found when the tree has none.
 */
export function numberInodes(tree: FsTree, lostFoundMeta: () => DirInode): Numbering {
  const existing = tree.root.entries.get(LOST_FOUND);
  if (existing && existing.type !== 'dir') throw new EntryError(LOST_FOUND, 'must be a directory (e2fsck needs it)');
  const lostFound = existing ?? lostFoundMeta();
  const numbers = new Map<Inode, number>();
  const inodes: NumberedInode[] = [];
  const byInode = new Map<Inode, NumberedInode>();
  const add = (inode: Inode, ino: number, parent: number): NumberedInode => {
    const n: NumberedInode = { ino, inode, parent, names: 0 };
    numbers.set(inode, ino);
    byInode.set(inode, n);
    inodes.push(n);
    return n;
  };
  add(tree.root, EXT4_ROOT_INO, EXT4_ROOT_INO);
  add(lostFound, EXT4_GOOD_OLD_FIRST_INO, EXT4_ROOT_INO);
  let next = EXT4_GOOD_OLD_FIRST_INO + 1;
  // Depth first with an explicit stack: trees may be deeper than the call stack.
  const stack: NumberedInode[] = [byInode.get(tree.root)!];
  while (stack.length) {
    const dir = stack.pop()!;
    const node = dir.inode as DirInode;
    const names = sortedNames(node);
    if (node === tree.root && !existing) names.splice(sortedIndex(names, LOST_FOUND), 0, LOST_FOUND);
    const children: Children = { names, inodes: names.map((n) => (n === LOST_FOUND && node === tree.root ? lostFound : node.entries.get(n)!)) };
    dir.children = children;
    const subdirs: NumberedInode[] = [];
    for (const child of children.inodes) {
      const n = byInode.get(child) ?? add(child, next++, dir.ino);
      n.names++;
      if (child.type !== 'dir') continue;
      if (n.names > 1) throw new EntryError(pathOf(child, tree), 'a directory cannot have two names');
      subdirs.push(n);
    }
    for (let i = subdirs.length - 1; i >= 0; i--) stack.push(subdirs[i]!);
  }
  inodes.sort((a, b) => a.ino - b.ino);
  return { inodes, numbers, lastIno: next - 1, lostFound, tree };
}

function sortedIndex(names: ByteString[], name: ByteString): number {
  let i = 0;
  while (i < names.length && names[i]! < name) i++;
  return i;
}

/**
 * Works out, for a format, each inode's link count, extended attribute placement and directory
 * shape (which needs the hash seed).
 */
export function buildInodeTable(num: Numbering, fmt: TableFormat): InodeTable {
  const dirFmt = dirFormat(fmt.blockSize, fmt.features);
  const index = fmt.features.has('dir_index') ? { seed: fmt.hashSeed } : undefined;
  const inodeSpace = fmt.inodeSize > EXT4_GOOD_OLD_INODE_SIZE ? fmt.inodeSize - EXT4_INODE_LARGE_SIZE : 0;
  const tree = num.tree;
  const inodes = num.inodes.map(({ ino, inode, parent, names, children }): TableInode => {
    const t: TableInode = { ino, inode, parent, links: names, contentBlocks: 0, xattrsInInode: [], xattrsInBlock: [] };
    if (children) {
      let subdirs = 0;
      const entries: DirEntry[] = children.names.map((name, i) => {
        const child = children.inodes[i]!;
        if (child.type === 'dir') subdirs++;
        return { name: bytesOf(name), ino: num.numbers.get(child)!, fileType: fileTypeCode(child.type) };
      });
      t.links = 2 + subdirs;
      if (t.links > EXT4_LINK_MAX) {
        // dir_nlink: a count past EXT4_LINK_MAX is stored as 1 ("many").
        if (!fmt.features.has('dir_nlink')) throw new EntryError(pathOf(inode, tree), `has ${subdirs} subdirectories: more than ${EXT4_LINK_MAX - 2} needs dir_nlink`);
        t.links = 1;
      }
      // lost+found stays linear, with at least the blocks mke2fs gives it (all already placed),
      // so e2fsck can reconnect files into it without allocating.
      t.dir = inode === num.lostFound ? shapeDir(ino, parent, entries, dirFmt, undefined, lostFoundBlockCount(fmt.blockSize)) : shapeDir(ino, parent, entries, dirFmt, index);
      t.contentBlocks = shapeBlockCount(t.dir);
    } else if (t.links > EXT4_LINK_MAX) {
      throw new EntryError(pathOf(inode, tree), `has ${t.links} hard links (at most ${EXT4_LINK_MAX})`);
    }
    if (inode.type === 'symlink') {
      if (inode.target.length === 0) throw new EntryError(pathOf(inode, tree), 'symlink with an empty target');
      if (inode.target.length >= fmt.blockSize) throw new EntryError(pathOf(inode, tree), `symlink target of ${inode.target.length} bytes (at most ${fmt.blockSize - 1})`);
      if (inode.target.length > EXT4_FAST_SYMLINK_MAX) t.contentBlocks = 1;
    }
    placeInodeXattrs(t, inodeSpace, fmt, tree);
    return t;
  });
  return { inodes, lastIno: num.lastIno, lostFound: num.lostFound };
}

function placeInodeXattrs(t: TableInode, inodeSpace: number, fmt: TableFormat, tree: FsTree): void {
  const src = t.inode.xattrs;
  if (src.size === 0) return;
  if (!fmt.features.has('ext_attr')) throw new EntryError(pathOf(t.inode, tree), 'has extended attributes but ext_attr is off');
  const list: Xattr[] = [];
  for (const [name, value] of src) {
    const x = toXattr(name, value);
    if (typeof x === 'string') throw new EntryError(pathOf(t.inode, tree), `xattr ${name}: ${x}`);
    list.push(x);
  }
  const { inInode, inBlock } = placeXattrs(sortXattrs(list), inodeSpace);
  if (inBlock.length && !fitsInBlock(inBlock, fmt.blockSize)) {
    throw new EntryError(pathOf(t.inode, tree), `extended attributes do not fit in one ${fmt.blockSize}-byte block`);
  }
  t.xattrsInInode = inInode;
  t.xattrsInBlock = inBlock;
  if (inBlock.length) {
    const h = createHash('sha256');
    for (const x of inBlock) h.update(`${x.index}:${x.name.length}:${x.value.length}:`).update(x.name).update(x.value);
    t.xattrKey = h.digest('base64');
  }
}

/** A path naming an inode in errors (found by a walk; errors only). */
function pathOf(inode: Inode, tree: FsTree): string {
  const path = tree.pathOf(inode);
  return path === undefined ? '(lost+found)' : displayName(path) || '/';
}

/** lost+found as mke2fs makes it: mode 0700, owned by root. */
export function defaultLostFound(mtime: bigint): DirInode {
  return makeDir({ mode: 0o700, uid: 0, gid: 0, mtime });
}
