import { spawnSync } from 'node:child_process';
import { isUtf8 } from 'node:buffer';
import { chmodSync, linkSync, lchownSync, lutimesSync, mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FsTree, Inode } from '@fstools/fstree';
import { bytesOf, readAll } from '@fstools/fstree';

/** Host paths longer than this are left out (PATH_MAX is 4096 with the NUL). */
const MAX_PATH = 3800;

/**
 * A scratch tmpfs (root only): tmpfs keeps every xattr namespace (user.*, trusted.*, security.*,
 * POSIX ACLs) and values up to Linux's 64 KiB limit, which the root filesystem may not (an ext4
 * without ea_inode holds about one block of xattrs per inode).
 */
export function mountTmpfs(size = '512m'): { dir: string; unmount: () => void } {
  const dir = mkdtempSync(join(tmpdir(), 'xattr-src-'));
  const m = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`mount tmpfs: ${m.stderr}`);
  return {
    dir,
    unmount: () => {
      const u = spawnSync('umount', [dir], { encoding: 'utf8' });
      if (u.status !== 0) throw new Error(`umount ${dir}: ${u.stderr}`);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** mountTmpfs for the duration of `fn`. */
export async function withTmpfs<T>(fn: (dir: string) => T | Promise<T>, size?: string): Promise<T> {
  const t = mountTmpfs(size);
  try {
    return await fn(t.dir);
  } finally {
    t.unmount();
  }
}

/** A path as getfattr/setfattr quote it: octal escapes for every byte but plain ASCII. */
function quote(path: Buffer): string {
  let out = '';
  for (const c of path) out += c > 0x20 && c < 0x7f && c !== 0x5c && c !== 0x3d ? String.fromCharCode(c) : '\\' + c.toString(8).padStart(3, '0');
  return out;
}

/**
 * Sets xattrs with one `setfattr -h --restore` (lsetxattr: a symlink's own), not with the addon
 * the writers read them with. Values travel as hex, so 64 KiB values fit (no argv limit).
 */
export function setXattrs(entries: Array<{ path: Buffer; xattrs: ReadonlyMap<string, Uint8Array> }>, scratch: string): void {
  const lines: string[] = [];
  for (const { path, xattrs } of entries) {
    if (xattrs.size === 0) continue;
    lines.push(`# file: ${quote(path)}`);
    for (const [name, value] of xattrs) lines.push(`${quote(Buffer.from(name))}=0x${Buffer.from(value).toString('hex')}`);
    lines.push('');
  }
  if (lines.length === 0) return;
  const file = join(scratch, unique('restore'));
  writeFileSync(file, lines.join('\n') + '\n');
  const r = spawnSync('setfattr', ['-h', `--restore=${file}`], { encoding: 'utf8' });
  rmSync(file);
  if (r.status !== 0) throw new Error(`setfattr --restore: ${r.stderr}`);
}

/**
 * Whether Linux (tmpfs) sets this xattr on this kind of entry: security.capability only on
 * regular files, POSIX ACLs not on symlinks, default ACLs only on directories, user.* only on
 * files and directories.
 */
function takes(type: Inode['type'], name: string): boolean {
  if (name === 'security.capability') return type === 'file';
  if (name === 'system.posix_acl_default') return type === 'dir';
  if (name === 'system.posix_acl_access') return type !== 'symlink';
  if (name.startsWith('user.')) return type === 'file' || type === 'dir';
  return true;
}

/** Makes a device node or fifo at `path` (mknod/mkfifo take text paths: made under a plain name, then renamed). */
function special(path: Buffer, scratch: string, cmd: string, after: string[] = []): void {
  const tmp = join(scratch, unique('node'));
  const r = spawnSync(cmd, ['-m', '0600', tmp, ...after], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd}: ${r.stderr}`);
  renameSync(tmp, path);
}

/** A name nothing in a generated tree uses. */
const unique = (what: string): string => `.${what}-${process.pid}-${Math.random().toString(36).slice(2)}`;

/**
 * Writes a tree into the empty host directory `root` (root only: device nodes, owners, trusted.*):
 * names byte-exact, file data, symlinks, devices, fifos, hardlinks, owners, modes, mtimes and
 * xattrs (setfattr). Left out: sockets, paths over ~3800 bytes, and (with `textNamesOnly` for
 * non-directories) entries other than directories whose own name is not UTF-8. What lands on
 * disk is the reference (read it back with hostManifest); the tree only seeds it.
 */
export function materialize(tree: FsTree, root: string, opts: { textNamesOnly?: boolean; scratch?: string } = {}): void {
  const scratch = opts.scratch ?? root;
  const rootPath = Buffer.from(root);
  const firstPath = new Map<Inode, Buffer>();
  const xattrs: Array<{ path: Buffer; xattrs: ReadonlyMap<string, Uint8Array> }> = [];
  const meta: Array<{ path: Buffer; inode: Inode }> = [];
  const walk = (dir: Inode, at: Buffer): void => {
    if (dir.type !== 'dir') return;
    for (const [name, inode] of [...dir.entries].sort(([a], [b]) => (a < b ? -1 : 1))) {
      const nameBytes = bytesOf(name);
      const path = Buffer.concat([at, Buffer.from('/'), nameBytes]);
      if (path.length > MAX_PATH || inode.type === 'sock') continue;
      if (opts.textNamesOnly && inode.type !== 'dir' && !isUtf8(nameBytes)) continue;
      const first = firstPath.get(inode);
      if (first) {
        linkSync(first, path);
        continue;
      }
      firstPath.set(inode, path);
      switch (inode.type) {
        case 'dir':
          mkdirSync(path);
          break;
        case 'file':
          writeFileSync(path, readAll(inode));
          break;
        case 'symlink':
          symlinkSync(bytesOf(inode.target), path);
          break;
        case 'chr':
        case 'blk':
          special(path, scratch, 'mknod', [inode.type === 'chr' ? 'c' : 'b', String(inode.major), String(inode.minor)]);
          break;
        case 'fifo':
          special(path, scratch, 'mkfifo');
          break;
      }
      const own = new Map([...inode.xattrs].filter(([k]) => takes(inode.type, k)));
      xattrs.push({ path, xattrs: own });
      meta.push({ path, inode });
      walk(inode, path);
    }
  };
  walk(tree.root, rootPath);
  xattrs.push({ path: rootPath, xattrs: new Map([...tree.root.xattrs].filter(([k]) => takes('dir', k))) });
  setXattrs(xattrs, scratch);
  // Owners, then modes (chown clears setuid), then mtimes, deepest first (each write to a
  // directory moved its mtime).
  for (const { path, inode } of meta.reverse()) {
    lchownSync(path, inode.uid, inode.gid);
    if (inode.type !== 'symlink') chmodSync(path, inode.mode);
    const s = Number(inode.mtime) / 1e9;
    lutimesSync(path, s, s);
  }
}
