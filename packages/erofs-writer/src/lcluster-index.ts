import {
  Z_EROFS_FRAGMENT_INODE_BIT,
  Z_EROFS_LCLUSTER_INDEX_SIZE,
  Z_EROFS_LCLUSTER_TYPE_HEAD1,
  Z_EROFS_LCLUSTER_TYPE_NONHEAD,
  Z_EROFS_LCLUSTER_TYPE_PLAIN,
  Z_EROFS_LEGACY_MAP_HEADER_SIZE,
  Z_EROFS_LI_D0_CBLKCNT,
  Z_EROFS_LI_PARTIAL_REF,
  Z_EROFS_MAP_HEADER_SIZE,
} from './constants.js';

/**
 * One extent of a compressed file, in file order: `length` decompressed bytes from the pcluster of
 * `plen` bytes at block `blkaddr`. A tail-packed (inline) pcluster counts one block, as mkfs.erofs
 * counts it, and its blkaddr is the block after the file's last real pcluster; the fragment extent
 * (the tail in the packed inode) has plen 0.
 */
export interface ZExtent {
  length: number;
  plen: number;
  /** Stored uncompressed (a PLAIN lcluster). */
  raw: boolean;
  blkaddr: number;
  /** Dedupe: the pcluster decodes to more than this extent (Z_EROFS_LI_PARTIAL_REF). */
  partial: boolean;
}

/** struct z_erofs_map_header. */
export interface MapHeader {
  /** h_fragmentoff (low 32 bits of the fragment's offset in the packed inode) when the file has one. */
  h_fragmentoff?: number;
  h_idata_size: number;
  h_advise: number;
  /** HEAD1's algorithm (HEAD2 is never used here). */
  algorithm: number;
  /** log2(lcluster size) - blkszbits: 0, lclusters are blocks. */
  h_clusterbits: number;
}

export function encodeMapHeader(h: MapHeader, buf: Buffer, off: number): void {
  if (h.h_fragmentoff !== undefined) buf.writeUInt32LE(h.h_fragmentoff >>> 0, off);
  else buf.writeUInt16LE(h.h_idata_size, off + 2);
  buf.writeUInt16LE(h.h_advise, off + 4);
  buf.writeUInt8(h.algorithm & 15, off + 6);
  buf.writeUInt8(h.h_clusterbits, off + 7);
}

/** The map header of a file that lives wholly in the packed inode: its offset there, with bit 63 set. */
export function encodeWholeFragmentHeader(fragmentoff: number, buf: Buffer, off: number): void {
  buf.writeBigUInt64LE(BigInt(fragmentoff) | (1n << BigInt(56 + Z_EROFS_FRAGMENT_INODE_BIT)), off);
}

/** Number of lclusters (index entries) of a file: one per block, lclusters being blocks. */
export function lclusterCount(size: number, blkszbits: number): number {
  return Math.ceil(size / 2 ** blkszbits);
}

export interface FullIndexOptions {
  blkszbits: number;
  /** The superblock has BIG_PCLUSTER: the first NONHEAD after a head stores the pcluster's block count. */
  bigPcluster: boolean;
  /** Full indexes keep the fragment offset's high 32 bits in the fragment head's blkaddr. */
  fragmentoffHigh: number;
}

/**
 * The full (noncompact) lcluster indexes of a file, struct z_erofs_lcluster_index per lcluster, as
 * mkfs.erofs writes them (z_erofs_write_full_indexes): each extent's head lcluster says where the
 * extent starts (clusterofs) and its pcluster's block; each lcluster it covers after that is a
 * NONHEAD with the distances to its head (delta[0]) and to the next head (delta[1]), the first one
 * holding the pcluster's block count instead (CBLKCNT) with big pclusters. An extent that starts
 * and ends inside one lcluster (only a file's last) ends the list; a file ending inside an lcluster
 * otherwise gets a final PLAIN entry at the end offset.
 */
export function encodeFullIndexes(extents: readonly ZExtent[], o: FullIndexOptions): Buffer {
  const bbits = o.blkszbits;
  const bs = 2 ** bbits;
  const total = extents.reduce((n, e) => n + e.length, 0);
  const out = Buffer.alloc(lclusterCount(total, bbits) * Z_EROFS_LCLUSTER_INDEX_SIZE);
  let at = 0;
  const put = (advise: number, clusterofs: number, u: number): void => {
    out.writeUInt16LE(advise, at);
    out.writeUInt16LE(clusterofs, at + 2);
    out.writeUInt32LE(u >>> 0, at + 4);
    at += Z_EROFS_LCLUSTER_INDEX_SIZE;
  };
  const nonhead = (clusterofs: number, delta0: number, delta1: number): number => {
    out.writeUInt16LE(Z_EROFS_LCLUSTER_TYPE_NONHEAD, at);
    out.writeUInt16LE(clusterofs, at + 2);
    out.writeUInt16LE(delta0, at + 4);
    out.writeUInt16LE(delta1 & 0xffff, at + 6);
    return (at += Z_EROFS_LCLUSTER_INDEX_SIZE);
  };
  let clusterofs = 0;
  for (const e of extents) {
    const headType = e.raw ? Z_EROFS_LCLUSTER_TYPE_PLAIN : Z_EROFS_LCLUSTER_TYPE_HEAD1;
    const blkaddr = e.plen === 0 ? o.fragmentoffHigh : e.blkaddr;
    let count = e.length;
    let d1 = (clusterofs + count) >> bbits;
    // NONHEAD entries carry their head's clusterofs too (mkfs sets it once per extent).
    const headofs = clusterofs;
    if (d1 === 0) {
      put(headType, headofs, blkaddr);
      clusterofs = 0;
      continue;
    }
    let d0 = 0;
    do {
      if (d0 === 0) put(headType | (e.partial ? Z_EROFS_LI_PARTIAL_REF : 0), headofs, blkaddr);
      else if (d0 === 1 && o.bigPcluster) nonhead(headofs, (e.plen >> bbits) | Z_EROFS_LI_D0_CBLKCNT, d1);
      // A distance of CBLKCNT or more would read as a block count: it is capped (only lookups
      // within the extent use it, and they step back again from there).
      else nonhead(headofs, Math.min(d0, Z_EROFS_LI_D0_CBLKCNT - 1), d1);
      count -= bs - clusterofs;
      clusterofs = 0;
      d0++;
      d1--;
    } while (clusterofs + count >= bs);
    clusterofs = count;
  }
  if (clusterofs) put(Z_EROFS_LCLUSTER_TYPE_PLAIN, clusterofs, 0);
  if (at !== out.length) throw new Error(`lcluster indexes: wrote ${at / 8} of ${out.length / 8} entries`);
  return out;
}

/** Bytes of a full index area after the 8-aligned inode end: map header, 8 reserved, entries. */
export function fullIndexSize(totalidx: number): number {
  return Z_EROFS_LEGACY_MAP_HEADER_SIZE + totalidx * Z_EROFS_LCLUSTER_INDEX_SIZE;
}

/**
 * How compact indexes split `totalidx` lclusters (z_erofs_convert_to_compacted_format and the
 * kernel's compacted_load_cluster_from_disk agree on this): 4-byte entries (packs of 2) up to the
 * next 32-byte boundary, then with COMPACTED_2B as many 2-byte entries (packs of 16) as fill whole
 * packs, then 4-byte entries again. `ebase` is where the entries start (after the map header),
 * counted from anywhere 32-byte aligned (an inode's start will do).
 */
function compactSplit(totalidx: number, ebase: number, c2b: boolean): { initial: number; twoByte: number; end: number } {
  if (!c2b) return { initial: 0, twoByte: 0, end: totalidx };
  const initial = ((32 - (ebase % 32)) / 4) % 8;
  if (initial > totalidx) return { initial: 0, twoByte: 0, end: totalidx };
  const twoByte = Math.floor((totalidx - initial) / 16) * 16;
  return { initial, twoByte, end: totalidx - initial - twoByte };
}

/** Bytes of a compact index area after the 8-aligned inode end: map header and packs. */
export function compactIndexSize(totalidx: number, ebase: number, c2b: boolean): number {
  const s = compactSplit(totalidx, ebase, c2b);
  return Z_EROFS_MAP_HEADER_SIZE + s.initial * 4 + s.twoByte * 2 + Math.ceil(s.end / 2) * 8;
}

/** One lcluster entry as the compact packer reads it from the full form. */
interface Lc {
  type: number;
  clusterofs: number;
  delta0: number;
  delta1: number;
}

function readFull(full: Uint8Array, i: number): Lc {
  const v = new DataView(full.buffer, full.byteOffset + i * Z_EROFS_LCLUSTER_INDEX_SIZE, Z_EROFS_LCLUSTER_INDEX_SIZE);
  return { type: v.getUint16(0, true) & 3, clusterofs: v.getUint16(2, true), delta0: v.getUint16(4, true), delta1: v.getUint16(6, true) };
}

export interface CompactOptions {
  lclusterbits: number;
  bigPcluster: boolean;
  c2b: boolean;
  /** The file's first pcluster block. */
  blkaddr: number;
  /** Where the entries start (after the map header), relative to something 32-byte aligned. */
  ebase: number;
}

/**
 * Converts full indexes (encodeFullIndexes) to the compact form at `off` (after the map header):
 * packs of 2 four-byte or 16 two-byte entries, each entry `encodebits` wide holding the lcluster
 * type above `lobits` of clusterofs (heads) or a distance (NONHEAD: delta[0], the pack's last entry
 * delta[1], or CBLKCNT), each pack ending with a le32 block address the kernel adds the pclusters
 * before an entry to. Without big pclusters every head is one block past the previous one; with
 * them the count comes from CBLKCNT entries (z_erofs_convert_to_compacted_format).
 */
export function encodeCompactIndexes(full: Uint8Array, o: CompactOptions, buf: Buffer, off: number): number {
  const totalidx = full.length / Z_EROFS_LCLUSTER_INDEX_SIZE;
  const split = compactSplit(totalidx, o.ebase, o.c2b);
  const lobits = Math.max(o.lclusterbits, Math.log2(Z_EROFS_LI_D0_CBLKCNT) + 1);
  // Before big pclusters the block address was bumped on coming into each head.
  const st = { blkaddr: o.bigPcluster ? o.blkaddr : o.blkaddr - 1, dummyHead: !o.bigPcluster };
  let next = 0;
  let at = off;
  const pack = (destsize: 2 | 4, present: number): void => {
    const vcnt = destsize === 4 ? 2 : 16;
    const encodebits = (vcnt * destsize * 8 - 32) / vcnt;
    const cv: Lc[] = [];
    for (let i = 0; i < vcnt; i++) cv.push(i < present ? readFull(full, next++) : { type: Z_EROFS_LCLUSTER_TYPE_PLAIN, clusterofs: 0, delta0: 0, delta1: 0 });
    let base = st.blkaddr;
    let blkaddr = st.blkaddr;
    let updateBase = o.bigPcluster;
    for (let i = 0; i < vcnt; i++) {
      const c = cv[i]!;
      let lo: number;
      if (c.type === Z_EROFS_LCLUSTER_TYPE_NONHEAD) {
        if (c.delta0 & Z_EROFS_LI_D0_CBLKCNT) {
          lo = c.delta0;
          blkaddr += c.delta0 & ~Z_EROFS_LI_D0_CBLKCNT;
          st.dummyHead = false;
        } else if (i + 1 === vcnt) {
          lo = Math.min(c.delta1, Z_EROFS_LI_D0_CBLKCNT - 1);
        } else {
          lo = c.delta0;
        }
      } else {
        lo = c.clusterofs;
        if (st.dummyHead) {
          blkaddr++;
          if (updateBase) base = blkaddr;
        }
        st.dummyHead = true;
        updateBase = false;
      }
      const v = (c.type << lobits) | lo;
      const bit = i * encodebits;
      const word = at + (bit >> 3);
      // Entries never overlap and the pack starts zeroed: OR each one in at its bit offset.
      const shifted = v << (bit & 7);
      buf[word] = buf[word]! | (shifted & 0xff);
      buf[word + 1] = buf[word + 1]! | ((shifted >>> 8) & 0xff);
      buf[word + 2] = buf[word + 2]! | ((shifted >>> 16) & 0xff);
    }
    buf.writeUInt32LE(base >>> 0, at + vcnt * destsize - 4);
    st.blkaddr = blkaddr;
    at += vcnt * destsize;
  };
  for (let n = split.initial; n > 0; n -= 2) pack(4, 2);
  for (let n = split.twoByte; n > 0; n -= 16) pack(2, 16);
  for (let n = split.end; n > 0; n -= 2) pack(4, Math.min(n, 2));
  return at - off;
}
