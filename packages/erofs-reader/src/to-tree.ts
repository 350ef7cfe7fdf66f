import type { ByteString, DataReader, DirInode, FileData, Inode, InodeMeta } from '@fstools/fstree';
import { FsTree, displayName } from '@fstools/fstree';
import type { Dirent } from './dirent.js';
import type { Fail } from './errors.js';
import type { ErofsInode } from './inode.js';
import { decodeRdev } from './inode.js';
import { dirProblems } from './dir-check.js';

/** The reads the walk makes of an image: ErofsImage's own. */
export interface TreeSource {
  readonly rootNid: number;
  readonly fail: Fail;
  inode(nid: number): ErofsInode;
  stat(nid: number): Pick<InodeMeta, 'mode' | 'uid' | 'gid' | 'mtime'>;
  dirents(nid: number): Dirent[];
  readlink(nid: number): ByteString;
  openData(nid: number): DataReader;
  xattrs(nid: number): Map<string, Uint8Array>;
}

export interface TreeOptions {
  /**
   * Where a regular file's bytes come from, given its nid, size and (first) path. The default reads them
   * through the image ({kind: 'reader'}); a caller may instead point at the blocks themselves
   * (using fileExtents), as fsmerge does for layer images.
   */
  fileData?: (nid: number, size: number, path: ByteString) => FileData;
}

/**
 * Walks the image from the root into an FsTree. Non-directory nids seen twice become one shared
 * inode (hardlinks); a directory seen twice is a cycle or a directory hardlink, both corruption.
 * The walk uses an explicit stack, so deep trees cannot overflow the JS stack.
 */
export function buildTree(img: TreeSource, opts: TreeOptions = {}): FsTree {
  const root = img.rootNid;
  const tree = new FsTree({ type: 'dir', ...meta(img, root), entries: new Map() });
  if (img.inode(root).type !== 'dir') img.fail('NOT_DIR', 'root inode is not a directory', { nid: root });
  const seenDirs = new Set<number>([root]);
  const shared = new Map<number, Inode>();
  const stack: Array<{ dir: DirInode; nid: number; parent: number; path: string }> = [{ dir: tree.root, nid: root, parent: root, path: '' }];
  while (stack.length) {
    const { dir, nid, parent, path } = stack.pop()!;
    const dirents = img.dirents(nid);
    // What fsck rejects in a directory, the walk refuses too (a second ".." would hide an entry).
    const [problem] = dirProblems(dirents, nid, parent);
    if (problem) img.fail(problem.code, problem.detail, { nid: problem.entry?.nid ?? nid, path: displayName(problem.entry ? (path ? `${path}/${problem.entry.name}` : problem.entry.name) : path) });
    for (const d of dirents) {
      if (d.name === '.' || d.name === '..') continue;
      const childPath = path ? `${path}/${d.name}` : d.name;
      const existing = shared.get(d.nid);
      if (existing) {
        dir.entries.set(d.name, existing);
        continue;
      }
      const ino = img.inode(d.nid);
      const m = meta(img, d.nid);
      let child: Inode;
      switch (ino.type) {
        case 'dir': {
          if (seenDirs.has(d.nid)) img.fail('DIR_CYCLE', 'directory reached twice (cycle or directory hardlink)', { nid: d.nid, path: displayName(childPath) });
          seenDirs.add(d.nid);
          const sub: DirInode = { type: 'dir', ...m, entries: new Map() };
          stack.push({ dir: sub, nid: d.nid, parent: nid, path: childPath });
          child = sub;
          break;
        }
        case 'file': {
          const fileNid = d.nid;
          const data: FileData = opts.fileData?.(fileNid, ino.i_size, childPath) ?? { kind: 'reader', open: () => img.openData(fileNid) };
          child = { type: 'file', ...m, size: ino.i_size, data };
          break;
        }
        case 'symlink':
          child = { type: 'symlink', ...m, target: img.readlink(d.nid) };
          break;
        case 'chr':
        case 'blk':
          child = { type: ino.type, ...m, ...decodeRdev(ino.i_u) };
          break;
        default:
          child = { type: ino.type, ...m };
      }
      if (ino.type !== 'dir') shared.set(d.nid, child);
      dir.entries.set(d.name, child);
    }
  }
  return tree;
}

function meta(img: TreeSource, nid: number): InodeMeta {
  const st = img.stat(nid);
  return { mode: st.mode, uid: st.uid, gid: st.gid, mtime: st.mtime, xattrs: img.xattrs(nid) };
}
