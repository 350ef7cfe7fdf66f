import type { ByteString } from '@fstools/fstree';
import { writeU64LE } from '@fstools/fstree';
import { EROFS_DIRENT_SIZE } from './constants.js';

export interface DirentSource {
  name: ByteString;
  /** Filled in once inodes have their places. */
  nid: number;
  file_type: number;
}

/**
 * How a directory's entries split into blocks: each block holds struct erofs_dirent records
 * (nid, nameoff, file_type) followed by their names. Entries are sorted by name bytes over the
 * whole directory, "." and ".." included, because the kernel binary-searches the blocks and then
 * each block (fs/erofs/namei.c). Returns where each block starts: block b holds names
 * [starts[b], starts[b + 1]); the last element is the name count.
 */
export function splitDirBlocks(sortedNames: readonly ByteString[], blockSize: number): number[] {
  const starts = [0];
  let used = 0;
  sortedNames.forEach((name, i) => {
    const need = EROFS_DIRENT_SIZE + name.length;
    if (i > starts[starts.length - 1]! && used + need > blockSize) {
      starts.push(i);
      used = 0;
    }
    used += need;
  });
  if (sortedNames.length > 0) starts.push(sortedNames.length);
  return starts;
}

/** Bytes used by a block holding these names. */
export function dirBlockBytes(names: readonly ByteString[]): number {
  let n = 0;
  for (const name of names) n += EROFS_DIRENT_SIZE + name.length;
  return n;
}

/**
 * Encodes one directory block at `off`. Names are not NUL-terminated: a name ends where the next
 * begins, the last one at the block end, or for the final (tail) block at i_size. Unused bytes of
 * a full block stay zero, which the kernel's strnlen treats as the end of the last name.
 */
export function encodeDirBlock(entries: readonly DirentSource[], buf: Buffer, off: number): number {
  let nameoff = entries.length * EROFS_DIRENT_SIZE;
  let d = off;
  for (const e of entries) {
    writeU64LE(buf, e.nid, d);
    buf.writeUInt16LE(nameoff, d + 8);
    buf.writeUInt8(e.file_type, d + 10);
    buf.writeUInt8(0, d + 11);
    nameoff += buf.write(e.name, off + nameoff, 'latin1'); // a byte string: one byte per char
    d += EROFS_DIRENT_SIZE;
  }
  return nameoff;
}
