import { isUtf8 } from 'node:buffer';
import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { byteString } from './bytestring.js';
import type { ByteString } from './bytestring.js';
import { describeSystemError, InputError } from './errors.js';
import type { XattrReader } from './host-xattrs.js';
import { hostXattrsUnavailable, readHostXattrs } from './host-xattrs.js';
import type { DirInode, Inode, InodeMeta, InodeType } from './model.js';
import { typeOfMode } from './model.js';
import { FsTree } from './tree.js';

export interface DirectoryOptions {
  /** Leaves out entries whose relative path (byte string, no leading "/") matches; subtrees too. */
  exclude?: (path: ByteString) => boolean;
  /**
   * Where extended attributes come from. By default each entry's own xattrs are read from the
   * host (readHostXattrs) when the optional @napi-rs/xattr addon loads, and none are when it does
   * not (hostXattrsUnavailable() says why); `false` reads none; a function supplies them.
   */
  xattrs?: XattrReader | false;
}

/**
 * Builds a tree from a host directory with lstat/readdir/readlink: byte-exact names, ns mtimes,
 * hardlinks by (dev, ino), device numbers, each entry's own xattrs (see `xattrs`). File data is
 * referenced, not read. `dir` itself may be a symlink to the directory (as mkfs.erofs and
 * mke2fs -d follow it); nothing below is followed.
 */
export function treeFromDirectory(dir: string, opts: DirectoryOptions = {}): FsTree {
  const rootPath = Buffer.from(dir);
  const st = stat(rootPath, true);
  if (!st.isDirectory()) throw new InputError(dir, 'not a directory');
  const xattrs = opts.xattrs ?? (hostXattrsUnavailable() === undefined ? readHostXattrs : false);
  const walk: Walk = { exclude: opts.exclude, xattrs: xattrs || undefined, links: new Map() };
  // A root given as a symlink: its xattrs are the directory's, as its entries are.
  const rootXattrs = lstatSync(rootPath).isSymbolicLink() ? realpathSync(rootPath, { encoding: 'buffer' }) : rootPath;
  const tree = new FsTree({ type: 'dir', ...meta(rootXattrs, st, 'dir', walk), entries: new Map() });
  fill(tree.root, rootPath, '', walk);
  return tree;
}

/** What the walk carries down. */
interface Walk {
  exclude?: (path: ByteString) => boolean;
  xattrs?: XattrReader;
  /** Inodes with more than one link, by "dev:ino". */
  links: Map<string, Inode>;
}

function stat(p: Buffer, follow = false): BigIntStats {
  try {
    return follow ? statSync(p, { bigint: true }) : lstatSync(p, { bigint: true });
  } catch (err) {
    throw new InputError(p.toString(), `cannot stat: ${describeSystemError(err)}`);
  }
}

function fill(dir: DirInode, hostDir: Buffer, rel: ByteString, walk: Walk): void {
  let names: Buffer[];
  try {
    names = readdirSync(hostDir, { encoding: 'buffer' });
  } catch (err) {
    throw new InputError(hostDir.toString(), `cannot read directory: ${describeSystemError(err)}`);
  }
  for (const nameBuf of names) {
    const name = byteString(nameBuf);
    const path = rel ? `${rel}/${name}` : name;
    if (walk.exclude?.(path)) continue;
    const host = Buffer.concat([hostDir, Buffer.from('/'), nameBuf]);
    const st = stat(host);
    const key = `${st.dev}:${st.ino}`;
    const seen = st.nlink > 1n && !st.isDirectory() ? walk.links.get(key) : undefined;
    if (seen) {
      dir.entries.set(name, seen);
      continue;
    }
    const inode = makeInode(host, st, walk);
    if (inode.type === 'dir') fill(inode, host, path, walk);
    else if (st.nlink > 1n) walk.links.set(key, inode);
    dir.entries.set(name, inode);
  }
}

function makeInode(host: Buffer, st: BigIntStats, walk: Walk): Inode {
  const type = typeOfMode(Number(st.mode));
  if (type === undefined) throw new InputError(host.toString(), `unknown file type (mode ${st.mode.toString(8)})`);
  const m = meta(host, st, type, walk);
  switch (type) {
    case 'dir':
      return { type, ...m, entries: new Map() };
    case 'file':
      // Keep the path as text when it is UTF-8 (readable in errors), else as the raw bytes.
      return { type, ...m, size: Number(st.size), data: { kind: 'host', path: isUtf8(host) ? host.toString() : host, offset: 0 } };
    case 'symlink':
      try {
        return { type, ...m, target: byteString(readlinkSync(host, { encoding: 'buffer' })) };
      } catch (err) {
        throw new InputError(host.toString(), `cannot read link: ${describeSystemError(err)}`);
      }
    case 'chr':
    case 'blk':
      return { type, ...m, ...splitRdev(st.rdev) };
    case 'fifo':
    case 'sock':
      return { type, ...m };
  }
}

function meta(host: Buffer, st: BigIntStats, type: InodeType, walk: Walk): InodeMeta {
  return {
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: st.mtimeNs,
    xattrs: walk.xattrs ? walk.xattrs(host, type) : new Map(),
  };
}

/** Major and minor from a host st_rdev (glibc's encoding on Linux, BSD's on macOS). */
export function splitRdev(rdev: bigint): { major: number; minor: number } {
  if (process.platform === 'darwin') return { major: Number((rdev >> 24n) & 0xffn), minor: Number(rdev & 0xffffffn) };
  return {
    major: Number(((rdev >> 8n) & 0xfffn) | ((rdev >> 32n) & ~0xfffn)),
    minor: Number((rdev & 0xffn) | ((rdev >> 12n) & ~0xffn)),
  };
}
