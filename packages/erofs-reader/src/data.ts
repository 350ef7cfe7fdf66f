import { EROFS_INODE_CHUNK_BASED, EROFS_INODE_FLAT_INLINE, EROFS_INODE_FLAT_PLAIN } from './constants.js';
import { chunkTableOffset, parseChunkEntry, parseChunkFormat } from './chunk.js';
import type { Fail } from './errors.js';
import type { ErofsInode } from './inode.js';
import type { ZFormat } from './zmap.js';

/**
 * One run of a file's bytes [offset, offset + length) and where it is stored. Byte addresses are
 * relative to their device (0 = primary, N = device-table slot N-1).
 */
export type FileExtent =
  | { kind: 'data'; offset: number; length: number; device: number; physical: number }
  | { kind: 'hole'; offset: number; length: number }
  /** Tail-packed bytes in the metadata right after the inode (FLAT_INLINE). */
  | { kind: 'inline'; offset: number; length: number; physical: number }
  /**
   * A compressed pcluster (physicalLength bytes at physical on the primary) decoding to this run;
   * with partialref (dedupe) the run is only a prefix of what the pcluster decodes to.
   */
  | { kind: 'compressed'; offset: number; length: number; physical: number; physicalLength: number; format: ZFormat; inline: boolean; partialref: boolean }
  /** Bytes stored in the packed inode starting at packedOffset. */
  | { kind: 'fragment'; offset: number; length: number; packedOffset: number };

export interface FlatContext {
  blkszbits: number;
  deviceIdMask: number;
  /** Primary device size: bounds the chunk table. */
  deviceSize: number;
  meta(pos: number, len: number): Uint8Array;
  fail: Fail;
}

/** Extents of an uncompressed inode (FLAT_PLAIN, FLAT_INLINE, CHUNK_BASED), in offset order. */
export function flatExtents(ino: ErofsInode, ctx: FlatContext): FileExtent[] {
  const bs = 2 ** ctx.blkszbits;
  const size = ino.i_size;
  const where = { nid: ino.nid };
  if (ino.datalayout === EROFS_INODE_FLAT_PLAIN || ino.datalayout === EROFS_INODE_FLAT_INLINE) {
    // The kernel's erofs_map_blocks_flat: full blocks from raw_blkaddr, the tail (FLAT_INLINE)
    // right after the inode and its xattrs, never crossing a block boundary.
    const nblocks = Math.ceil(size / bs);
    const lastblk = nblocks - (ino.datalayout === EROFS_INODE_FLAT_INLINE ? 1 : 0);
    const out: FileExtent[] = [];
    if (lastblk > 0) out.push({ kind: 'data', offset: 0, length: Math.min(size, lastblk * bs), device: 0, physical: ino.i_u * bs });
    if (lastblk < nblocks) {
      const physical = ino.iloc + ino.inode_isize + ino.xattr_isize;
      const length = size - lastblk * bs;
      if ((physical % bs) + length > bs) ctx.fail('BAD_INODE', `inline tail of ${length} bytes crosses a block boundary`, { ...where, offset: physical });
      out.push({ kind: 'inline', offset: lastblk * bs, length, physical });
    }
    return out;
  }
  if (ino.datalayout !== EROFS_INODE_CHUNK_BASED) ctx.fail('WRONG_TYPE', 'not an uncompressed inode', where);
  const fmt = parseChunkFormat(ino.i_u, ctx.blkszbits, ctx.fail, where);
  const chunkSize = 2 ** fmt.chunkbits;
  const count = Math.ceil(size / chunkSize);
  const table = chunkTableOffset(ino.iloc, ino.inode_isize, ino.xattr_isize, fmt.entrySize);
  if (table + count * fmt.entrySize > ctx.deviceSize) ctx.fail('BAD_CHUNK', `chunk table of ${count} entries runs past the end of the image`, { ...where, offset: table });
  const out: FileExtent[] = [];
  for (let i = 0; i < count; i++) {
    const offset = i * chunkSize;
    const length = Math.min(chunkSize, size - offset);
    const ref = parseChunkEntry(ctx.meta(table + i * fmt.entrySize, fmt.entrySize), fmt, ctx.deviceIdMask);
    const prev = out[out.length - 1];
    if (!ref) {
      if (prev?.kind === 'hole') prev.length += length;
      else out.push({ kind: 'hole', offset, length });
      continue;
    }
    const physical = ref.blkaddr * bs;
    if (prev?.kind === 'data' && prev.device === ref.device_id && prev.physical + prev.length === physical && prev.length % bs === 0) prev.length += length;
    else out.push({ kind: 'data', offset, length, device: ref.device_id, physical });
  }
  return out;
}
