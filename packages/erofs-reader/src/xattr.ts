import { xxh } from '@fstools/fstree';
import { EROFS_XATTR_ENTRY_SIZE, EROFS_XATTR_FILTER_BITS, EROFS_XATTR_FILTER_SEED, EROFS_XATTR_IBODY_HEADER_SIZE, EROFS_XATTR_LONG_PREFIX, EROFS_XATTR_LONG_PREFIX_MASK, EROFS_XATTR_PREFIXES } from './constants.js';
import type { ErofsWhere, Fail } from './errors.js';

/** struct erofs_xattr_long_prefix: a short prefix index plus an infix ("trusted." + "overlay."). */
export interface LongPrefix {
  base_index: number;
  infix: Uint8Array;
}

/** One xattr entry as stored: name index, the name bytes after the prefix, the value. */
export interface XattrEntry {
  e_name_index: number;
  name: Uint8Array;
  value: Uint8Array;
  /** Bytes the entry occupies, padded to 4. */
  size: number;
}

/** The inline xattr region of an inode (struct erofs_xattr_ibody_header + entries). */
export interface XattrIbody {
  h_name_filter: number;
  shared: number[];
  entries: XattrEntry[];
}

/** Reads `len` bytes at byte `pos`; how depends on where the bytes live. */
export type ReadAt = (pos: number, len: number) => Uint8Array;

/** Parses the entry at byte `pos` (header, name, value); `limit` bounds it. */
export function parseXattrEntry(read: ReadAt, pos: number, limit: number, fail: Fail, where: ErofsWhere): XattrEntry {
  if (pos + EROFS_XATTR_ENTRY_SIZE > limit) fail('BAD_XATTR', 'xattr entry header out of bounds', { ...where, offset: pos });
  const h = read(pos, EROFS_XATTR_ENTRY_SIZE);
  const nameLen = h[0]!;
  const valueSize = h[2]! | (h[3]! << 8);
  const end = pos + EROFS_XATTR_ENTRY_SIZE + nameLen + valueSize;
  if (end > limit) fail('BAD_XATTR', `xattr entry of ${end - pos} bytes out of bounds`, { ...where, offset: pos });
  const body = read(pos + EROFS_XATTR_ENTRY_SIZE, nameLen + valueSize);
  return {
    e_name_index: h[1]!,
    name: body.slice(0, nameLen),
    value: body.slice(nameLen),
    size: align4(end - pos),
  };
}

/** Parses an inline region of `isize` bytes at `pos`: header, shared ids, then entries to the end. */
export function parseIbody(read: ReadAt, pos: number, isize: number, fail: Fail, where: ErofsWhere): XattrIbody {
  if (isize <= EROFS_XATTR_IBODY_HEADER_SIZE) fail('BAD_XATTR', `inline xattr region of ${isize} bytes holds only a header`, { ...where, offset: pos });
  const h = read(pos, EROFS_XATTR_IBODY_HEADER_SIZE);
  const v = new DataView(h.buffer, h.byteOffset, h.byteLength);
  const count = h[4]!;
  const limit = pos + isize;
  let p = pos + EROFS_XATTR_IBODY_HEADER_SIZE;
  if (p + 4 * count > limit) fail('BAD_XATTR', `${count} shared xattr ids overflow the inline region`, { ...where, offset: pos });
  const ids = read(p, 4 * count);
  const iv = new DataView(ids.buffer, ids.byteOffset, ids.byteLength);
  const shared = Array.from({ length: count }, (_, i) => iv.getUint32(4 * i, true));
  p += 4 * count;
  const entries: XattrEntry[] = [];
  while (p < limit) {
    const e = parseXattrEntry(read, p, limit, fail, where);
    entries.push(e);
    p += e.size;
  }
  return { h_name_filter: v.getUint32(0, true), shared, entries };
}

/**
 * Reads the long prefix table: `count` records starting at `start` * 4, each aligned to 4 bytes,
 * a le16 length (0 means 65536) then base_index and the infix (kernel erofs_read_metadata).
 */
export function parseLongPrefixes(read: ReadAt, start: number, count: number, limit: number, fail: Fail): LongPrefix[] {
  const out: LongPrefix[] = [];
  let pos = start * 4;
  for (let i = 0; i < count; i++) {
    pos = align4(pos);
    if (pos + 2 > limit) fail('BAD_XATTR', `long xattr prefix ${i} out of bounds`, { offset: pos });
    const lb = read(pos, 2);
    const len = lb[0]! | (lb[1]! << 8) || 0x10000;
    pos += 2;
    if (pos + len > limit) fail('BAD_XATTR', `long xattr prefix ${i} of ${len} bytes out of bounds`, { offset: pos });
    const rec = read(pos, len);
    pos += len;
    if (!EROFS_XATTR_PREFIXES.has(rec[0]!)) fail('BAD_XATTR', `long xattr prefix ${i} has unknown base index ${rec[0]}`, { offset: pos - len });
    out.push({ base_index: rec[0]!, infix: rec.slice(1) });
  }
  return out;
}

/**
 * The full name of an entry and the parts the bloom filter hashes: the short prefix index and the
 * name after that short prefix (for long prefixes: infix + name).
 */
export function resolveName(e: XattrEntry, longPrefixes: readonly LongPrefix[], fail: Fail, where: ErofsWhere): { name: string; baseIndex: number; afterBase: Uint8Array } {
  let baseIndex = e.e_name_index;
  let afterBase = e.name;
  if (e.e_name_index & EROFS_XATTR_LONG_PREFIX) {
    const lp = longPrefixes[e.e_name_index & EROFS_XATTR_LONG_PREFIX_MASK];
    if (!lp) fail('BAD_XATTR', `xattr refers to missing long prefix ${e.e_name_index & EROFS_XATTR_LONG_PREFIX_MASK}`, where);
    baseIndex = lp.base_index;
    afterBase = Buffer.concat([lp.infix, e.name]);
  }
  const prefix = EROFS_XATTR_PREFIXES.get(baseIndex);
  if (prefix === undefined) fail('BAD_XATTR', `unknown xattr name index ${baseIndex}`, where);
  const name = prefix + Buffer.from(afterBase).toString('utf8');
  if (name === prefix && prefix.endsWith('.')) fail('BAD_XATTR', `empty xattr name after prefix ${prefix}`, where);
  return { name, baseIndex, afterBase };
}

/** Bloom filter bit of a name: xxh32(name after short prefix, seed + index) mod 32. */
export function filterBit(baseIndex: number, afterBase: Uint8Array): number {
  return xxh.h32Raw(afterBase, (EROFS_XATTR_FILTER_SEED + baseIndex) >>> 0) & (EROFS_XATTR_FILTER_BITS - 1);
}

function align4(n: number): number {
  return Math.ceil(n / 4) * 4;
}
