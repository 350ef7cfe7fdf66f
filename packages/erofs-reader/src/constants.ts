/**
 * EROFS on-disk constants, named as in the kernel's fs/erofs/erofs_fs.h. This is the reader's own
 * copy: the writer keeps its own, so a wrong value cannot hide in shared code.
 */

export const EROFS_SUPER_MAGIC_V1 = 0xe0f5e1e2;
/** The superblock sits at byte 1024 of the primary device whatever the block size. */
export const EROFS_SUPER_OFFSET = 1024;
/** Base superblock size; sb_extslots adds 16-byte slots. */
export const EROFS_SB_BASE_SIZE = 128;
export const EROFS_SB_EXTSLOT_SIZE = 16;

export const EROFS_FEATURE_COMPAT_SB_CHKSUM = 0x1;
export const EROFS_FEATURE_COMPAT_MTIME = 0x2;
export const EROFS_FEATURE_COMPAT_XATTR_FILTER = 0x4;
export const EROFS_FEATURE_COMPAT_SHARED_EA_IN_METABOX = 0x8;
export const EROFS_FEATURE_COMPAT_PLAIN_XATTR_PFX = 0x10;

export const EROFS_FEATURE_INCOMPAT_ZERO_PADDING = 0x1;
export const EROFS_FEATURE_INCOMPAT_COMPR_CFGS = 0x2;
export const EROFS_FEATURE_INCOMPAT_BIG_PCLUSTER = 0x2;
export const EROFS_FEATURE_INCOMPAT_CHUNKED_FILE = 0x4;
export const EROFS_FEATURE_INCOMPAT_DEVICE_TABLE = 0x8;
export const EROFS_FEATURE_INCOMPAT_COMPR_HEAD2 = 0x8;
export const EROFS_FEATURE_INCOMPAT_ZTAILPACKING = 0x10;
export const EROFS_FEATURE_INCOMPAT_FRAGMENTS = 0x20;
export const EROFS_FEATURE_INCOMPAT_DEDUPE = 0x20;
export const EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES = 0x40;
export const EROFS_FEATURE_INCOMPAT_48BIT = 0x80;
export const EROFS_FEATURE_INCOMPAT_METABOX = 0x100;
/** Incompat features this reader implements; any other bit makes the image unreadable. */
export const READER_FEATURE_INCOMPAT = 0x7f;

/** Device table slot (struct erofs_deviceslot). */
export const EROFS_DEVT_SLOT_SIZE = 128;
export const EROFS_DEVT_TAG_SIZE = 64;

/** i_format: bit 0 version, bits 1-3 data layout; bits above must be 0 (48BIT adds bit 4). */
export const EROFS_I_VERSION_MASK = 0x1;
export const EROFS_I_DATALAYOUT_BIT = 1;
export const EROFS_I_DATALAYOUT_MASK = 0x7;
export const EROFS_I_ALL = 0xf;
export const EROFS_INODE_LAYOUT_COMPACT = 0;
export const EROFS_INODE_LAYOUT_EXTENDED = 1;
export const EROFS_INODE_COMPACT_SIZE = 32;
export const EROFS_INODE_EXTENDED_SIZE = 64;
/** nid = (inode byte offset - meta_blkaddr * block size) / 32 */
export const EROFS_ISLOTBITS = 5;

export const EROFS_INODE_FLAT_PLAIN = 0;
export const EROFS_INODE_COMPRESSED_FULL = 1;
export const EROFS_INODE_FLAT_INLINE = 2;
export const EROFS_INODE_COMPRESSED_COMPACT = 3;
export const EROFS_INODE_CHUNK_BASED = 4;

export const EROFS_CHUNK_FORMAT_BLKBITS_MASK = 0x1f;
export const EROFS_CHUNK_FORMAT_INDEXES = 0x20;
export const EROFS_CHUNK_FORMAT_48BIT = 0x40;
/** Chunk-format bits this reader understands (48BIT is not). */
export const READER_CHUNK_FORMAT_ALL = EROFS_CHUNK_FORMAT_BLKBITS_MASK | EROFS_CHUNK_FORMAT_INDEXES;
export const EROFS_BLOCK_MAP_ENTRY_SIZE = 4;
export const EROFS_CHUNK_INDEX_SIZE = 8;
/** A hole in a block map or chunk index (EROFS_NULL_ADDR, -1 as u32). */
export const EROFS_NULL_ADDR = 0xffffffff;

/** Inline xattr header (struct erofs_xattr_ibody_header) and entry (struct erofs_xattr_entry). */
export const EROFS_XATTR_IBODY_HEADER_SIZE = 12;
export const EROFS_XATTR_ENTRY_SIZE = 4;
export const EROFS_XATTR_INDEX_USER = 1;
export const EROFS_XATTR_INDEX_POSIX_ACL_ACCESS = 2;
export const EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT = 3;
export const EROFS_XATTR_INDEX_TRUSTED = 4;
export const EROFS_XATTR_INDEX_LUSTRE = 5;
export const EROFS_XATTR_INDEX_SECURITY = 6;
/** Short name prefixes by index (the kernel's erofs_xattr_prefix table; lustre is not mapped). */
export const EROFS_XATTR_PREFIXES: ReadonlyMap<number, string> = new Map([
  [EROFS_XATTR_INDEX_USER, 'user.'],
  [EROFS_XATTR_INDEX_POSIX_ACL_ACCESS, 'system.posix_acl_access'],
  [EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT, 'system.posix_acl_default'],
  [EROFS_XATTR_INDEX_TRUSTED, 'trusted.'],
  [EROFS_XATTR_INDEX_SECURITY, 'security.'],
]);
/** Bit 7 of e_name_index: the low bits index the long prefix table. */
export const EROFS_XATTR_LONG_PREFIX = 0x80;
export const EROFS_XATTR_LONG_PREFIX_MASK = 0x7f;
export const EROFS_XATTR_FILTER_BITS = 32;
export const EROFS_XATTR_FILTER_DEFAULT = 0xffffffff;
export const EROFS_XATTR_FILTER_SEED = 0x25bbe08f;

/** struct erofs_dirent: nid u64, nameoff u16, file_type u8, reserved u8. */
export const EROFS_DIRENT_SIZE = 12;
export const EROFS_NAME_LEN = 255;

/** Compression (z_erofs_*). */
export const Z_EROFS_COMPRESSION_LZ4 = 0;
export const Z_EROFS_COMPRESSION_LZMA = 1;
export const Z_EROFS_COMPRESSION_DEFLATE = 2;
export const Z_EROFS_COMPRESSION_ZSTD = 3;
export const Z_EROFS_COMPRESSION_MAX = 4;
export const Z_EROFS_PCLUSTER_MAX_SIZE = 1024 * 1024;
export const Z_EROFS_PCLUSTER_MAX_DSIZE = 12 * 1024 * 1024;
/** struct z_erofs_lzma_cfgs: le32 dict_size, le16 format, 8 reserved bytes. */
export const Z_EROFS_LZMA_CFGS_SIZE = 14;
export const Z_EROFS_LZMA_MIN_DICT_SIZE = 4096;
export const Z_EROFS_LZMA_MAX_DICT_SIZE = 8 * Z_EROFS_PCLUSTER_MAX_SIZE;
export const Z_EROFS_MAP_HEADER_SIZE = 8;
export const Z_EROFS_LCLUSTER_INDEX_SIZE = 8;

export const Z_EROFS_ADVISE_COMPACTED_2B = 0x1;
export const Z_EROFS_ADVISE_EXTENTS = 0x1;
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
export const Z_EROFS_LI_LCLUSTER_TYPE_MASK = 0x3;
export const Z_EROFS_LI_PARTIAL_REF = 1 << 15;
export const Z_EROFS_LI_D0_CBLKCNT = 1 << 11;
