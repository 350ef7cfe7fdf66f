import { InputError } from '@fstools/fstree';

/** Byte multipliers of the size suffixes mke2fs knows (parse_num_blocks2): powers of 1024, and s for 512-byte sectors. */
const SUFFIX: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40, p: 2 ** 50, s: 512 };

/**
 * A size in bytes, read as mke2fs reads one: a whole number with an optional K, M, G, T, P or s
 * suffix (any case); a bare number counts `bareUnit` bytes. Anything but a positive safe integer
 * is an InputError naming `what` (the option, e.g. "--chunksize").
 */
export function parseSize(text: string, what: string, bareUnit = 1): number {
  const m = /^(\d+)([kmgtps]?)$/i.exec(text.trim());
  const bytes = m ? Number(m[1]) * (m[2] ? SUFFIX[m[2].toLowerCase()]! : bareUnit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new InputError(what, `'${text}' is not a size (a positive number with an optional K, M, G, T, P or s suffix)`);
  return bytes;
}

/**
 * A whole number written in decimal digits, from `min` to `max` (default: any); anything else is
 * an InputError naming `what` (the option) and quoting the text as typed.
 */
export function parseWhole(text: string, what: string, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  const n = /^\d+$/.test(text) ? Number(text) : NaN;
  if (n >= min && n <= max) return n;
  const range = max < Number.MAX_SAFE_INTEGER ? ` from ${min} to ${max}` : min > 0 ? ` from ${min} up` : '';
  throw new InputError(what, `'${text}' is not a whole number${range}`);
}

/** Whole UNIX seconds written as decimal digits; undefined for any other text. */
export function parseSeconds(text: string): bigint | undefined {
  return /^\d+$/.test(text) ? BigInt(text) : undefined;
}

/**
 * The build time of a reproducible image: the -T value `option` when given, else
 * $SOURCE_DATE_EPOCH from `env` (unset or empty: undefined). A value that is not whole seconds
 * is an InputError naming -T or SOURCE_DATE_EPOCH.
 */
export function buildTime(option: string | undefined, env: NodeJS.ProcessEnv = process.env): bigint | undefined {
  const [what, text] = option !== undefined ? ['-T', option] : ['SOURCE_DATE_EPOCH', env.SOURCE_DATE_EPOCH];
  if (text === undefined || (option === undefined && text === '')) return undefined;
  const seconds = parseSeconds(text);
  if (seconds === undefined) throw new InputError(what, `'${text}' is not a whole number of seconds`);
  return seconds;
}
