import { hostXattrsUnavailable, InputError, readHostXattrs } from '@fstools/fstree';
import type { XattrReader } from '@fstools/fstree';

/** What a command did about a directory source's xattrs, as its --json reports it (`hostXattrs`). */
export type HostXattrs = 'read' | 'off' | `unavailable: ${string}`;

/**
 * `-x` as mkfs.erofs reads it: `-1` leaves host xattrs out (true). mkfs.erofs' other values set
 * when an xattr moves to the shared area; the writers share one used by two or more inodes
 * whatever `-x` says, so a value other than -1 is a usage error (InputError) rather than ignored.
 */
export function xattrsOff(value: unknown): boolean {
  if (value === undefined) return false;
  const text = String(([] as unknown[]).concat(value).at(-1));
  if (text === '-1') return true;
  throw new InputError('-x', `'${text}' is not supported: only -x -1 (leave out the source directory's xattrs)`);
}

/**
 * Whether a directory source's xattrs will be read, and the reader to hand treeFromDirectory
 * (false: none). When the @napi-rs/xattr addon cannot load and `off` is not set, says so once on
 * stderr ("<name>: host xattrs not read: <reason>"; not with `quiet`) and goes on without them.
 */
export function hostXattrs(name: string, off: boolean, quiet: boolean): { status: HostXattrs; reader: XattrReader | false } {
  if (off) return { status: 'off', reader: false };
  const why = hostXattrsUnavailable();
  if (why === undefined) return { status: 'read', reader: readHostXattrs };
  if (!quiet) console.error(`${name}: host xattrs not read: ${why}`);
  return { status: `unavailable: ${why}`, reader: false };
}
