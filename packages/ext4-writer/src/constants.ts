/**
 * On-disk constants, named as in the Linux kernel's fs/ext4/ext4.h, ext4_extents.h, xattr.h,
 * acl.h and include/linux/jbd2.h.
 */

export const EXT4_SUPER_MAGIC = 0xef53;
/** The primary superblock always starts at byte 1024, whatever the block size. */
export const SUPERBLOCK_OFFSET = 1024;
export const SUPERBLOCK_SIZE = 1024;
export const EXT4_MIN_BLOCK_SIZE = 1024;
export const EXT4_GOOD_OLD_INODE_SIZE = 128;
/** sizeof(struct ext4_inode) with every field through i_projid: 128 + i_extra_isize 32. */
export const EXT4_INODE_LARGE_SIZE = 160;
export const EXT4_DYNAMIC_REV = 1;
export const EXT4_OS_LINUX = 0;
export const EXT4_VALID_FS = 0x0001;
export const EXT4_ERRORS_CONTINUE = 1;
export const EXT4_FLAGS_SIGNED_HASH = 0x0001;
export const EXT4_DEFM_XATTR_USER = 0x0004;
export const EXT4_DEFM_ACL = 0x0008;
export const EXT4_CRC32C_CHKSUM = 1;
export const EXT4_DESC_SIZE_64BIT = 64;
export const EXT4_DESC_SIZE = 32;
/** s_jnl_backup_type: s_jnl_blocks holds a copy of the journal inode's i_block, i_size_high, i_size. */
export const EXT3_JNL_BACKUP_BLOCKS = 1;

// Reserved inode numbers.
export const EXT4_BAD_INO = 1;
export const EXT4_ROOT_INO = 2;
export const EXT4_RESIZE_INO = 7;
export const EXT4_JOURNAL_INO = 8;
export const EXT4_GOOD_OLD_FIRST_INO = 11;

// s_feature_compat
export const EXT4_FEATURE_COMPAT_HAS_JOURNAL = 0x0004;
export const EXT4_FEATURE_COMPAT_EXT_ATTR = 0x0008;
export const EXT4_FEATURE_COMPAT_RESIZE_INODE = 0x0010;
export const EXT4_FEATURE_COMPAT_DIR_INDEX = 0x0020;
// s_feature_incompat
export const EXT4_FEATURE_INCOMPAT_FILETYPE = 0x0002;
export const EXT4_FEATURE_INCOMPAT_META_BG = 0x0010;
export const EXT4_FEATURE_INCOMPAT_EXTENTS = 0x0040;
export const EXT4_FEATURE_INCOMPAT_64BIT = 0x0080;
export const EXT4_FEATURE_INCOMPAT_FLEX_BG = 0x0200;
export const EXT4_FEATURE_INCOMPAT_CSUM_SEED = 0x2000;
// s_feature_ro_compat
export const EXT4_FEATURE_RO_COMPAT_SPARSE_SUPER = 0x0001;
export const EXT4_FEATURE_RO_COMPAT_LARGE_FILE = 0x0002;
export const EXT4_FEATURE_RO_COMPAT_HUGE_FILE = 0x0008;
export const EXT4_FEATURE_RO_COMPAT_DIR_NLINK = 0x0020;
export const EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE = 0x0040;
export const EXT4_FEATURE_RO_COMPAT_METADATA_CSUM = 0x0400;

// bg_flags
export const EXT4_BG_INODE_UNINIT = 0x0001;
export const EXT4_BG_BLOCK_UNINIT = 0x0002;
export const EXT4_BG_INODE_ZEROED = 0x0004;

// i_flags
export const EXT4_INDEX_FL = 0x00001000;
export const EXT4_EXTENTS_FL = 0x00080000;

/** i_block holds 15 32-bit words (60 bytes): block map, extent root, fast symlink or device. */
export const EXT4_N_BLOCKS = 15;
export const EXT4_NDIR_BLOCKS = 12;
export const EXT4_IND_BLOCK = 12;
export const EXT4_DIND_BLOCK = 13;
/** A symlink target shorter than this lives in i_block ("fast symlink"). */
export const EXT4_FAST_SYMLINK_MAX = EXT4_N_BLOCKS * 4 - 1;

// Extents (ext4_extents.h).
export const EXT4_EXT_MAGIC = 0xf30a;
export const EXT4_EXT_HEADER_SIZE = 12;
export const EXT4_EXT_ENTRY_SIZE = 12;
/** Longest initialized extent (ee_len above this marks an unwritten extent). */
export const EXT_INIT_MAX_LEN = 32768;
export const EXT4_MAX_EXTENT_DEPTH = 5;

// Directories.
export const EXT4_DIR_ENTRY_HEADER = 8;
/** struct ext4_dir_entry_tail: a fake 12-byte dirent holding the leaf block checksum. */
export const EXT4_DIR_TAIL_SIZE = 12;
export const EXT4_DIR_TAIL_FT = 0xde;
/** A directory with this many links or more stores i_links_count = 1 (dir_nlink). */
export const EXT4_LINK_MAX = 65000;
export const DX_HASH_HALF_MD4 = 1;
/** struct dx_tail: reserved word + checksum after the dx entries when metadata_csum is on. */
export const EXT4_DX_TAIL_SIZE = 8;

// Extended attributes (fs/ext4/xattr.h).
export const EXT4_XATTR_MAGIC = 0xea020000;
export const EXT4_XATTR_HEADER_SIZE = 32;
export const EXT4_XATTR_ENTRY_SIZE = 16;
export const EXT4_XATTR_REFCOUNT_MAX = 1024;
export const EXT4_XATTR_INDEX_USER = 1;
export const EXT4_XATTR_INDEX_POSIX_ACL_ACCESS = 2;
export const EXT4_XATTR_INDEX_POSIX_ACL_DEFAULT = 3;
export const EXT4_XATTR_INDEX_TRUSTED = 4;
export const EXT4_XATTR_INDEX_SECURITY = 6;

// jbd2 (include/linux/jbd2.h); the journal is big-endian.
export const JBD2_MAGIC_NUMBER = 0xc03b3998;
export const JBD2_SUPERBLOCK_V2 = 4;
export const JBD2_MIN_JOURNAL_BLOCKS = 1024;
export const JBD2_MAX_JOURNAL_BLOCKS = 10240000;
