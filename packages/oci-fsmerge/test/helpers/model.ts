// A small, obviously-correct reference model of OCI layer application, straight from the
// spec's wording and nothing else of fsmerge: a map from paths to inodes, each layer applied as
// "delete what its whiteouts name from the lower layers, then add its members in order".
import { FsTree, makeDir } from '@fstools/fstree';
import type { DirInode, Inode } from '@fstools/fstree';

export interface Entry {
  path: string;
  type?: 'file' | 'dir' | 'symlink' | 'hardlink' | 'chr' | 'blk' | 'fifo';
  mode?: number;
  uid?: number;
  gid?: number;
  mtime?: bigint | number | string;
  data?: string;
  target?: string;
  major?: number;
  minor?: number;
  xattrs?: Record<string, string>;
}

const norm = (p: string): string => p.split('/').filter((s) => s && s !== '.').join('/');
const parentOf = (p: string): string => (p.includes('/') ? p.slice(0, p.lastIndexOf('/')) : '');
const under = (p: string, root: string): boolean => (root === '' ? p !== '' : p.startsWith(root + '/'));
const ancestors = (p: string): string[] => {
  const parts = p.split('/');
  return parts.slice(0, -1).map((_, i) => parts.slice(0, i + 1).join('/'));
};

function meta(e: Entry) {
  const t = e.type ?? 'file';
  const mt = e.mtime === undefined ? 0n : typeof e.mtime === 'number' ? BigInt(e.mtime) * 1_000_000_000n : BigInt(e.mtime);
  return {
    mode: e.mode ?? (t === 'dir' ? 0o755 : t === 'symlink' ? 0o777 : 0o644),
    uid: e.uid ?? 0,
    gid: e.gid ?? 0,
    mtime: mt,
    xattrs: new Map(Object.entries(e.xattrs ?? {}).map(([k, v]) => [k, new Uint8Array(Buffer.from(v))])),
  };
}

const broken: Inode = { type: 'fifo', mode: 0, uid: 0, gid: 0, mtime: 0n, xattrs: new Map() };
const through = new Map<string, Uint8Array>();

/** The merged tree of layers of entries; throws where the spec makes the input invalid. */
export function modelMerge(layers: Entry[][]): FsTree {
  const state = new Map<string, Inode>([['', makeDir()]]);
  const drop = (p: string): void => {
    for (const k of [...state.keys()]) if (k === p || under(k, p)) state.delete(k);
  };
  for (const layer of layers) {
    const lower = new Map(state);
    // 1. Whiteouts and opaque markers act on what the lower layers left.
    for (const e of layer) {
      const p = norm(e.path);
      const name = p.slice(p.lastIndexOf('/') + 1);
      if (name === '.wh..wh..opq') {
        for (const k of [...state.keys()]) if (under(k, parentOf(p))) state.delete(k);
      } else if (name.startsWith('.wh.') && !name.startsWith('.wh..wh.')) {
        drop((parentOf(p) ? parentOf(p) + '/' : '') + name.slice(4));
      }
    }
    // 2. Members in order; parents a member needs are implied (0755 root) where missing.
    const added = new Set<string>(['']);
    for (const e of layer) {
      const p = norm(e.path);
      const name = p.slice(p.lastIndexOf('/') + 1);
      for (const a of p === '' ? [] : ancestors(p)) {
        const s = state.get(a);
        if (!s) state.set(a, makeDir());
        else if (s.type !== 'dir') {
          if (added.has(a)) throw new Error(`model: ${p} goes through non-directory ${a} of its own layer`);
          // Through a lower non-directory: an error unless a later member of this layer replaces
          // the path (the layer then never holds the directory).
          drop(a);
          state.set(a, { ...makeDir(), xattrs: through });
        }
        added.add(a);
      }
      if (name.startsWith('.wh.')) continue;
      const type = e.type ?? 'file';
      const m = meta(e);
      if (type === 'dir') {
        const s = state.get(p);
        if (s?.type === 'dir') Object.assign(s, { ...m, xattrs: s.xattrs === through ? through : m.xattrs });
        else {
          drop(p);
          state.set(p, makeDir(m));
        }
      } else {
        let inode: Inode;
        if (type === 'hardlink') {
          const t = norm(e.target!);
          const found = added.has(t) ? state.get(t) : lower.get(t);
          if (found && found.type !== 'dir') inode = found;
          else if (added.has(t)) throw new Error(`model: bad hard link ${p} -> ${t}`);
          // A link into the lower layers is checked once the layer is read: a later member of
          // the same layer that replaces it makes it moot (the layer image never holds it).
          else inode = broken;
        } else if (type === 'file') inode = { type: 'file', ...m, size: Buffer.byteLength(e.data ?? ''), data: { kind: 'bytes', bytes: new Uint8Array(Buffer.from(e.data ?? '')) } };
        else if (type === 'symlink') inode = { type: 'symlink', ...m, target: Buffer.from(e.target!).toString('latin1') };
        else if (type === 'chr' || type === 'blk') inode = { type, ...m, major: e.major ?? 0, minor: e.minor ?? 0 };
        else inode = { type: 'fifo', ...m };
        drop(p);
        // What this layer had below p is gone from the layer too.
        for (const k of [...added]) if (under(k, p)) added.delete(k);
        state.set(p, inode);
      }
      added.add(p);
    }
    for (const [p, inode] of state) {
      if (inode.xattrs === broken.xattrs) throw new Error(`model: hard link ${p} to a missing lower target`);
      if (inode.xattrs === through) throw new Error(`model: path through lower non-directory ${p}`);
    }
  }
  const dirs = new Map<string, DirInode>();
  const tree = new FsTree({ ...(state.get('') as DirInode), entries: new Map() });
  dirs.set('', tree.root);
  for (const p of [...state.keys()].filter((k) => k !== '').sort((a, b) => a.split('/').length - b.split('/').length)) {
    const inode = state.get(p)!;
    const node = inode.type === 'dir' ? { ...inode, entries: new Map() } : inode;
    if (node.type === 'dir') dirs.set(p, node);
    dirs.get(parentOf(p))!.entries.set(Buffer.from(p.slice(p.lastIndexOf('/') + 1)).toString('latin1'), node);
  }
  return tree;
}
