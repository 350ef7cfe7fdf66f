import { aclToDisk } from './acl.js';
import {
  EXT4_XATTR_ENTRY_SIZE,
  EXT4_XATTR_HEADER_SIZE,
  EXT4_XATTR_INDEX_POSIX_ACL_ACCESS,
  EXT4_XATTR_INDEX_POSIX_ACL_DEFAULT,
  EXT4_XATTR_INDEX_SECURITY,
  EXT4_XATTR_INDEX_TRUSTED,
  EXT4_XATTR_INDEX_USER,
  EXT4_XATTR_MAGIC,
} from './constants.js';
import { ext4Chksum } from './csum.js';

/** An attribute as stored: name index, name without its prefix, value. */
export interface Xattr {
  index: number;
  name: Uint8Array;
  value: Uint8Array;
}

/** Prefixes ext4 stores as an index (fs/ext4/xattr.h); the ACL names are whole names. */
const PREFIXES: Array<[string, number]> = [
  ['system.posix_acl_access', EXT4_XATTR_INDEX_POSIX_ACL_ACCESS],
  ['system.posix_acl_default', EXT4_XATTR_INDEX_POSIX_ACL_DEFAULT],
  ['user.', EXT4_XATTR_INDEX_USER],
  ['trusted.', EXT4_XATTR_INDEX_TRUSTED],
  ['security.', EXT4_XATTR_INDEX_SECURITY],
];

/** The stored form of an attribute, or a reason the kernel could not give it back. */
export function toXattr(fullName: string, value: Uint8Array): Xattr | string {
  for (const [prefix, index] of PREFIXES) {
    if (prefix.endsWith('.') ? fullName.startsWith(prefix) && fullName.length > prefix.length : fullName === prefix) {
      const name = new Uint8Array(Buffer.from(fullName.slice(prefix.endsWith('.') ? prefix.length : fullName.length), 'utf8'));
      if (name.length > 255) return 'name longer than 255 bytes';
      const isAcl = index === EXT4_XATTR_INDEX_POSIX_ACL_ACCESS || index === EXT4_XATTR_INDEX_POSIX_ACL_DEFAULT;
      const stored = isAcl ? aclToDisk(value) : value;
      return typeof stored === 'string' ? stored : { index, name, value: stored };
    }
  }
  return 'ext4 stores only user., trusted., security. and system.posix_acl_* attributes';
}

const pad4 = (n: number): number => (n + 3) & ~3;
const entrySize = (x: Xattr): number => pad4(EXT4_XATTR_ENTRY_SIZE + x.name.length);

/** Entries in the order the kernel searches them in a block: index, name length, name. */
export function sortXattrs(list: Xattr[]): Xattr[] {
  return [...list].sort((a, b) => a.index - b.index || a.name.length - b.name.length || Buffer.compare(a.name, b.name));
}

/** Bytes a set of entries needs: entries, the 4-byte terminator, padded values. */
function needed(list: Xattr[]): number {
  return list.reduce((n, x) => n + entrySize(x) + pad4(x.value.length), 4);
}

/**
 * Splits attributes between the inode body (`inodeSpace` bytes after i_extra_isize, holding a
 * 4-byte magic first) and one xattr block: the leading ones that fit stay in the inode.
 */
export function placeXattrs(sorted: Xattr[], inodeSpace: number): { inInode: Xattr[]; inBlock: Xattr[] } {
  let k = 0;
  while (k < sorted.length && inodeSpace >= 4 + needed(sorted.slice(0, k + 1))) k++;
  return { inInode: sorted.slice(0, k), inBlock: sorted.slice(k) };
}

/** Whether entries fit in one xattr block after its 32-byte header. */
export function fitsInBlock(list: Xattr[], blockSize: number): boolean {
  return EXT4_XATTR_HEADER_SIZE + needed(list) <= blockSize;
}

/**
 * ext4_xattr_hash_entry: the name bytes folded with shifts of 5, then the value's little-endian
 * words (zero-padded) with shifts of 16.
 */
function entryHash(x: Xattr): number {
  let hash = 0;
  for (const c of x.name) hash = ((hash << 5) ^ (hash >>> 27) ^ c) >>> 0;
  const padded = new Uint8Array(pad4(x.value.length));
  padded.set(x.value);
  const dv = new DataView(padded.buffer);
  for (let i = 0; i < padded.length; i += 4) hash = ((hash << 16) ^ (hash >>> 16) ^ dv.getUint32(i, true)) >>> 0;
  return hash;
}

/**
 * Writes entries at `entriesOff` and values downward from the end of `area`; value offsets count
 * from `valueBase`. Returns the entry hashes.
 */
function writeEntries(area: Uint8Array, entriesOff: number, valueBase: number, list: Xattr[]): number[] {
  const dv = new DataView(area.buffer, area.byteOffset, area.length);
  let off = entriesOff;
  let valueEnd = area.length;
  return list.map((x) => {
    let valueOffs = 0;
    if (x.value.length) {
      valueEnd -= pad4(x.value.length);
      area.set(x.value, valueEnd);
      valueOffs = valueEnd - valueBase;
    }
    const hash = entryHash(x);
    dv.setUint8(off, x.name.length); // e_name_len
    dv.setUint8(off + 1, x.index); // e_name_index
    dv.setUint16(off + 2, valueOffs, true); // e_value_offs
    dv.setUint32(off + 8, x.value.length, true); // e_value_size
    dv.setUint32(off + 12, hash, true); // e_hash
    area.set(x.name, off + EXT4_XATTR_ENTRY_SIZE);
    off += entrySize(x);
    return hash;
  });
}

/** The in-inode attribute area: magic, entries, values at the end; offsets from the first entry. */
export function encodeInodeXattrs(list: Xattr[], inodeSpace: number): Uint8Array {
  const area = new Uint8Array(inodeSpace);
  new DataView(area.buffer).setUint32(0, EXT4_XATTR_MAGIC, true);
  writeEntries(area, 4, 4, list);
  return area;
}

/**
 * An xattr block (ext4 docs, "Extended Attributes"): header (magic, refcount, blocks = 1, hash),
 * entries sorted, values from the end; h_hash combines the entry hashes (ext4_xattr_rehash).
 */
export function encodeXattrBlock(sorted: Xattr[], blockSize: number, refcount: number): Uint8Array {
  const block = new Uint8Array(blockSize);
  const dv = new DataView(block.buffer);
  const hashes = writeEntries(block, EXT4_XATTR_HEADER_SIZE, 0, sorted);
  let hash = 0;
  for (const h of hashes) hash = ((hash << 16) ^ (hash >>> 16) ^ h) >>> 0;
  dv.setUint32(0, EXT4_XATTR_MAGIC, true);
  dv.setUint32(4, refcount, true);
  dv.setUint32(8, 1, true);
  dv.setUint32(12, hash, true);
  return block;
}

/** h_checksum: crc32c(fs seed, le64 block number, block with h_checksum zeroed). */
export function setXattrBlockCsum(block: Uint8Array, pblk: number, fsSeed: number): void {
  const nr = new Uint8Array(8);
  new DataView(nr.buffer).setBigUint64(0, BigInt(pblk), true);
  const dv = new DataView(block.buffer, block.byteOffset, block.length);
  dv.setUint32(16, 0, true);
  dv.setUint32(16, ext4Chksum(ext4Chksum(fsSeed, nr), block), true);
}
