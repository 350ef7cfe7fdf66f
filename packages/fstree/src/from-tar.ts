import { displayName } from './bytestring.js';
import type { ByteString } from './bytestring.js';
import { InputError } from './errors.js';
import type { DirInode, FileData, Inode, InodeMeta } from './model.js';
import { makeDir } from './model.js';
import { joinPath, splitPath } from './path.js';
import type { TarEntry } from './tar-reader.js';
import { memberBytes, readTar } from './tar-reader.js';
import { FsTree } from './tree.js';

export interface TarTreeOptions {
  /**
   * Takes a regular file's data as it streams past and says where it now lives. The default keeps
   * the bytes in memory; writers pass one that writes the blocks straight into the image.
   */
  storeData?: (entry: TarEntry, path: ByteString) => Promise<FileData>;
  /** Leaves out members whose canonical path (no leading "./") matches. */
  exclude?: (path: ByteString) => boolean;
  /**
   * 'keep' (default) stores OCI whiteout members as the files they are; 'overlay' turns
   * `.wh.NAME` into a char 0/0 device NAME and `.wh..wh..opq` into trusted.overlay.opaque=y on its
   * directory, the form overlayfs reads from a lower layer.
   */
  whiteouts?: 'keep' | 'overlay';
  /** Metadata of directories that deeper members imply but the archive never lists. */
  impliedDir?: Partial<InodeMeta>;
  /**
   * Filled with the directories the archive only implies: made for deeper members (the root
   * included) and never listed by a member of their own.
   */
  impliedDirs?: Set<DirInode>;
}

export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';
export const OVERLAY_OPAQUE = 'trusted.overlay.opaque';

/** Builds a tree from a tar stream's members in order: what a later member says about a path wins. */
export function treeFromTar(source: AsyncIterable<Uint8Array>, archive: string, opts: TarTreeOptions = {}): Promise<FsTree> {
  return treeFromTarEntries(readTar(source, archive), archive, opts);
}

/** Builds a tree from already parsed (or rewritten) tar members, in order. */
export async function treeFromTarEntries(entries: AsyncIterable<TarEntry>, archive: string, opts: TarTreeOptions = {}): Promise<FsTree> {
  // Each implied directory (the root until the archive lists it) gets its own xattr map.
  const implied = (): Partial<InodeMeta> => ({ mode: 0o755, ...opts.impliedDir, xattrs: new Map(opts.impliedDir?.xattrs) });
  const tree = new FsTree(makeDir(implied()));
  const listed = new Set<DirInode>();
  const opaque = new Set<DirInode>();
  const storeData = opts.storeData ?? keepInMemory;
  for await (const entry of entries) {
    const path = canonical(entry.path, archive, 'member');
    if (opts.exclude?.(path)) continue;
    const bad = (problem: string): InputError => new InputError(archive, `member ${displayName(entry.path)}: ${problem}`);
    const name = path.slice(path.lastIndexOf('/') + 1);
    if (opts.whiteouts === 'overlay' && name.startsWith(WHITEOUT_PREFIX)) {
      const dir = tree.ensureDir(path.slice(0, Math.max(0, path.length - name.length - 1)), implied);
      if (name === OPAQUE_MARKER) opaque.add(dir);
      else if (!name.startsWith(WHITEOUT_PREFIX + WHITEOUT_PREFIX)) {
        const target = name.slice(WHITEOUT_PREFIX.length);
        if (target === '' || target === '.' || target === '..') throw bad('whiteout of an invalid name');
        dir.entries.set(target, { type: 'chr', ...meta(entry), mode: entry.mode, major: 0, minor: 0 });
      }
      continue; // other .wh..wh.* names are aufs bookkeeping
    }
    let inode: Inode;
    switch (entry.type) {
      case 'dir': {
        const existing = path === '' ? tree.root : tree.lookup(path);
        if (existing?.type === 'dir') {
          Object.assign(existing, meta(entry));
          listed.add(existing);
          continue;
        }
        if (path === '') throw bad('the root must be a directory');
        inode = makeDir(meta(entry));
        listed.add(inode);
        break;
      }
      case 'file':
        inode = { type: 'file', ...meta(entry), size: entry.size, data: await storeData(entry, path) };
        break;
      case 'hardlink': {
        const target = tree.lookup(canonical(entry.linkname, archive, `member ${displayName(entry.path)}: link target`));
        if (!target) throw bad(`hard link to missing target ${displayName(entry.linkname)}`);
        if (target.type === 'dir') throw bad('hard link to a directory');
        inode = target;
        break;
      }
      case 'symlink':
        // A path cannot hold a NUL byte (a pax linkpath can): no filesystem could give it back.
        if (entry.linkname.includes('\0')) throw bad('symlink target contains a NUL byte');
        inode = { type: 'symlink', ...meta(entry), target: entry.linkname };
        break;
      case 'chr':
      case 'blk':
        inode = { type: entry.type, ...meta(entry), major: entry.major, minor: entry.minor };
        break;
      case 'fifo':
        inode = { type: 'fifo', ...meta(entry) };
        break;
    }
    if (path === '') throw bad('the root must be a directory');
    try {
      tree.set(path, inode, implied);
    } catch (err) {
      throw err instanceof InputError ? bad(err.problem) : err;
    }
  }
  for (const dir of opaque) dir.xattrs.set(OVERLAY_OPAQUE, new Uint8Array([0x79])); // "y"
  if (opts.impliedDirs) for (const { inode } of tree.walk()) if (inode.type === 'dir' && !listed.has(inode)) opts.impliedDirs.add(inode);
  return tree;
}

function meta(e: TarEntry): InodeMeta {
  return { mode: e.mode, uid: e.uid, gid: e.gid, mtime: e.mtime, xattrs: new Map(e.xattrs) };
}

/**
 * A member name (or hard link target) as a canonical relative path. A leading "/" is dropped, as
 * GNU tar, containerd, moby and mkfs.erofs 1.8 read "/etc/x" as "etc/x"; '..' is an error.
 */
export function canonical(name: ByteString, archive: string, what: string): ByteString {
  const parts = splitPath(name, true);
  if (typeof parts === 'string') throw new InputError(archive, `${what} ${displayName(name)}: ${parts}`);
  return joinPath(parts);
}

async function keepInMemory(entry: TarEntry): Promise<FileData> {
  const b = await memberBytes(entry);
  return { kind: 'bytes', bytes: new Uint8Array(b.buffer, b.byteOffset, b.length) };
}
