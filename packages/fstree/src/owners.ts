/** Ownership rewrites mkfs tools offer (mkfs.erofs --all-root, --force-uid/gid, --uid/gid-offset). */
export interface OwnerOptions {
  allRoot?: boolean;
  forceUid?: number;
  forceGid?: number;
  uidOffset?: number;
  gidOffset?: number;
}

/** The uid/gid an entry gets under these options; ids stay 32-bit. */
export function mapOwner(o: OwnerOptions, uid: number, gid: number): { uid: number; gid: number } {
  if (o.allRoot) return { uid: 0, gid: 0 };
  return {
    uid: ((o.forceUid ?? uid) + (o.uidOffset ?? 0)) >>> 0,
    gid: ((o.forceGid ?? gid) + (o.gidOffset ?? 0)) >>> 0,
  };
}
