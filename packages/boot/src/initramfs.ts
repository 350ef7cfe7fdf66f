import { statSync } from 'node:fs';
import { basename } from 'node:path';
import type { FsTree, InodeMeta } from '@fstools/fstree';
import { describeSystemError, InputError, makeDevice, makeFile, treeFromDirectory, utf8 } from '@fstools/fstree';
import { writeCpio } from './cpio.js';
import { GUEST_PATHS } from './guest-init.js';
import type { GuestKit } from './kernel.js';

export interface InitramfsSpec {
  kit: Pick<GuestKit, 'modules' | 'userland'>;
  /** The /init script text. */
  init: string;
}

/**
 * The initramfs tree: the kit's userland (busybox, getfattr and its libraries), the modules with
 * their load order, /init, /dev/console, and the mount points the init uses. Everything is
 * root-owned with mtime 0, so the same kit and init give the same archive.
 */
export function initramfsTree(spec: InitramfsSpec): FsTree {
  // A newc cpio carries no xattrs: none are read.
  const tree = treeFromDirectory(spec.kit.userland, { xattrs: false });
  const dir = (): Partial<InodeMeta> => ({ mode: 0o755 });
  for (const d of ['dev', 'proc', 'sys', 'tmp', 'bin', 'usr/bin', 'lib/modules', GUEST_PATHS.out, GUEST_PATHS.lower, GUEST_PATHS.upperfs, GUEST_PATHS.merged]) {
    tree.ensureDir(utf8(d.replace(/^\//, '')), dir);
  }
  tree.set('dev/console', makeDevice('chr', 5, 1, { mode: 0o600 }));
  tree.set('init', makeFile(Buffer.from(spec.init), { mode: 0o755 }));
  const order = spec.kit.modules.map((host, i) => {
    const name = `lib/modules/${String(i).padStart(2, '0')}-${basename(host)}`;
    tree.set(utf8(name), makeFile({ size: sizeOf(host), data: { kind: 'host', path: host, offset: 0 } }, { mode: 0o644 }));
    return `/${name}`;
  });
  tree.set(utf8(GUEST_PATHS.moduleOrder.slice(1)), makeFile(Buffer.from(order.map((l) => l + '\n').join('')), { mode: 0o644 }));
  normalise(tree);
  return tree;
}

/** Writes the initramfs (uncompressed newc) to `out`. */
export function writeInitramfs(spec: InitramfsSpec, out: string): void {
  writeCpio(initramfsTree(spec), out);
}

function normalise(tree: FsTree): void {
  for (const { inode } of tree.walk()) {
    inode.uid = 0;
    inode.gid = 0;
    inode.mtime = 0n;
  }
}

function sizeOf(file: string): number {
  try {
    return statSync(file).size;
  } catch (err) {
    throw new InputError(file, `cannot stat module: ${describeSystemError(err)}`);
  }
}
