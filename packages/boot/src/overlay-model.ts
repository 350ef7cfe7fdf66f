import type { ByteString, ManifestEntry } from '@fstools/fstree';
import { byteString, compareBytes, displayName, parseDisplayName } from '@fstools/fstree';
import { guestManifest } from './guest-manifest.js';
import type { GuestEntry } from './guest-walk.js';

/** overlayfs keeps its own state in trusted.overlay.* and hides those names in the merged view. */
export const isOverlayXattr = (name: string): boolean => name.startsWith('trusted.overlay.');

interface Slot {
  entry: ManifestEntry;
  /** Entries with the same key are one inode (hardlinks). */
  key: string;
}

/**
 * The merged view overlayfs should show for `lower` (a canonical manifest, trusted.overlay.*
 * already dropped) under an upper directory the guest walked: upper entries replace lower ones,
 * whiteouts (0:0 character devices) delete, opaque directories (trusted.overlay.opaque=y) hide the
 * lower subtree, a directory's trusted.overlay.redirect shows the lower subtree it names, a
 * metacopy file keeps the lower data. The upper root is the merged root. Hardlink groups are
 * recomputed: a copied-up name leaves its lower group.
 */
export function mergeUpper(lower: readonly ManifestEntry[], upper: readonly GuestEntry[], source: string): ManifestEntry[] {
  const slots = new Map<ByteString, Slot>();
  for (const e of lower) slots.set(pathOf(e), { entry: e, key: `L:${e.link ?? e.path}` });
  const lowerByPath = new Map(lower.map((e) => [pathOf(e), e]));
  const lowerUnder = (dir: ByteString): ManifestEntry[] => lower.filter((e) => isUnder(pathOf(e), dir));
  const removeUnder = (dir: ByteString): void => {
    for (const p of [...slots.keys()]) if (isUnder(p, dir)) slots.delete(p);
  };
  const upperEntries = guestManifest(upper, source, { dropXattr: isOverlayXattr });
  const facts = new Map(upper.map((g) => [g.path, g]));
  for (const u of upperEntries) {
    const path = pathOf(u);
    const g = facts.get(path)!;
    const ovl = (name: string): string | undefined => {
      const v = g.xattrs.get(`trusted.overlay.${name}`);
      return v && byteString(v);
    };
    if (u.type === 'chr' && u.rdev === '0:0') {
      slots.delete(path);
      removeUnder(path);
      continue;
    }
    const below = lowerByPath.get(path);
    if (u.type === 'dir') {
      const redirect = ovl('redirect');
      if (path !== '' && (ovl('opaque') === 'y' || redirect !== undefined || (below && below.type !== 'dir'))) removeUnder(path);
      if (redirect !== undefined) {
        const from = redirect.startsWith('/') ? redirect.slice(1) : joinPath(parentOf(path), redirect);
        for (const e of lowerUnder(from)) {
          const moved = path + pathOf(e).slice(from.length);
          slots.set(moved, { entry: { ...e, path: displayOf(moved) }, key: `L:${e.link ?? e.path}` });
        }
      }
    } else removeUnder(path);
    let entry = u;
    if (u.type === 'file' && ovl('metacopy') !== undefined) {
      const origin = ovl('redirect');
      const data = lowerByPath.get(origin === undefined ? path : origin.startsWith('/') ? origin.slice(1) : joinPath(parentOf(path), origin));
      entry = { ...u, sha256: data?.sha256 };
    }
    slots.set(path, { entry, key: `U:${g.id}` });
  }
  return regroup(slots);
}

/** Sorted entries with `link` set from the current groups. */
function regroup(slots: Map<ByteString, Slot>): ManifestEntry[] {
  const paths = [...slots.keys()].sort(compareBytes);
  const groups = new Map<string, ByteString[]>();
  for (const p of paths) {
    const s = slots.get(p)!;
    if (s.entry.type === 'dir') continue;
    const g = groups.get(s.key);
    if (g) g.push(p);
    else groups.set(s.key, [p]);
  }
  return paths.map((p) => {
    const { entry, key } = slots.get(p)!;
    const { link: _, ...rest } = entry;
    const g = groups.get(key);
    return g && g.length > 1 ? { ...rest, link: displayOf(g[0]!) } : rest;
  });
}

function pathOf(e: ManifestEntry): ByteString {
  return e.path === '.' ? '' : parseDisplayName(e.path);
}

function displayOf(p: ByteString): string {
  return p === '' ? '.' : displayName(p);
}

function isUnder(p: ByteString, dir: ByteString): boolean {
  return dir === '' ? p !== '' : p.startsWith(dir + '/');
}

function parentOf(p: ByteString): ByteString {
  const i = p.lastIndexOf('/');
  return i < 0 ? '' : p.slice(0, i);
}

function joinPath(dir: ByteString, name: ByteString): ByteString {
  return dir === '' ? name : `${dir}/${name}`;
}
