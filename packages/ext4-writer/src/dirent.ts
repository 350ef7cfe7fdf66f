import { fileTypeCode } from '@fstools/fstree';
import { EXT4_DIR_ENTRY_HEADER, EXT4_DIR_TAIL_FT, EXT4_DIR_TAIL_SIZE } from './constants.js';
import { ext4Chksum } from './csum.js';

/** One name in a directory. */
export interface DirEntry {
  name: Uint8Array;
  ino: number;
  /** EXT4_FT_*, fstree's fileTypeCode (written only with the filetype feature). */
  fileType: number;
}

/** Bytes a struct ext4_dir_entry_2 with this name takes: 8-byte header + name, 4-byte aligned. */
export function direntSize(nameLen: number): number {
  return (EXT4_DIR_ENTRY_HEADER + nameLen + 3) & ~3;
}

export interface DirBlockFormat {
  blockSize: number;
  /** metadata_csum: each leaf block ends with a 12-byte checksum tail. */
  csum: boolean;
  filetype: boolean;
}

/** Room for entries in a leaf block. */
export function leafSpace(f: DirBlockFormat): number {
  return f.blockSize - (f.csum ? EXT4_DIR_TAIL_SIZE : 0);
}

/** Splits entries, in order, into the fewest blocks that hold them. */
export function packEntries(entries: DirEntry[], space: number): DirEntry[][] {
  const blocks: DirEntry[][] = [];
  let current: DirEntry[] = [];
  let used = 0;
  for (const e of entries) {
    const size = direntSize(e.name.length);
    if (used + size > space) {
      blocks.push(current);
      current = [];
      used = 0;
    }
    current.push(e);
    used += size;
  }
  if (current.length || blocks.length === 0) blocks.push(current);
  return blocks;
}

/** "." and ".." of a directory, first in its first block. */
export function dotEntries(ino: number, parent: number): DirEntry[] {
  return [
    { name: Uint8Array.of(0x2e), ino, fileType: fileTypeCode('dir') },
    { name: Uint8Array.of(0x2e, 0x2e), ino: parent, fileType: fileTypeCode('dir') },
  ];
}

/** Writes one dirent at `off`; returns the offset after it. */
export function writeDirent(dv: DataView, off: number, e: DirEntry, recLen: number, filetype: boolean): number {
  dv.setUint32(off, e.ino, true);
  dv.setUint16(off + 4, recLen, true);
  dv.setUint8(off + 6, e.name.length);
  dv.setUint8(off + 7, filetype ? e.fileType : 0);
  new Uint8Array(dv.buffer, dv.byteOffset + off + EXT4_DIR_ENTRY_HEADER, e.name.length).set(e.name);
  return off + recLen;
}

/**
 * A linear directory block (ext4 docs, "Linear (Classic) Directories"): entries packed, the last
 * one's rec_len running to the end of the space; an empty block is one unused entry spanning it.
 * With metadata_csum a tail (inode 0, rec_len 12, file type 0xDE) holds the checksum, set by
 * setLeafCsum.
 */
export function encodeLeafBlock(entries: DirEntry[], f: DirBlockFormat): Uint8Array {
  const block = new Uint8Array(f.blockSize);
  const dv = new DataView(block.buffer);
  const space = leafSpace(f);
  let off = 0;
  if (entries.length === 0) dv.setUint16(4, space, true);
  entries.forEach((e, i) => {
    const recLen = i === entries.length - 1 ? space - off : direntSize(e.name.length);
    off = writeDirent(dv, off, e, recLen, f.filetype);
  });
  if (f.csum) {
    dv.setUint16(space + 4, EXT4_DIR_TAIL_SIZE, true);
    dv.setUint8(space + 7, EXT4_DIR_TAIL_FT);
  }
  return block;
}

/** det_checksum: crc32c(inode seed, block up to the tail). */
export function setLeafCsum(block: Uint8Array, inodeSeed: number): void {
  const space = block.length - EXT4_DIR_TAIL_SIZE;
  new DataView(block.buffer, block.byteOffset).setUint32(space + 8, ext4Chksum(inodeSeed, block.subarray(0, space)), true);
}
