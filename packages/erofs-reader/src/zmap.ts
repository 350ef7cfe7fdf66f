import {
  EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER,
  EROFS_INODE_COMPRESSED_FULL,
  Z_EROFS_ADVISE_BIG_PCLUSTER_1,
  Z_EROFS_ADVISE_BIG_PCLUSTER_2,
  Z_EROFS_ADVISE_COMPACTED_2B,
  Z_EROFS_ADVISE_EXTENTS,
  Z_EROFS_ADVISE_FRAGMENT_PCLUSTER,
  Z_EROFS_ADVISE_INLINE_PCLUSTER,
  Z_EROFS_ADVISE_INTERLACED_PCLUSTER,
  Z_EROFS_COMPRESSION_MAX,
  Z_EROFS_FRAGMENT_INODE_BIT,
  Z_EROFS_LCLUSTER_INDEX_SIZE,
  Z_EROFS_LCLUSTER_TYPE_HEAD1,
  Z_EROFS_LCLUSTER_TYPE_HEAD2,
  Z_EROFS_LCLUSTER_TYPE_NONHEAD,
  Z_EROFS_LCLUSTER_TYPE_PLAIN,
  Z_EROFS_LI_D0_CBLKCNT,
  Z_EROFS_LI_LCLUSTER_TYPE_MASK,
  Z_EROFS_LI_PARTIAL_REF,
  Z_EROFS_MAP_HEADER_SIZE,
  Z_EROFS_PCLUSTER_MAX_DSIZE,
  Z_EROFS_PCLUSTER_MAX_SIZE,
} from './constants.js';
import type { ErofsWhere, Fail } from './errors.js';
import type { ErofsInode } from './inode.js';

/** struct z_erofs_map_header, decoded. */
export interface ZMapHeader {
  /** Set when bit 7 of h_clusterbits says the whole file lives in the packed inode. */
  wholeFragmentOff?: number;
  h_fragmentoff: number;
  h_idata_size: number;
  h_advise: number;
  /** Algorithms of HEAD1 and HEAD2 lclusters. */
  algorithms: [number, number];
  lclusterbits: number;
}

/** How an extent's bytes are stored. */
export type ZFormat =
  /** Compressed with the given algorithm. */
  | { kind: 'encoded'; algorithm: number }
  /** Stored uncompressed from the pcluster start. */
  | { kind: 'shifted' }
  /** Stored uncompressed, rotated: the head up to the first block boundary sits at the pcluster end. */
  | { kind: 'interlaced' }
  /** Stored in the packed inode at `pa` (fragment). */
  | { kind: 'fragment' };

/** One decompressed extent [la, la + llen) of a compressed file and where its pcluster is. */
export interface ZExtent {
  la: number;
  llen: number;
  /** Byte address of the pcluster (primary device), or offset in the packed inode for fragments. */
  pa: number;
  plen: number;
  format: ZFormat;
  /** The pcluster sits in the metadata right after the index (ztailpacking). */
  inline: boolean;
  /** The extent uses only a prefix of what the pcluster decodes to (dedupe). */
  partialref: boolean;
}

/** What zmap needs from the image. */
export interface ZContext {
  blkszbits: number;
  feature_incompat: number;
  /** Bitmap of algorithms the superblock declares. */
  availableAlgorithms: number;
  /** Primary device size in bytes. */
  deviceSize: number;
  meta(pos: number, len: number): Uint8Array;
  fail: Fail;
}

/** A decoded lcluster index entry (the kernel's z_erofs_maprecorder fields). */
interface Lcluster {
  type: number;
  clusterofs: number;
  delta0: number;
  pblk: number;
  compressedblks: number;
  partialref: boolean;
  nextpackoff: number;
}

/** Offset of the map header: the inode end (with xattrs) rounded up to 8. */
export function mapHeaderOffset(ino: ErofsInode): number {
  return Math.ceil((ino.iloc + ino.inode_isize + ino.xattr_isize) / 8) * 8;
}

export function parseMapHeader(b: Uint8Array, blkszbits: number): ZMapHeader {
  const v = new DataView(b.buffer, b.byteOffset, Z_EROFS_MAP_HEADER_SIZE);
  const clusterbits = v.getUint8(7);
  const h: ZMapHeader = {
    h_fragmentoff: v.getUint32(0, true),
    h_idata_size: v.getUint16(2, true),
    h_advise: v.getUint16(4, true),
    algorithms: [v.getUint8(6) & 15, v.getUint8(6) >> 4],
    lclusterbits: blkszbits + (clusterbits & 15),
  };
  if (clusterbits >> Z_EROFS_FRAGMENT_INODE_BIT) {
    // The whole 8-byte header minus bit 63 is the offset in the packed inode.
    const off = v.getBigUint64(0, true) ^ (1n << 63n);
    h.wholeFragmentOff = off > BigInt(Number.MAX_SAFE_INTEGER) ? -1 : Number(off);
  }
  return h;
}

/**
 * Builds the extent list of a compressed inode from its lcluster indexes (full or compact), the
 * way the kernel's zmap.c maps each offset: every HEAD/PLAIN lcluster starts an extent at
 * lcn * lclustersize + clusterofs that runs to the next head (or EOF). The index area is bounds-
 * checked first, so the scan is linear in a size the image can actually hold.
 */
export function buildZMap(ino: ErofsInode, ctx: ZContext): ZExtent[] {
  const { fail } = ctx;
  const where: ErofsWhere = { nid: ino.nid };
  const size = ino.i_size;
  const hpos = mapHeaderOffset(ino);
  const h = parseMapHeader(ctx.meta(hpos, Z_EROFS_MAP_HEADER_SIZE), ctx.blkszbits);
  if (size === 0) return [];
  if (h.wholeFragmentOff !== undefined) {
    if (h.wholeFragmentOff < 0) fail('BAD_COMPRESSION', 'fragment offset out of range', where);
    return [{ la: 0, llen: size, pa: h.wholeFragmentOff, plen: 0, format: { kind: 'fragment' }, inline: false, partialref: false }];
  }
  const full = ino.datalayout === EROFS_INODE_COMPRESSED_FULL;
  if (full && h.h_advise & Z_EROFS_ADVISE_EXTENTS) fail('UNSUPPORTED', 'extent-based compressed indexes are not supported', where);
  for (const [i, a] of h.algorithms.entries()) {
    if (a >= Z_EROFS_COMPRESSION_MAX) fail('UNSUPPORTED', `unknown HEAD${i + 1} algorithm ${a}`, where);
  }
  const big1 = (h.h_advise & Z_EROFS_ADVISE_BIG_PCLUSTER_1) !== 0;
  const big2 = (h.h_advise & Z_EROFS_ADVISE_BIG_PCLUSTER_2) !== 0;
  if ((big1 || big2) && !(ctx.feature_incompat & EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER)) fail('BAD_COMPRESSION', 'big pcluster without the superblock feature', where);
  if (!full && big1 !== big2) fail('BAD_COMPRESSION', 'compact indexes with inconsistent HEAD1/HEAD2 big pcluster flags', where);
  const lclusterbits = h.lclusterbits;
  const lcsize = 2 ** lclusterbits;
  if (!full && lclusterbits > 14) fail('BAD_COMPRESSION', `lcluster size 2^${lclusterbits} too large for compact indexes`, where);
  if (full && lclusterbits > 30) fail('BAD_COMPRESSION', `lcluster size 2^${lclusterbits} out of range`, where);
  const bs = 2 ** ctx.blkszbits;
  const nlc = Math.ceil(size / lcsize);
  const load = full ? fullLoader(ino, hpos, lclusterbits, big1 || big2, ctx) : compactLoader(hpos, Math.ceil(size / bs), lclusterbits, h.h_advise, ctx);
  // Bound the scan by the bytes the index needs: it must lie inside the image.
  load.checkBounds(nlc - 1);

  const heads: Array<{ lcn: number; lc: Lcluster }> = [];
  const cblk = new Map<number, number>();
  for (let lcn = 0; lcn < nlc; lcn++) {
    const lc = load.at(lcn);
    if (lc.type === Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
      if (lcn === 0) fail('BAD_COMPRESSION', 'lcluster 0 is not a head', where);
      if (lc.compressedblks) cblk.set(lcn, lc.compressedblks);
      else if (heads[heads.length - 1]!.lcn === lcn - 1 && lc.delta0 !== 1) fail('BAD_COMPRESSION', `bogus CBLKCNT at lcluster ${lcn}`, where);
      continue;
    }
    if (lc.clusterofs >= lcsize) fail('BAD_COMPRESSION', `clusterofs ${lc.clusterofs} of lcluster ${lcn} out of range`, where);
    if (lcn === 0 && lc.clusterofs !== 0) fail('BAD_COMPRESSION', 'lcluster 0 does not start at offset 0', where);
    heads.push({ lcn, lc });
  }
  const starts = heads.map(({ lcn, lc }) => lcn * lcsize + lc.clusterofs).filter((la) => la < size);
  const tailLcn = heads[starts.length - 1]!.lcn;
  const fragment = (h.h_advise & Z_EROFS_ADVISE_FRAGMENT_PCLUSTER) !== 0;
  const ztail = !fragment && (h.h_advise & Z_EROFS_ADVISE_INLINE_PCLUSTER) !== 0 && h.h_idata_size > 0;
  const extents: ZExtent[] = [];
  for (let i = 0; i < starts.length; i++) {
    const { lcn, lc } = heads[i]!;
    const la = starts[i]!;
    const llen = (i + 1 < starts.length ? starts[i + 1]! : size) - la;
    const at = { ...where, offset: la };
    let pa: number;
    let plen: number;
    let inline = false;
    if (lcn === tailLcn && ztail) {
      // The tail pcluster follows the index pack holding the last lcluster (kernel FINDTAIL).
      pa = load.at(nlc - 1).nextpackoff;
      plen = h.h_idata_size;
      inline = true;
      if ((pa % bs) + plen > bs) fail('BAD_COMPRESSION', `tail-packed pcluster of ${plen} bytes crosses a block boundary`, at);
    } else if (lcn === tailLcn && fragment) {
      // Full indexes keep the high 32 bits of the fragment offset in the tail head's blkaddr.
      const off = h.h_fragmentoff + (full ? lc.pblk * 2 ** 32 : 0);
      if (!Number.isSafeInteger(off)) fail('BAD_COMPRESSION', 'fragment offset out of range', at);
      extents.push({ la, llen, pa: off, plen: 0, format: { kind: 'fragment' }, inline: false, partialref: false });
      continue;
    } else {
      const big = lc.type === Z_EROFS_LCLUSTER_TYPE_HEAD1 ? big1 : big2;
      const blocks = big && (lcn + 1) * lcsize < size ? (cblk.get(lcn + 1) ?? 1) : 1;
      pa = lc.pblk * bs;
      plen = blocks * bs;
    }
    if (plen > Z_EROFS_PCLUSTER_MAX_SIZE || llen > Z_EROFS_PCLUSTER_MAX_DSIZE) fail('UNSUPPORTED', `pcluster of ${plen} bytes decoding to ${llen} exceeds the format limits`, at);
    let format: ZFormat;
    if (lc.type === Z_EROFS_LCLUSTER_TYPE_PLAIN) {
      if (llen > plen) fail('BAD_COMPRESSION', `uncompressed extent of ${llen} bytes in a ${plen}-byte pcluster`, at);
      format = h.h_advise & Z_EROFS_ADVISE_INTERLACED_PCLUSTER && !inline ? { kind: 'interlaced' } : { kind: 'shifted' };
    } else {
      const algorithm = h.algorithms[lc.type === Z_EROFS_LCLUSTER_TYPE_HEAD2 ? 1 : 0];
      if (!(ctx.availableAlgorithms & (1 << algorithm))) fail('BAD_COMPRESSION', `algorithm ${algorithm} not declared in the superblock`, at);
      format = { kind: 'encoded', algorithm };
    }
    extents.push({ la, llen, pa, plen, format, inline, partialref: lc.partialref });
  }
  return extents;
}

interface Loader {
  at(lcn: number): Lcluster;
  checkBounds(lastLcn: number): void;
}

/** Full (noncompact) indexes: 8-byte z_erofs_lcluster_index entries after the header + 8. */
function fullLoader(ino: ErofsInode, hpos: number, lclusterbits: number, big: boolean, ctx: ZContext): Loader {
  const start = hpos + Z_EROFS_MAP_HEADER_SIZE + 8;
  const pos = (lcn: number) => start + lcn * Z_EROFS_LCLUSTER_INDEX_SIZE;
  return {
    checkBounds(last) {
      if (pos(last + 1) > ctx.deviceSize) ctx.fail('BAD_COMPRESSION', 'lcluster indexes run past the end of the image', { nid: ino.nid });
    },
    at(lcn) {
      const p = pos(lcn);
      const b = ctx.meta(p, Z_EROFS_LCLUSTER_INDEX_SIZE);
      const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const advise = v.getUint16(0, true);
      const type = advise & Z_EROFS_LI_LCLUSTER_TYPE_MASK;
      const lc: Lcluster = { type, clusterofs: 0, delta0: 0, pblk: 0, compressedblks: 0, partialref: false, nextpackoff: p + Z_EROFS_LCLUSTER_INDEX_SIZE };
      if (type === Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
        lc.clusterofs = 2 ** lclusterbits;
        lc.delta0 = v.getUint16(4, true);
        if (lc.delta0 & Z_EROFS_LI_D0_CBLKCNT) {
          if (!big) ctx.fail('BAD_COMPRESSION', `CBLKCNT at lcluster ${lcn} without big pclusters`, { nid: ino.nid, offset: p });
          lc.compressedblks = lc.delta0 & ~Z_EROFS_LI_D0_CBLKCNT;
          lc.delta0 = 1;
        }
      } else {
        lc.partialref = (advise & Z_EROFS_LI_PARTIAL_REF) !== 0;
        lc.clusterofs = v.getUint16(2, true);
        lc.pblk = v.getUint32(4, true);
      }
      return lc;
    },
  };
}

/**
 * Compact indexes: after the header, 4-byte-per-lcluster packs (2 lclusters in 8 bytes) up to
 * 32-byte alignment, then (with COMPACTED_2B) 2-byte packs (16 lclusters in 32 bytes), then 4-byte
 * packs again. Each pack ends with a le32 base block address; entries are `encodebits` wide:
 * lo (lobits) then the 2-bit type. Heads find their block by counting the pclusters before them
 * in the pack (kernel z_erofs_load_compact_lcluster).
 */
function compactLoader(hpos: number, totalidx: number, lclusterbits: number, advise: number, ctx: ZContext): Loader {
  const ebase = hpos + Z_EROFS_MAP_HEADER_SIZE;
  const initial = ((32 - (ebase % 32)) / 4) & 7;
  const c2b = advise & Z_EROFS_ADVISE_COMPACTED_2B && initial < totalidx ? Math.floor((totalidx - initial) / 16) * 16 : 0;
  const big = (advise & Z_EROFS_ADVISE_BIG_PCLUSTER_1) !== 0;
  const lobits = Math.max(lclusterbits, 12);
  const locate = (lcn: number) => {
    let pos = ebase;
    let shift = 2;
    let rel = lcn;
    if (rel >= initial) {
      pos += initial * 4;
      rel -= initial;
      if (rel < c2b) shift = 1;
      else {
        pos += c2b * 2;
        rel -= c2b;
      }
    }
    pos += rel * (1 << shift);
    if (shift === 1 && lclusterbits > 12) ctx.fail('BAD_COMPRESSION', `compacted 2B indexes with lcluster size 2^${lclusterbits}`, { offset: pos });
    const vcnt = shift === 2 ? 2 : 16;
    const packSize = vcnt << shift;
    const packStart = Math.floor(pos / packSize) * packSize;
    return { pos, shift, vcnt, packSize, packStart };
  };
  return {
    checkBounds(last) {
      const { packStart, packSize } = locate(last);
      if (packStart + packSize > ctx.deviceSize) ctx.fail('BAD_COMPRESSION', 'compact indexes run past the end of the image', { offset: packStart });
    },
    at(lcn) {
      const { pos, shift, vcnt, packSize, packStart } = locate(lcn);
      const b = ctx.meta(packStart, packSize);
      const pack = new DataView(b.buffer, b.byteOffset, b.byteLength);
      const encodebits = ((packSize - 4) * 8) / vcnt;
      const decode = (i: number) => {
        const bit = encodebits * i;
        const word = pack.getUint32(Math.floor(bit / 8), true) >>> (bit & 7);
        return { lo: word & ((1 << lobits) - 1), type: (word >>> lobits) & 3 };
      };
      let i = (pos - packStart) >> shift;
      const { lo, type } = decode(i);
      const lc: Lcluster = { type, clusterofs: 0, delta0: 0, pblk: 0, compressedblks: 0, partialref: false, nextpackoff: packStart + packSize };
      const where = { offset: pos };
      if (type === Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
        lc.clusterofs = 2 ** lclusterbits;
        if (lo & Z_EROFS_LI_D0_CBLKCNT) {
          if (!big) ctx.fail('BAD_COMPRESSION', 'CBLKCNT without big pclusters', where);
          lc.compressedblks = lo & ~Z_EROFS_LI_D0_CBLKCNT;
          lc.delta0 = 1;
        } else if (i + 1 !== vcnt) {
          lc.delta0 = lo;
        } else {
          // The pack's last entry stores delta[1]; delta[0] follows from the one before it.
          const prev = decode(i - 1);
          lc.delta0 = (prev.type !== Z_EROFS_LCLUSTER_TYPE_NONHEAD ? 0 : prev.lo & Z_EROFS_LI_D0_CBLKCNT ? 1 : prev.lo) + 1;
        }
        return lc;
      }
      lc.clusterofs = lo;
      let nblk = big ? 0 : 1;
      while (i > 0) {
        --i;
        const d = decode(i);
        if (!big) {
          if (d.type === Z_EROFS_LCLUSTER_TYPE_NONHEAD) i -= d.lo;
          if (i >= 0) ++nblk;
        } else if (d.type === Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
          if (d.lo & Z_EROFS_LI_D0_CBLKCNT) {
            --i;
            nblk += d.lo & ~Z_EROFS_LI_D0_CBLKCNT;
          } else {
            if (d.lo <= 1) ctx.fail('BAD_COMPRESSION', 'big pcluster with a plain delta of 1', where);
            i -= d.lo - 2;
          }
        } else ++nblk;
      }
      lc.pblk = pack.getUint32(packSize - 4, true) + nblk;
      return lc;
    },
  };
}
