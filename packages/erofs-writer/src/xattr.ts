import { EntryError, xxh } from '@fstools/fstree';
import {
  EROFS_MAX_SHARED_PER_INODE,
  EROFS_NAME_LEN,
  EROFS_XATTR_ENTRY_SIZE,
  EROFS_XATTR_FILTER_BITS,
  EROFS_XATTR_FILTER_SEED,
  EROFS_XATTR_IBODY_HEADER_SIZE,
  EROFS_XATTR_LONG_PREFIX,
} from './constants.js';
import type { LongPrefix } from './xattr-prefix.js';
import { shortPrefixes } from './xattr-prefix.js';

/** One xattr as it will be stored: its entry bytes and its name-filter bit. */
export interface EncodedXattr {
  /** Name + value, identifying duplicates across inodes. */
  key: string;
  /** struct erofs_xattr_entry + name suffix + value, padded to 4 bytes. */
  entry: Buffer;
  filterBit: number;
}

/** How an xattr is stored: e_name_index, its short prefix, the name bytes stored from `suffixStart` on, the entry size. */
interface StoredName {
  index: number;
  base: (typeof shortPrefixes)[number];
  nameBytes: Buffer;
  suffixStart: number;
  /** struct erofs_xattr_entry + name suffix + value, padded to 4 bytes. */
  size: number;
}

/**
 * Where an xattr's name goes: the longest matching prefix (long prefixes first). A name no prefix
 * covers, or a name or value too long, cannot be stored by EROFS and is an error naming it.
 */
function storedName(name: string, value: Uint8Array, longPrefixes: readonly LongPrefix[], where: string): StoredName {
  const nameBytes = Buffer.from(name, 'utf8');
  const base = shortPrefixes.find((p) => (p.exact ? name === p.prefix : name.startsWith(p.prefix)));
  if (!base) throw new EntryError(where, `xattr ${name}: EROFS stores only user., trusted., security. and POSIX ACL xattrs`);
  let index: number = base.index;
  let suffixStart = Buffer.byteLength(base.prefix);
  let best = -1;
  longPrefixes.forEach((p, i) => {
    if (name.startsWith(p.full) && (best < 0 || p.full.length > longPrefixes[best]!.full.length)) best = i;
  });
  if (best >= 0) {
    index = EROFS_XATTR_LONG_PREFIX | best;
    suffixStart = Buffer.byteLength(longPrefixes[best]!.full);
  }
  const suffixLength = nameBytes.length - suffixStart;
  if (suffixLength > EROFS_NAME_LEN) throw new EntryError(where, `xattr ${name}: name longer than ${EROFS_NAME_LEN} bytes after its prefix`);
  if (value.length > 0xffff) throw new EntryError(where, `xattr ${name}: value larger than 65535 bytes`);
  return { index, base, nameBytes, suffixStart, size: (EROFS_XATTR_ENTRY_SIZE + suffixLength + value.length + 3) & ~3 };
}

/** Bytes an xattr's entry takes (what encodeXattr(...).entry.length is), with the same checks. */
export function xattrEntrySize(name: string, value: Uint8Array, longPrefixes: readonly LongPrefix[], where: string): number {
  return storedName(name, value, longPrefixes, where).size;
}

/** Encodes an xattr (see storedName for where its name goes and what is refused). */
export function encodeXattr(name: string, value: Uint8Array, longPrefixes: readonly LongPrefix[], where: string): EncodedXattr {
  const { index, base, nameBytes, suffixStart, size } = storedName(name, value, longPrefixes, where);
  const suffix = nameBytes.subarray(suffixStart);
  const entry = Buffer.alloc(size);
  entry.writeUInt8(suffix.length, 0);
  entry.writeUInt8(index, 1);
  entry.writeUInt16LE(value.length, 2);
  suffix.copy(entry, 4);
  entry.set(value, 4 + suffix.length);
  // Name filter: xxh32 of the name after its short prefix, seeded by the short index
  // (long prefixes hash as their base short prefix would).
  const hashed = nameBytes.subarray(Buffer.byteLength(base.prefix));
  const filterBit = xxh.h32Raw(hashed, (EROFS_XATTR_FILTER_SEED + base.index) >>> 0) & (EROFS_XATTR_FILTER_BITS - 1);
  return { key: name + '\0' + Buffer.from(value).toString('latin1'), entry, filterBit };
}

/** The shared xattr area: entries used by more than one inode, stored once and referenced by id. */
export class SharedXattrs {
  private counts = new Map<string, { x: EncodedXattr; n: number }>();
  private ids = new Map<string, number>();
  private area: Buffer = Buffer.alloc(0);

  count(x: EncodedXattr): void {
    const c = this.counts.get(x.key);
    if (c) c.n++;
    else this.counts.set(x.key, { x, n: 1 });
  }

  /** Fixes the area: repeated entries in key order. Ids are 4-byte offsets into it. */
  seal(): void {
    const shared = [...this.counts.values()].filter((c) => c.n > 1).sort((a, b) => (a.x.key < b.x.key ? -1 : a.x.key > b.x.key ? 1 : 0));
    let off = 0;
    for (const { x } of shared) {
      this.ids.set(x.key, off / 4);
      off += x.entry.length;
    }
    this.area = Buffer.concat(shared.map((c) => c.x.entry));
    this.counts.clear();
  }

  id(x: EncodedXattr): number | undefined {
    return this.ids.get(x.key);
  }

  bytes(): Buffer {
    return this.area;
  }
}

/**
 * The inline xattr region of an inode: struct erofs_xattr_ibody_header (name filter stored
 * inverted: a 1 bit means "no such name"; shared count), the shared ids, then the inline entries.
 * An inode without xattrs has no region at all (a header-only region is invalid).
 */
export function encodeIbody(xattrs: readonly EncodedXattr[], shared: SharedXattrs): Buffer {
  if (xattrs.length === 0) return Buffer.alloc(0);
  const ids: number[] = [];
  const inline: Buffer[] = [];
  let filter = 0;
  for (const x of xattrs) {
    filter |= 1 << x.filterBit;
    const id = shared.id(x);
    if (id !== undefined && ids.length < EROFS_MAX_SHARED_PER_INODE) ids.push(id);
    else inline.push(x.entry);
  }
  ids.sort((a, b) => a - b);
  const head = Buffer.alloc(EROFS_XATTR_IBODY_HEADER_SIZE + 4 * ids.length);
  head.writeUInt32LE(~filter >>> 0, 0);
  head.writeUInt8(ids.length, 4);
  ids.forEach((id, i) => head.writeUInt32LE(id, EROFS_XATTR_IBODY_HEADER_SIZE + 4 * i));
  return Buffer.concat([head, ...inline]);
}

/** i_xattr_icount for a region of this many bytes: 1 for the header, then 4-byte units. */
export function xattrIcount(ibodyBytes: number): number {
  return ibodyBytes === 0 ? 0 : 1 + (ibodyBytes - EROFS_XATTR_IBODY_HEADER_SIZE) / 4;
}
