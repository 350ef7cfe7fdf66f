import { isUtf8 } from 'node:buffer';
import type { BigIntStats } from 'node:fs';
import { lstatSync, readdirSync, readlinkSync, statSync } from 'node:fs';
import { byteString } from './bytestring.js';
import type { ByteString } from './bytestring.js';
import { describeSystemError, InputError } from './errors.js';
import type { DirInode, Inode, InodeMeta } from './model.js';
import { typeOfMode } from './model.js';
import { FsTree } from './tree.js';

/** Reads a host file's extended attributes (Node has no xattr API of its own). */
export type XattrReader = (hostPath: Buffer) => Map<string, Uint8Array>;

export interface DirectoryOptions {
  /** Leaves out entries whose relative path (byte string, no leading "/") matches; subtrees too. */
  exclude?: (path: ByteString) => boolean;
  /** Where extended attributes come from; without one, host xattrs are not read. */
  xattrs?: XattrReader;
}

/**
 * Builds a tree from a host directory with lstat/readdir/readlink: byte-exact names, ns mtimes,
 * hardlinks by (dev, ino), device numbers. File data is referenced, not read. `dir` itself may be
 * a symlink to the directory (as mkfs.erofs and mke2fs -d follow it); nothing below is followed.
 */
export function treeFromDirectory(dir: string, opts: DirectoryOptions = {}): FsTree {
  const rootPath = Buffer.from(dir);
  const st = stat(rootPath, true);
  if (!st.isDirectory()) throw new InputError(dir, 'not a directory');
  const tree = new FsTree({ type: 'dir', ...meta(rootPath, st, opts), entries: new Map() });
  const links = new Map<string, Inode>();
  fill(tree.root, rootPath, '', opts, links);
  return tree;
}

function stat(p: Buffer, follow = false): BigIntStats {
  try {
    return follow ? statSync(p, { bigint: true }) : lstatSync(p, { bigint: true });
  } catch (err) {
    throw new InputError(p.toString(), `cannot stat: ${describeSystemError(err)}`);
  }
}

function fill(dir: DirInode, hostDir: Buffer, rel: ByteString, opts: DirectoryOptions, links: Map<string, Inode>): void {
  let names: Buffer[];
  try {
    names = readdirSync(hostDir, { encoding: 'buffer' });
  } catch (err) {
    throw new InputError(hostDir.toString(), `cannot read directory: ${describeSystemError(err)}`);
  }
  for (const nameBuf of names) {
    const name = byteString(nameBuf);
    const path = rel ? `${rel}/${name}` : name;
    if (opts.exclude?.(path)) continue;
    const host = Buffer.concat([hostDir, Buffer.from('/'), nameBuf]);
    const st = stat(host);
    const key = `${st.dev}:${st.ino}`;
    const seen = st.nlink > 1n && !st.isDirectory() ? links.get(key) : undefined;
    if (seen) {
      dir.entries.set(name, seen);
      continue;
    }
    const inode = makeInode(host, st, opts);
    if (inode.type === 'dir') fill(inode, host, path, opts, links);
    else if (st.nlink > 1n) links.set(key, inode);
    dir.entries.set(name, inode);
  }
}

function makeInode(host: Buffer, st: BigIntStats, opts: DirectoryOptions): Inode {
  const m = meta(host, st, opts);
  const type = typeOfMode(Number(st.mode));
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
    default:
      throw new InputError(host.toString(), `unknown file type (mode ${st.mode.toString(8)})`);
  }
}

function meta(host: Buffer, st: BigIntStats, opts: DirectoryOptions): InodeMeta {
  return {
    mode: Number(st.mode) & 0o7777,
    uid: Number(st.uid),
    gid: Number(st.gid),
    mtime: st.mtimeNs,
    xattrs: opts.xattrs ? opts.xattrs(host) : new Map(),
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
