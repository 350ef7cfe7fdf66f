import { displayName, FsTree, InputError, makeDir } from '@fstools/fstree';
import type { ByteString, DirInode, Inode } from '@fstools/fstree';
import { HARDLINK, isImplied, isOpaque, isWhiteout, usedAsParent, visibleXattrs } from './whiteout.js';

/** One layer's tree in overlay form (what a layer image holds), with its name for errors. */
export interface LayerTree {
  tree: FsTree;
  /** "image.tar: layer 2 (sha256:...)". */
  label: string;
}

/**
 * Merges layer trees bottom first with OCI semantics into a new tree that holds no whiteout,
 * opaque or fsmerge marker: whiteouts delete lower paths, opaque directories hide lower
 * children, a non-directory replaces whatever was there (a whole subtree), a directory over a
 * directory merges and takes the upper's metadata (unless the upper only implied it), and hard
 * links to lower layers become the lower inode itself, so link counts follow what stays named.
 * Non-directory inodes are shared with the layer trees, never modified; directories are new.
 */
export function mergeLayers(layers: LayerTree[]): FsTree {
  const merged = new FsTree(makeDir());
  for (const layer of layers) {
    const links = resolveLinks(layer, merged);
    applyDir(merged.root, layer.tree.root, '', layer.label, links);
  }
  return merged;
}

/** Marker inode -> the lower inode it names, looked up before this layer changes anything. */
function resolveLinks(layer: LayerTree, lower: FsTree): Map<Inode, Inode> {
  const links = new Map<Inode, Inode>();
  for (const { path, inode } of layer.tree.walk()) {
    const target = inode.type === 'file' ? inode.xattrs.get(HARDLINK) : undefined;
    if (target === undefined || links.has(inode)) continue;
    const name = Buffer.from(target).toString('latin1');
    const found = lower.lookup(name);
    const bad = (problem: string): InputError => new InputError(layer.label, `member ${displayName(path)}: ${problem} ${displayName(name)}`);
    if (!found) throw bad('hard link to missing target');
    if (found.type === 'dir') throw bad('hard link to a directory');
    links.set(inode, found);
  }
  return links;
}

function applyDir(target: DirInode, upper: DirInode, path: ByteString, label: string, links: Map<Inode, Inode>): void {
  if (!isImplied(upper)) {
    target.mode = upper.mode;
    target.uid = upper.uid;
    target.gid = upper.gid;
    target.mtime = upper.mtime;
    target.xattrs = visibleXattrs(upper.xattrs);
  }
  if (isOpaque(upper)) target.entries.clear();
  for (const [name, child] of upper.entries) {
    if (isWhiteout(child)) {
      target.entries.delete(name);
      continue;
    }
    if (child.type !== 'dir') {
      target.entries.set(name, links.get(child) ?? child);
      continue;
    }
    const childPath = path ? `${path}/${name}` : name;
    let dir = target.entries.get(name);
    if (dir?.type !== 'dir') {
      if (dir && usedAsParent(child)) {
        const what = dir.type === 'symlink' ? 'a symlink' : 'not a directory';
        throw new InputError(label, `path ${displayName(childPath)}/... goes through ${displayName(childPath)}, which is ${what} in a lower layer`);
      }
      dir = makeDir();
      target.entries.set(name, dir);
    }
    applyDir(dir, child, childPath, label, links);
  }
}
