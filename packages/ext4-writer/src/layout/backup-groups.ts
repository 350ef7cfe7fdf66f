/**
 * Whether a group holds a superblock backup. With sparse_super only groups 0, 1 and powers of
 * 3, 5 and 7 do (ext4 docs, "Block Groups"); without it every group does.
 */
export function groupHasSuper(group: number, sparseSuper: boolean): boolean {
  if (group <= 1 || !sparseSuper) return true;
  if (group % 2 === 0) return false;
  return isPowerOf(group, 3) || isPowerOf(group, 5) || isPowerOf(group, 7);
}

function isPowerOf(n: number, base: number): boolean {
  let p = base;
  while (p < n) p *= base;
  return p === n;
}

/** Groups 1 and up holding superblock backups, ascending (the order the resize inode lists them). */
export function backupGroups(groupCount: number, sparseSuper: boolean): number[] {
  if (!sparseSuper) return Array.from({ length: Math.max(0, groupCount - 1) }, (_, i) => i + 1);
  const groups = new Set<number>(groupCount > 1 ? [1] : []);
  for (const base of [3, 5, 7]) for (let p = base; p < groupCount; p *= base) groups.add(p);
  return [...groups].sort((a, b) => a - b);
}

/** With meta_bg, the descriptor block of a meta group lives in its first, second and last group. */
export function isMetaBgDescGroup(group: number, descPerBlock: number): boolean {
  const r = group % descPerBlock;
  return r === 0 || r === 1 || r === descPerBlock - 1;
}
