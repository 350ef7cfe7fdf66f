import { OptionError } from './errors.js';

const SUFFIX: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50, s: 512 };

/**
 * A size as mke2fs reads it (parse_num_blocks2): a number with an optional K, M, G, T (powers of
 * 1024) or s (512-byte sectors) suffix, in bytes; a bare number counts `bareUnit` bytes (KiB, or
 * blocks once -b is given).
 */
export function parseSize(text: string, blockSize: number | undefined, bareUnit = blockSize ?? 1024): number {
  const m = /^(\d+)([kmgtps]?)$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * (m[2] ? SUFFIX[m[2].toLowerCase()]! : bareUnit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new OptionError(`invalid size '${text}' (a positive number with an optional K, M, G or T suffix)`);
  return bytes;
}
