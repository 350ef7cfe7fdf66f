import type { FileInode } from '@fstools/fstree';
import type { StoredData } from '../data.js';
import { PIECE } from '../data.js';
import { OptionError } from '../errors.js';
import { BlockAllocator } from './allocator.js';
import type { Extent } from './extents.js';
import { planFixedLayout } from './fixed.js';
import type { Geometry, GeometryOptions } from './geometry.js';
import { computeGeometry } from './geometry.js';
import type { InodeTable, TableFormat } from './inode-table.js';
import { placeInodes } from './placement.js';

/** Everything needed to try the content at another size without reading it again. */
export interface ContentRecord {
  geometry: Omit<GeometryOptions, 'bytes'>;
  /** Every file stored, in order (including ones a later tar member replaced). */
  log: StoredData[];
  storedOf: Map<FileInode, StoredData>;
  /** The inode table for a format (cached per block size by the caller). */
  table: (fmt: Omit<TableFormat, 'hashSeed'>) => InodeTable;
}

/**
 * Whether the content fits in `bytes`: lay out the geometry, replay the data allocation from the
 * log (holes known at 1 KiB, so any block size works), then place the inodes.
 */
function contentFits(rec: ContentRecord, bytes: number): boolean {
  let geo: Geometry;
  try {
    geo = computeGeometry({ ...rec.geometry, bytes });
    const fixed = planFixedLayout(geo);
    const alloc = new BlockAllocator(fixed.reserved, geo.firstDataBlock, geo.blocksCount);
    const extents = new Map<StoredData, Extent[]>();
    for (const stored of rec.log) {
      const list = replay(stored, geo.blockSize, alloc);
      if (!list) return false;
      extents.set(stored, list);
    }
    const table = rec.table({ blockSize: geo.blockSize, inodeSize: geo.inodeSize, features: geo.features });
    placeInodes(table, fixed, alloc, (f) => extents.get(rec.storedOf.get(f)!) ?? []);
    return true;
  } catch (err) {
    if (err instanceof OptionError) return false;
    throw err;
  }
}

/** Allocates a stored file's data blocks again at block size `bs`. */
function replay(stored: StoredData, bs: number, alloc: BlockAllocator): Extent[] | undefined {
  const k = bs / PIECE;
  const extents: Extent[] = [];
  const p = stored.pieces;
  let i = 0;
  while (i < p.length) {
    const from = Math.floor(p[i]! / k);
    let to = Math.ceil((p[i]! + p[i + 1]!) / k);
    i += 2;
    while (i < p.length && Math.floor(p[i]! / k) <= to) {
      to = Math.max(to, Math.ceil((p[i]! + p[i + 1]!) / k));
      i += 2;
    }
    if (!alloc.takeExtents(from, to - from, extents)) return undefined;
  }
  return extents;
}

/** Size-type boundaries where mke2fs's choice of block size changes (3 MiB, 512 MiB). */
const REGIME_LIMITS = [3 << 20, 512 << 20, Number.MAX_SAFE_INTEGER];

/**
 * The smallest size, in bytes, the content fits in at least `from` bytes: found by doubling, then by
 * bisection over whole blocks within each range where the block size stays the same.
 */
export function minimumSize(rec: ContentRecord, from: number): number | undefined {
  let hi = Math.max(from, 1 << 20);
  while (!contentFits(rec, hi)) {
    if (hi >= Number.MAX_SAFE_INTEGER / 2) return undefined;
    hi *= 2;
  }
  let best = hi;
  let lo = from;
  const limits = rec.geometry.blockSize || rec.geometry.usageTypes?.length ? [Number.MAX_SAFE_INTEGER] : REGIME_LIMITS;
  for (const limit of limits) {
    if (lo >= best) break;
    const top = Math.min(best, limit - 1);
    if (lo <= top && contentFits(rec, top)) best = Math.min(best, bisect(rec, lo, top));
    lo = Math.max(lo, limit);
  }
  return best;
}

/** Smallest fitting size in (lo, hi], where hi fits, in steps of 1 KiB (a whole block at 1 KiB blocks). */
function bisect(rec: ContentRecord, lo: number, hi: number): number {
  let bad = Math.floor(lo / 1024) - 1;
  let good = Math.floor(hi / 1024);
  while (good - bad > 1) {
    const mid = Math.floor((good + bad) / 2);
    if (contentFits(rec, mid * 1024)) good = mid;
    else bad = mid;
  }
  return good * 1024;
}

