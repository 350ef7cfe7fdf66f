import { InputError } from '@fstools/fstree';
import {
  EROFS_NAME_LEN,
  EROFS_XATTR_INDEX_POSIX_ACL_ACCESS,
  EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT,
  EROFS_XATTR_INDEX_SECURITY,
  EROFS_XATTR_INDEX_TRUSTED,
  EROFS_XATTR_INDEX_USER,
} from './constants.js';

/** The short name prefixes and their e_name_index. The ACL names are whole names, not prefixes. */
export const shortPrefixes = [
  { prefix: 'user.', index: EROFS_XATTR_INDEX_USER, exact: false },
  { prefix: 'system.posix_acl_access', index: EROFS_XATTR_INDEX_POSIX_ACL_ACCESS, exact: true },
  { prefix: 'system.posix_acl_default', index: EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT, exact: true },
  { prefix: 'trusted.', index: EROFS_XATTR_INDEX_TRUSTED, exact: false },
  { prefix: 'security.', index: EROFS_XATTR_INDEX_SECURITY, exact: false },
] as const;

/** A long xattr name prefix (INCOMPAT_XATTR_PREFIXES): a short prefix index plus an infix. */
export interface LongPrefix {
  /** The whole prefix, e.g. "trusted.overlay.". */
  full: string;
  base_index: number;
  infix: Buffer;
}

export const MAX_LONG_PREFIXES = 0x80;

/** Parses user-given prefixes; each must extend one of the short prefixes. */
export function parseLongPrefixes(prefixes: readonly string[]): LongPrefix[] {
  if (prefixes.length > MAX_LONG_PREFIXES) throw new InputError('--xattr-prefix', `at most ${MAX_LONG_PREFIXES} long prefixes`);
  return prefixes.map((full) => {
    const base = shortPrefixes.find((p) => !p.exact && full.startsWith(p.prefix) && full.length > p.prefix.length);
    if (!base) throw new InputError('--xattr-prefix', `'${full}' does not extend user., trusted. or security.`);
    const infix = Buffer.from(full.slice(base.prefix.length), 'utf8');
    if (infix.length + 1 > EROFS_NAME_LEN) throw new InputError('--xattr-prefix', `'${full}' is too long`);
    return { full, base_index: base.index, infix };
  });
}

/**
 * The long prefix table: per prefix a le16 length, then struct erofs_xattr_long_prefix
 * (base_index, infix); records start 4-byte aligned (fs/erofs/xattr.c erofs_xattr_prefixes_init,
 * which reads it from byte xattr_prefix_start * 4 of the device when there is no packed inode).
 */
export function encodeLongPrefixes(prefixes: readonly LongPrefix[]): Buffer {
  const parts: Buffer[] = [];
  for (const p of prefixes) {
    const len = 1 + p.infix.length;
    const rec = Buffer.alloc((2 + len + 3) & ~3);
    rec.writeUInt16LE(len, 0);
    rec.writeUInt8(p.base_index, 2);
    p.infix.copy(rec, 3);
    parts.push(rec);
  }
  return Buffer.concat(parts);
}
