import { displayName, InputError } from '@fstools/fstree';
import type { TarHeader } from '@fstools/fstree';

/** What one layer may hold: beyond these a layer is refused, not half converted. */
export interface LayerLimits {
  /** Tar members per layer. */
  maxEntries: number;
  /** Bytes of a member's path (Linux PATH_MAX less the NUL). */
  maxPathBytes: number;
  /** Bytes of a symlink target. */
  maxSymlinkBytes: number;
  /** Bytes of one xattr value (EROFS stores the length in 16 bits). */
  maxXattrValueBytes: number;
}

export const DEFAULT_LIMITS: LayerLimits = {
  maxEntries: 2_000_000,
  maxPathBytes: 4095,
  maxSymlinkBytes: 4095,
  maxXattrValueBytes: 65535,
};

/** Longest xattr name EROFS stores (8-bit length after the prefix; the whole name is capped here). */
const XATTR_NAME_MAX = 255;

/** Throws an InputError naming the member when a header is over a limit. */
export function checkLimits(h: TarHeader, count: number, limits: LayerLimits, archive: string): void {
  const bad = (problem: string): InputError => new InputError(archive, `member ${displayName(h.path)}: ${problem}`);
  if (count > limits.maxEntries) throw new InputError(archive, `more than ${limits.maxEntries} entries (entry limit)`);
  if (h.path.length > limits.maxPathBytes) throw bad(`path longer than ${limits.maxPathBytes} bytes (entry limit)`);
  if (h.type === 'symlink' && h.linkname.length > limits.maxSymlinkBytes) throw bad(`symlink target longer than ${limits.maxSymlinkBytes} bytes (entry limit)`);
  for (const [name, value] of h.xattrs) {
    if (Buffer.byteLength(name) > XATTR_NAME_MAX) throw bad(`xattr name longer than ${XATTR_NAME_MAX} bytes (entry limit)`);
    if (value.length > limits.maxXattrValueBytes) throw bad(`xattr ${name} value longer than ${limits.maxXattrValueBytes} bytes (entry limit)`);
  }
}
