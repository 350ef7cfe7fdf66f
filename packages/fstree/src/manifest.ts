import { createHash } from 'node:crypto';
import type { ByteString } from './bytestring.js';
import { displayName } from './bytestring.js';
import { forEachChunk } from './data.js';
import type { Inode, InodeType } from './model.js';
import { contentSize } from './model.js';
import { compareBytes } from './tree.js';
import type { FsTree } from './tree.js';

/**
 * One line of the canonical manifest: everything a filesystem must preserve about a path. Every
 * test compares trees by these lines, whatever produced them (our tree, our reader, a kernel
 * mount walked from the host).
 */
export interface ManifestEntry {
  /** Relative path ("." for the root), UTF-8 text or "b64:"-prefixed raw bytes. */
  path: string;
  type: InodeType;
  /** Permission bits in octal, e.g. "4755". */
  mode: string;
  uid: number;
  gid: number;
  /** ns since the epoch, as a decimal string (absent when the options leave mtimes out). */
  mtime?: string;
  size?: number;
  sha256?: string;
  target?: string;
  /** "major:minor" of device nodes. */
  rdev?: string;
  /** Name -> hex value, names sorted. */
  xattrs?: Record<string, string>;
  /** For every name of a hardlinked inode: the first of its paths in byte order. */
  link?: string;
}

export interface ManifestOptions {
  /** Leave out mtimes (for sources that cannot keep them). */
  mtime?: boolean;
  /** Leave out the root entry. */
  root?: boolean;
  /** Drop xattrs whose name matches. */
  dropXattr?: (name: string) => boolean;
}

/** The canonical manifest of a tree, sorted by path bytes. */
export function manifest(tree: FsTree, opts: ManifestOptions = {}): ManifestEntry[] {
  const paths = new Map<Inode, ByteString[]>();
  const all: Array<{ path: ByteString; inode: Inode }> = [];
  for (const { path, inode } of tree.walk()) {
    if (path === '' && opts.root === false) continue;
    all.push({ path, inode });
    const list = paths.get(inode);
    if (list) list.push(path);
    else paths.set(inode, [path]);
  }
  all.sort((a, b) => compareBytes(a.path, b.path));
  const hashes = new Map<Inode, string>();
  return all.map(({ path, inode }) => {
    let hash: string | undefined;
    if (inode.type === 'file') {
      hash = hashes.get(inode);
      if (hash === undefined) {
        hash = sha256(inode);
        hashes.set(inode, hash);
      }
    }
    const others = paths.get(inode)!;
    return manifestEntry(
      {
        path,
        type: inode.type,
        mode: inode.mode,
        uid: inode.uid,
        gid: inode.gid,
        mtime: inode.mtime,
        size: contentSize(inode),
        sha256: hash,
        target: inode.type === 'symlink' ? inode.target : undefined,
        rdev: inode.type === 'chr' || inode.type === 'blk' ? { major: inode.major, minor: inode.minor } : undefined,
        xattrs: inode.xattrs,
        link: others.length > 1 ? [...others].sort(compareBytes)[0] : undefined,
      },
      opts,
    );
  });
}

/** The facts one manifest line records, as any walker (our tree, a guest, a mount) finds them. */
export interface EntryFacts {
  path: ByteString;
  type: InodeType;
  /** st_mode or just its permission bits: only the low 12 bits are kept. */
  mode: number;
  uid: number;
  gid: number;
  mtime: bigint;
  /** Regular file or symlink size. */
  size?: number;
  /** Regular files: hex sha256 of the contents. */
  sha256?: string;
  target?: ByteString;
  rdev?: { major: number; minor: number };
  xattrs: Map<string, Uint8Array>;
  /** First path (byte order) of the entry's hardlink group, when it has more than one name. */
  link?: ByteString;
}

/** One canonical manifest line: fields formatted and ordered the one way every producer must share. */
export function manifestEntry(f: EntryFacts, opts: ManifestOptions = {}): ManifestEntry {
  const e: ManifestEntry = {
    path: f.path === '' ? '.' : displayName(f.path),
    type: f.type,
    mode: (f.mode & 0o7777).toString(8).padStart(4, '0'),
    uid: f.uid,
    gid: f.gid,
  };
  if (opts.mtime !== false) e.mtime = f.mtime.toString();
  if (f.type === 'file' || f.type === 'symlink') e.size = f.size;
  if (f.type === 'file') e.sha256 = f.sha256;
  if (f.type === 'symlink' && f.target !== undefined) e.target = displayName(f.target);
  if ((f.type === 'chr' || f.type === 'blk') && f.rdev) e.rdev = `${f.rdev.major}:${f.rdev.minor}`;
  const names = [...f.xattrs.keys()].filter((n) => !opts.dropXattr?.(n)).sort();
  if (names.length) e.xattrs = Object.fromEntries(names.map((n) => [n, Buffer.from(f.xattrs.get(n)!).toString('hex')]));
  if (f.link !== undefined) e.link = displayName(f.link);
  return e;
}

function sha256(inode: Inode & { type: 'file' }): string {
  const h = createHash('sha256');
  forEachChunk(inode, 1 << 20, (chunk) => h.update(chunk));
  return h.digest('hex');
}

/** JSON lines, one entry per line, keys in a fixed order. */
export function manifestText(entries: ManifestEntry[]): string {
  return entries.map((e) => JSON.stringify(e) + '\n').join('');
}

/** The first `limit` differing lines of two manifests, as "- expected" / "+ actual" pairs. */
export function diffManifests(expected: ManifestEntry[], actual: ManifestEntry[], limit = 10): string[] {
  const want = new Map(expected.map((e) => [e.path, JSON.stringify(e)]));
  const got = new Map(actual.map((e) => [e.path, JSON.stringify(e)]));
  const out: string[] = [];
  const paths = [...new Set([...want.keys(), ...got.keys()])].sort();
  for (const p of paths) {
    if (want.get(p) === got.get(p)) continue;
    if (want.has(p)) out.push(`- ${want.get(p)}`);
    if (got.has(p)) out.push(`+ ${got.get(p)}`);
    if (out.length >= limit * 2) break;
  }
  return out;
}
