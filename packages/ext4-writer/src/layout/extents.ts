/** A run of physical blocks mapped at a logical block of a file. */
export interface Extent {
  lblk: number;
  pblk: number;
  len: number;
}

/** Appends an extent, merging it into the last one when both logical and physical runs continue. */
export function appendExtent(extents: Extent[], e: Extent): void {
  const last = extents[extents.length - 1];
  if (last && last.lblk + last.len === e.lblk && last.pblk + last.len === e.pblk) last.len += e.len;
  else extents.push(e);
}
