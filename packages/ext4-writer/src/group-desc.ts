import { hi32, lo32 } from '@fstools/fstree';
import { ext4Chksum, ext4ChksumU32 } from './csum.js';

/** struct ext4_group_desc, with 64-bit values that the encoder splits into _lo/_hi. */
export interface GroupDesc {
  bg_block_bitmap: number;
  bg_inode_bitmap: number;
  bg_inode_table: number;
  bg_free_blocks_count: number;
  bg_free_inodes_count: number;
  bg_used_dirs_count: number;
  bg_flags: number;
  bg_block_bitmap_csum: number;
  bg_inode_bitmap_csum: number;
  bg_itable_unused: number;
}

/**
 * Writes one descriptor of descSize (32 or 64) bytes at `off` in `out`. With metadata_csum,
 * bg_checksum is the low 16 bits of crc32c(seed, group number, descriptor with bg_checksum zeroed).
 */
export function encodeGroupDesc(out: Uint8Array, off: number, d: GroupDesc, descSize: number, group: number, csumSeed: number | undefined): void {
  const dv = new DataView(out.buffer, out.byteOffset + off, descSize);
  dv.setUint32(0x00, lo32(d.bg_block_bitmap), true);
  dv.setUint32(0x04, lo32(d.bg_inode_bitmap), true);
  dv.setUint32(0x08, lo32(d.bg_inode_table), true);
  dv.setUint16(0x0c, d.bg_free_blocks_count & 0xffff, true);
  dv.setUint16(0x0e, d.bg_free_inodes_count & 0xffff, true);
  dv.setUint16(0x10, d.bg_used_dirs_count & 0xffff, true);
  dv.setUint16(0x12, d.bg_flags, true);
  dv.setUint16(0x18, d.bg_block_bitmap_csum & 0xffff, true);
  dv.setUint16(0x1a, d.bg_inode_bitmap_csum & 0xffff, true);
  dv.setUint16(0x1c, d.bg_itable_unused & 0xffff, true);
  if (descSize >= 64) {
    dv.setUint32(0x20, hi32(d.bg_block_bitmap), true);
    dv.setUint32(0x24, hi32(d.bg_inode_bitmap), true);
    dv.setUint32(0x28, hi32(d.bg_inode_table), true);
    dv.setUint16(0x2c, d.bg_free_blocks_count >>> 16, true);
    dv.setUint16(0x2e, d.bg_free_inodes_count >>> 16, true);
    dv.setUint16(0x30, d.bg_used_dirs_count >>> 16, true);
    dv.setUint16(0x32, d.bg_itable_unused >>> 16, true);
    dv.setUint16(0x38, d.bg_block_bitmap_csum >>> 16, true);
    dv.setUint16(0x3a, d.bg_inode_bitmap_csum >>> 16, true);
  }
  if (csumSeed !== undefined) {
    const crc = ext4Chksum(ext4ChksumU32(csumSeed, group), out.subarray(off, off + descSize));
    dv.setUint16(0x1e, crc & 0xffff, true);
  }
}
