/** EROFS on-disk constants, named as in the kernel's fs/erofs/erofs_fs.h. */
export const EROFS_SUPER_MAGIC_V1 = 0xe0f5e1e2;
export const EROFS_SUPER_OFFSET = 1024;
export const EROFS_SUPER_SIZE = 128;

export const EROFS_FEATURE_COMPAT_SB_CHKSUM = 0x1;
export const EROFS_FEATURE_COMPAT_MTIME = 0x2;
export const EROFS_FEATURE_COMPAT_XATTR_FILTER = 0x4;

export const EROFS_FEATURE_INCOMPAT_ZERO_PADDING = 0x1;
export const EROFS_FEATURE_INCOMPAT_COMPR_CFGS = 0x2;
export const EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER = 0x2;
export const EROFS_FEATURE_INCOMPAT_CHUNKED_FILE = 0x4;
export const EROFS_FEATURE_INCOMPAT_DEVICE_TABLE = 0x8;
export const EROFS_FEATURE_INCOMPAT_ZTAILPACKING = 0x10;
export const EROFS_FEATURE_INCOMPAT_FRAGMENTS = 0x20;
export const EROFS_FEATURE_INCOMPAT_DEDUPE = 0x20;
export const EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES = 0x40;

export const EROFS_INODE_FLAT_PLAIN = 0;
export const EROFS_INODE_COMPRESSED_FULL = 1;
export const EROFS_INODE_FLAT_INLINE = 2;
export const EROFS_INODE_COMPRESSED_COMPACT = 3;
export const EROFS_INODE_CHUNK_BASED = 4;

export const EROFS_INODE_LAYOUT_COMPACT = 0;
export const EROFS_INODE_LAYOUT_EXTENDED = 1;
export const EROFS_I_DATALAYOUT_BIT = 1;
export const EROFS_INODE_COMPACT_SIZE = 32;
export const EROFS_INODE_EXTENDED_SIZE = 64;
/** nids count 32-byte slots from the start of the metadata area. */
export const EROFS_ISLOTBITS = 5;

export const EROFS_CHUNK_FORMAT_BLKBITS_MASK = 0x1f;
export const EROFS_CHUNK_FORMAT_INDEXES = 0x20;
export const EROFS_BLOCK_MAP_ENTRY_SIZE = 4;
export const EROFS_CHUNK_INDEX_SIZE = 8;
export const EROFS_NULL_ADDR = 0xffffffff;

export const EROFS_XATTR_INDEX_USER = 1;
export const EROFS_XATTR_INDEX_POSIX_ACL_ACCESS = 2;
export const EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT = 3;
export const EROFS_XATTR_INDEX_TRUSTED = 4;
export const EROFS_XATTR_INDEX_SECURITY = 6;
export const EROFS_XATTR_LONG_PREFIX = 0x80;
export const EROFS_XATTR_LONG_PREFIX_MASK = 0x7f;
export const EROFS_XATTR_FILTER_BITS = 32;
export const EROFS_XATTR_FILTER_SEED = 0x25bbe08f;
export const EROFS_XATTR_IBODY_HEADER_SIZE = 12;
export const EROFS_XATTR_ENTRY_SIZE = 4;
/** h_shared_count is a u8. */
export const EROFS_MAX_SHARED_PER_INODE = 255;

export const EROFS_DIRENT_SIZE = 12;
export const EROFS_NAME_LEN = 255;
export const EROFS_DEVT_SLOT_SIZE = 128;
export const EROFS_DEVICE_TAG_SIZE = 64;

/** Largest root nid the 16-bit superblock field can hold. */
export const EROFS_ROOT_NID_MAX = 0xffff;

/** Compression (z_erofs_*): algorithm ids of h_algorithmtype and available_compr_algs bits. */
export const Z_EROFS_COMPRESSION_LZ4 = 0;
export const Z_EROFS_COMPRESSION_LZMA = 1;
export const Z_EROFS_COMPRESSION_DEFLATE = 2;
export const Z_EROFS_COMPRESSION_ZSTD = 3;
/** Largest encoded and decoded size of one pcluster the kernel accepts. */
export const Z_EROFS_PCLUSTER_MAX_SIZE = 1024 * 1024;
export const Z_EROFS_PCLUSTER_MAX_DSIZE = 12 * 1024 * 1024;
export const Z_EROFS_LZMA_MAX_DICT_SIZE = 8 * Z_EROFS_PCLUSTER_MAX_SIZE;
export const Z_EROFS_ZSTD_MAX_DICT_SIZE = Z_EROFS_PCLUSTER_MAX_SIZE;
/** LZ4's history window (superblock lz4_max_distance, z_erofs_lz4_cfgs.max_distance). */
export const LZ4_DISTANCE_MAX = 65535;

export const Z_EROFS_MAP_HEADER_SIZE = 8;
/** struct z_erofs_lcluster_index (full indexes). */
export const Z_EROFS_LCLUSTER_INDEX_SIZE = 8;
/** Full indexes start this far after the 8-aligned inode end: map header plus 8 reserved bytes. */
export const Z_EROFS_LEGACY_MAP_HEADER_SIZE = 16;

export const Z_EROFS_ADVISE_COMPACTED_2B = 0x1;
export const Z_EROFS_ADVISE_BIG_PCLUSTER_1 = 0x2;
export const Z_EROFS_ADVISE_BIG_PCLUSTER_2 = 0x4;
export const Z_EROFS_ADVISE_INLINE_PCLUSTER = 0x8;
export const Z_EROFS_ADVISE_INTERLACED_PCLUSTER = 0x10;
export const Z_EROFS_ADVISE_FRAGMENT_PCLUSTER = 0x20;
/** Bit 7 of h_clusterbits: the whole file lives in the packed inode. */
export const Z_EROFS_FRAGMENT_INODE_BIT = 7;

export const Z_EROFS_LCLUSTER_TYPE_PLAIN = 0;
export const Z_EROFS_LCLUSTER_TYPE_HEAD1 = 1;
export const Z_EROFS_LCLUSTER_TYPE_NONHEAD = 2;
export const Z_EROFS_LCLUSTER_TYPE_HEAD2 = 3;
export const Z_EROFS_LI_PARTIAL_REF = 1 << 15;
export const Z_EROFS_LI_D0_CBLKCNT = 1 << 11;
