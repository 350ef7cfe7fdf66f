import type { ManifestEntry } from '@fstools/fstree';
import { compareBytes, displayName, InputError, manifestEntry, typeOfMode } from '@fstools/fstree';
import type { GuestEntry } from './guest-walk.js';

export interface GuestManifestOptions {
  /** Drop xattrs whose name matches (as fstree's manifest() does). */
  dropXattr?: (name: string) => boolean;
}

/**
 * Canonical manifest entries (fstree's manifestEntry) from the facts a guest walk recorded, with
 * the content hash the guest computed.
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
    if (type === 'file' && g.sha256 === undefined) throw new InputError(source, `${displayName(g.path)}: the guest reported no content hash`);
    if (type === 'symlink' && g.target === undefined) throw new InputError(source, `${displayName(g.path)}: the guest reported no link target`);
    return manifestEntry(
      {
        path: g.path,
        type,
        mode: g.mode,
        uid: g.uid,
        gid: g.gid,
        mtime: g.mtime,
        size: g.size,
        sha256: g.sha256,
        target: g.target,
        rdev: { major: g.rdevMajor, minor: g.rdevMinor },
        xattrs: g.xattrs,
        link: type !== 'dir' && groupSize.get(g.id)! > 1 ? firstName.get(g.id) : undefined,
      },
      opts,
    );
  });
}
