import type { ByteString } from './bytestring.js';
import { displayName } from './bytestring.js';
import { InputError } from './errors.js';
import type { DirInode, Inode, InodeMeta } from './model.js';
import { makeDir } from './model.js';
import { splitPath } from './path.js';

export interface WalkEntry {
  /** Canonical relative path; "" for the root. */
  path: ByteString;
  name: ByteString;
  inode: Inode;
  parent: DirInode | undefined;
}

/**
 * A filesystem tree: a root directory whose entries map names to inodes. An inode reachable under
 * several names is a hardlink; link counts are derived, never stored.
 */
export class FsTree {
  readonly root: DirInode;

  constructor(root: DirInode = makeDir()) {
    this.root = root;
  }

  /** The inode at a path, without following symlinks. */
  lookup(path: ByteString): Inode | undefined {
    const parts = this.parts(path);
    let node: Inode = this.root;
    for (const part of parts) {
      if (node.type !== 'dir') return undefined;
      const next = node.entries.get(part);
      if (!next) return undefined;
      node = next;
    }
    return node;
  }

  /**
   * The directory that holds `path` and the last component's name. Missing parents are created
   * from `implied` when given, else this fails; a non-directory in the way always fails.
   */
  parentOf(path: ByteString, implied?: () => Partial<InodeMeta>): { dir: DirInode; name: ByteString } {
    const parts = this.parts(path);
    if (parts.length === 0) throw new InputError(displayName(path) || '/', 'the root has no parent');
    let dir = this.root;
    for (let i = 0; i < parts.length - 1; i++) {
      const part = parts[i]!;
      let next = dir.entries.get(part);
      if (!next) {
        if (!implied) throw new InputError(displayName(path), `parent directory ${displayName(parts.slice(0, i + 1).join('/'))} does not exist`);
        next = makeDir(implied());
        dir.entries.set(part, next);
      }
      if (next.type !== 'dir') throw new InputError(displayName(path), `parent ${displayName(parts.slice(0, i + 1).join('/'))} is not a directory`);
      dir = next;
    }
    return { dir, name: parts[parts.length - 1]! };
  }

  /** The directory at a path, created (with its parents) from `implied` where missing. */
  ensureDir(path: ByteString, implied: () => Partial<InodeMeta>): DirInode {
    if (this.parts(path).length === 0) return this.root;
    const { dir, name } = this.parentOf(path, implied);
    const existing = dir.entries.get(name);
    if (existing && existing.type !== 'dir') throw new InputError(displayName(path), 'is not a directory');
    if (existing) return existing;
    const made = makeDir(implied());
    dir.entries.set(name, made);
    return made;
  }

  /** Puts an inode at a path, replacing what was there (a whole subtree if a directory). */
  set(path: ByteString, inode: Inode, implied?: () => Partial<InodeMeta>): void {
    const { dir, name } = this.parentOf(path, implied);
    dir.entries.set(name, inode);
  }

  /** Removes the entry at a path; true when something was there. */
  remove(path: ByteString): boolean {
    const parts = this.parts(path);
    if (parts.length === 0) throw new InputError('/', 'cannot remove the root');
    const parent = this.lookup(parts.slice(0, -1).join('/'));
    return parent?.type === 'dir' ? parent.entries.delete(parts[parts.length - 1]!) : false;
  }

  /**
   * Every entry, root first, children in byte order, parents before children. A directory's
   * names are sorted when the walk enters it (after its own entry was yielded).
   */
  *walk(): Generator<WalkEntry> {
    yield { path: '', name: '', inode: this.root, parent: undefined };
    // One frame per open directory (not a generator per level, whose yields would each pass
    // through every level above).
    const open: Array<{ dir: DirInode; path: ByteString; names: ByteString[]; next: number }> = [{ dir: this.root, path: '', names: sortedNames(this.root), next: 0 }];
    while (open.length > 0) {
      const top = open[open.length - 1]!;
      if (top.next === top.names.length) {
        open.pop();
        continue;
      }
      const name = top.names[top.next++]!;
      const inode = top.dir.entries.get(name)!;
      const path = top.path ? `${top.path}/${name}` : name;
      yield { path, name, inode, parent: top.dir };
      if (inode.type === 'dir') open.push({ dir: inode, path, names: sortedNames(inode), next: 0 });
    }
  }

  /**
   * Calls `visit` for every entry below the root, once per name, in no particular order and
   * without building paths: for passes that need neither (walk() sorts and builds both).
   */
  forEachEntry(visit: (inode: Inode, parent: DirInode) => void): void {
    const dirs: DirInode[] = [this.root];
    while (dirs.length > 0) {
      const dir = dirs.pop()!;
      for (const inode of dir.entries.values()) {
        visit(inode, dir);
        if (inode.type === 'dir') dirs.push(inode);
      }
    }
  }

  /** The path where walk() first meets `inode`, or undefined (for error messages: it walks the tree). */
  pathOf(inode: Inode): ByteString | undefined {
    for (const e of this.walk()) if (e.inode === inode) return e.path;
    return undefined;
  }

  /** Link count of every inode: names for non-directories, 2 + subdirectories for directories. */
  linkCounts(): Map<Inode, number> {
    const counts = new Map<Inode, number>([[this.root, 2 + countSubdirs(this.root)]]);
    this.forEachEntry((inode) => counts.set(inode, inode.type === 'dir' ? 2 + countSubdirs(inode) : (counts.get(inode) ?? 0) + 1));
    return counts;
  }

  private parts(path: ByteString): ByteString[] {
    const parts = splitPath(path, true);
    if (typeof parts === 'string') throw new InputError(displayName(path), parts);
    return parts;
  }
}

function countSubdirs(dir: DirInode): number {
  let n = 0;
  for (const child of dir.entries.values()) if (child.type === 'dir') n++;
  return n;
}

/** Names of a directory in byte order (the default sort's code-unit order, for byte strings). */
export function sortedNames(dir: DirInode): ByteString[] {
  return [...dir.entries.keys()].sort();
}

export function compareBytes(a: ByteString, b: ByteString): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
