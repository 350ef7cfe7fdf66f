import type { ManifestEntry } from '@fstools/fstree';
import { compareBytes, displayName, InputError, typeOfMode } from '@fstools/fstree';
import type { GuestEntry } from './guest-walk.js';

export interface GuestManifestOptions {
  /** Drop xattrs whose name matches (as fstree's manifest() does). */
  dropXattr?: (name: string) => boolean;
}

/**
 * Canonical manifest entries from the facts a guest walk recorded: the same fields, formats and
 * key order as fstree's manifest() gives for a tree, with the content hash the guest computed.
 * Hardlink groups are names sharing st_dev:st_ino, reported as the first name in byte order.
 */
export function guestManifest(entries: readonly GuestEntry[], source: string, opts: GuestManifestOptions = {}): ManifestEntry[] {
  const sorted = [...entries].sort((a, b) => compareBytes(a.path, b.path));
  const firstName = new Map<string, string>();
  const groupSize = new Map<string, number>();
  for (const e of sorted) {
    if (typeOfMode(e.mode) === 'dir') continue;
    if (!firstName.has(e.id)) firstName.set(e.id, e.path);
    groupSize.set(e.id, (groupSize.get(e.id) ?? 0) + 1);
  }
  return sorted.map((g) => {
    const type = typeOfMode(g.mode);
    if (!type) throw new InputError(source, `${displayName(g.path) || '.'}: unknown file type (mode ${g.mode.toString(8)})`);
    const e: ManifestEntry = {
      path: g.path === '' ? '.' : displayName(g.path),
      type,
      mode: (g.mode & 0o7777).toString(8).padStart(4, '0'),
      uid: g.uid,
      gid: g.gid,
      mtime: g.mtime.toString(),
    };
    if (type === 'file' || type === 'symlink') e.size = g.size;
    if (type === 'file') {
      if (g.sha256 === undefined) throw new InputError(source, `${displayName(g.path)}: the guest reported no content hash`);
      e.sha256 = g.sha256;
    }
    if (type === 'symlink') {
      if (g.target === undefined) throw new InputError(source, `${displayName(g.path)}: the guest reported no link target`);
      e.target = displayName(g.target);
    }
    if (type === 'chr' || type === 'blk') e.rdev = `${g.rdevMajor}:${g.rdevMinor}`;
    const names = [...g.xattrs.keys()].filter((n) => !opts.dropXattr?.(n)).sort();
    if (names.length) e.xattrs = Object.fromEntries(names.map((n) => [n, Buffer.from(g.xattrs.get(n)!).toString('hex')]));
    if (type !== 'dir' && groupSize.get(g.id)! > 1) e.link = displayName(firstName.get(g.id)!);
    return e;
  });
}
