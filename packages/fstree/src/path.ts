import type { ByteString } from './bytestring.js';

/** Longest name a directory entry may have in EROFS and ext4. */
export const NAME_MAX = 255;

/**
 * Splits a relative path (byte string) into its components: drops empty and "." parts and a
 * leading "/" only when `allowAbsolute`; returns a reason string instead for "..", absolute
 * paths and names longer than NAME_MAX bytes.
 */
export function splitPath(path: ByteString, allowAbsolute = false): ByteString[] | string {
  if (path.startsWith('/') && !allowAbsolute) return 'absolute path';
  const parts: ByteString[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') return "path contains '..'";
    if (part.length > NAME_MAX) return `name longer than ${NAME_MAX} bytes`;
    parts.push(part);
  }
  if (path.includes('\0')) return 'name contains a NUL byte';
  return parts;
}

/** Joins components back into a canonical relative path ("" is the root). */
export function joinPath(parts: readonly ByteString[]): ByteString {
  return parts.join('/');
}
