import {
  EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER,
  EROFS_FEATURE_INCOMPAT_COMPR_CFGS,
  EROFS_FEATURE_INCOMPAT_ZERO_PADDING,
  EROFS_SUPER_OFFSET,
  EROFS_SUPER_SIZE,
  LZ4_DISTANCE_MAX,
  Z_EROFS_COMPRESSION_DEFLATE,
  Z_EROFS_COMPRESSION_LZ4,
  Z_EROFS_COMPRESSION_LZMA,
  Z_EROFS_COMPRESSION_ZSTD,
} from './constants.js';

/** What the superblock says about an image's compression. */
export interface ComprSuperblock {
  /**
   * The superblock's u1: available_compr_algs (a bitmap of algorithm ids) with COMPR_CFGS,
   * otherwise lz4_max_distance.
   */
  u1: number;
  /** ZERO_PADDING, plus COMPR_CFGS (the same bit as BIG_PCLUSTER) when the records are needed. */
  feature_incompat: number;
  /** The configuration records that follow the superblock (empty without COMPR_CFGS). */
  cfgs: Buffer;
}

export interface ComprConfig {
  /** Z_EROFS_COMPRESSION_*. */
  algorithm: number;
  /** The encoder's history window in bytes (LZMA dictionary, DEFLATE window, zstd window). */
  dictSize: number;
  /** Largest pcluster in blocks (above 1: BIG_PCLUSTER). */
  maxPclusterBlocks: number;
}

/**
 * The superblock side of compression, as the kernel reads it (z_erofs_parse_cfgs): ZERO_PADDING
 * always (compressed bytes end at their pcluster's end, so in-place LZ4 decoding is safe);
 * COMPR_CFGS when the algorithm is not LZ4 or pclusters may exceed a block, since without it the
 * kernel assumes LZ4 with one-block pclusters and takes lz4_max_distance from u1. With it, u1 is
 * the algorithm bitmap and one record per algorithm follows the superblock, 4-byte aligned, as
 * `le16 size` then the struct: z_erofs_lz4_cfgs (max_distance, max_pclusterblks),
 * z_erofs_lzma_cfgs (dict_size, format 0), z_erofs_deflate_cfgs (windowbits) or
 * z_erofs_zstd_cfgs (format 0, windowlog - 10).
 */
export function comprSuperblock(c: ComprConfig): ComprSuperblock {
  const bigPcluster = c.maxPclusterBlocks > 1;
  let feature_incompat = EROFS_FEATURE_INCOMPAT_ZERO_PADDING;
  if (bigPcluster) feature_incompat |= EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER;
  if (c.algorithm === Z_EROFS_COMPRESSION_LZ4 && !bigPcluster) return { u1: LZ4_DISTANCE_MAX, feature_incompat, cfgs: Buffer.alloc(0) };
  feature_incompat |= EROFS_FEATURE_INCOMPAT_COMPR_CFGS;
  let record: Buffer;
  switch (c.algorithm) {
    case Z_EROFS_COMPRESSION_LZ4:
      record = Buffer.alloc(14);
      record.writeUInt16LE(LZ4_DISTANCE_MAX, 0);
      record.writeUInt16LE(c.maxPclusterBlocks, 2);
      break;
    case Z_EROFS_COMPRESSION_LZMA:
      record = Buffer.alloc(14);
      record.writeUInt32LE(c.dictSize, 0);
      break;
    case Z_EROFS_COMPRESSION_DEFLATE:
      record = Buffer.alloc(6);
      record.writeUInt8(Math.log2(c.dictSize), 0);
      break;
    case Z_EROFS_COMPRESSION_ZSTD:
      record = Buffer.alloc(6);
      record.writeUInt8(Math.log2(c.dictSize) - 10, 1);
      break;
    default:
      throw new Error(`unknown compression algorithm ${c.algorithm}`);
  }
  // One algorithm: its record starts right after the superblock (already 4-byte aligned).
  const cfgs = Buffer.alloc(2 + record.length);
  cfgs.writeUInt16LE(record.length, 0);
  record.copy(cfgs, 2);
  return { u1: 1 << c.algorithm, feature_incompat, cfgs };
}

/** Where the configuration records start in the image. */
export const COMPR_CFGS_OFFSET = EROFS_SUPER_OFFSET + EROFS_SUPER_SIZE;
