import { hi32, lo32 } from '@fstools/fstree';
import { SUPERBLOCK_SIZE } from './constants.js';
import { ext4Chksum } from './csum.js';

/** The struct ext4_super_block fields this writer sets (everything else stays zero). */
export interface SuperBlock {
  s_inodes_count: number;
  s_blocks_count: number;
  s_r_blocks_count: number;
  s_free_blocks_count: number;
  s_free_inodes_count: number;
  s_first_data_block: number;
  s_log_block_size: number;
  s_log_cluster_size: number;
  s_blocks_per_group: number;
  s_clusters_per_group: number;
  s_inodes_per_group: number;
  s_wtime: number;
  s_max_mnt_count: number;
  s_magic: number;
  s_state: number;
  s_errors: number;
  s_lastcheck: number;
  s_creator_os: number;
  s_rev_level: number;
  s_first_ino: number;
  s_inode_size: number;
  s_block_group_nr: number;
  s_feature_compat: number;
  s_feature_incompat: number;
  s_feature_ro_compat: number;
  s_uuid: Uint8Array;
  s_volume_name: Uint8Array;
  s_reserved_gdt_blocks: number;
  s_journal_inum: number;
  /** Four 32-bit words of the directory hash seed. */
  s_hash_seed: Uint8Array;
  s_def_hash_version: number;
  s_jnl_backup_type: number;
  s_desc_size: number;
  s_default_mount_opts: number;
  s_first_meta_bg: number;
  s_mkfs_time: number;
  /** i_block (15 words), i_size_high, i_size of the journal inode. */
  s_jnl_blocks: Uint32Array;
  s_min_extra_isize: number;
  s_want_extra_isize: number;
  s_flags: number;
  s_log_groups_per_flex: number;
  s_checksum_type: number;
  s_kbytes_written: number;
  s_overhead_clusters: number;
  s_checksum_seed: number;
}

/** Splits a 64-bit count into the _lo field and its _hi field. */
function lohi(dv: DataView, lo: number, hi: number, value: number): void {
  dv.setUint32(lo, lo32(value), true);
  dv.setUint32(hi, hi32(value), true);
}

/**
 * The 1024-byte superblock (ext4 docs, "Super Block"). s_checksum (offset 0x3FC) is crc32c of the
 * bytes before it when metadata_csum is on.
 */
export function encodeSuperBlock(sb: SuperBlock, metadataCsum: boolean): Uint8Array {
  const b = new Uint8Array(SUPERBLOCK_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(0x00, sb.s_inodes_count, true);
  lohi(dv, 0x04, 0x150, sb.s_blocks_count);
  lohi(dv, 0x08, 0x154, sb.s_r_blocks_count);
  lohi(dv, 0x0c, 0x158, sb.s_free_blocks_count);
  dv.setUint32(0x10, sb.s_free_inodes_count, true);
  dv.setUint32(0x14, sb.s_first_data_block, true);
  dv.setUint32(0x18, sb.s_log_block_size, true);
  dv.setUint32(0x1c, sb.s_log_cluster_size, true);
  dv.setUint32(0x20, sb.s_blocks_per_group, true);
  dv.setUint32(0x24, sb.s_clusters_per_group, true);
  dv.setUint32(0x28, sb.s_inodes_per_group, true);
  dv.setUint32(0x30, sb.s_wtime, true);
  dv.setInt16(0x36, sb.s_max_mnt_count, true);
  dv.setUint16(0x38, sb.s_magic, true);
  dv.setUint16(0x3a, sb.s_state, true);
  dv.setUint16(0x3c, sb.s_errors, true);
  dv.setUint32(0x40, sb.s_lastcheck, true);
  dv.setUint32(0x48, sb.s_creator_os, true);
  dv.setUint32(0x4c, sb.s_rev_level, true);
  dv.setUint32(0x54, sb.s_first_ino, true);
  dv.setUint16(0x58, sb.s_inode_size, true);
  dv.setUint16(0x5a, sb.s_block_group_nr, true);
  dv.setUint32(0x5c, sb.s_feature_compat, true);
  dv.setUint32(0x60, sb.s_feature_incompat, true);
  dv.setUint32(0x64, sb.s_feature_ro_compat, true);
  b.set(sb.s_uuid, 0x68);
  b.set(sb.s_volume_name.subarray(0, 16), 0x78);
  dv.setUint16(0xce, sb.s_reserved_gdt_blocks, true);
  dv.setUint32(0xe0, sb.s_journal_inum, true);
  b.set(sb.s_hash_seed, 0xec);
  dv.setUint8(0xfc, sb.s_def_hash_version);
  dv.setUint8(0xfd, sb.s_jnl_backup_type);
  dv.setUint16(0xfe, sb.s_desc_size, true);
  dv.setUint32(0x100, sb.s_default_mount_opts, true);
  dv.setUint32(0x104, sb.s_first_meta_bg, true);
  dv.setUint32(0x108, sb.s_mkfs_time, true);
  sb.s_jnl_blocks.forEach((w, i) => dv.setUint32(0x10c + 4 * i, w, true));
  dv.setUint16(0x15c, sb.s_min_extra_isize, true);
  dv.setUint16(0x15e, sb.s_want_extra_isize, true);
  dv.setUint32(0x160, sb.s_flags, true);
  dv.setUint8(0x174, sb.s_log_groups_per_flex);
  dv.setUint8(0x175, sb.s_checksum_type);
  dv.setBigUint64(0x178, BigInt(sb.s_kbytes_written), true);
  dv.setUint32(0x248, sb.s_overhead_clusters, true);
  dv.setUint32(0x270, sb.s_checksum_seed, true);
  if (metadataCsum) dv.setUint32(0x3fc, ext4Chksum(0xffffffff, b.subarray(0, 0x3fc)), true);
  return b;
}
