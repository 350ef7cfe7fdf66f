import { InputError } from '@fstools/fstree';

/** What kind of problem an ErofsError reports; stable strings for callers and tests. */
export type ErofsErrorCode =
  /** The image or a device file cannot be opened or read, or is shorter than it claims. */
  | 'IO'
  | 'BAD_MAGIC'
  | 'BAD_CHECKSUM'
  /** A well-formed feature or layout this reader does not implement. */
  | 'UNSUPPORTED'
  | 'BAD_SUPERBLOCK'
  | 'BAD_DEVICE_TABLE'
  | 'BAD_INODE'
  | 'BAD_SIZE'
  | 'BAD_DIRENT'
  | 'DIR_ORDER'
  | 'BAD_DOT'
  | 'FILE_TYPE_MISMATCH'
  | 'BAD_NLINK'
  | 'BAD_XATTR'
  | 'XATTR_FILTER'
  | 'BAD_CHUNK'
  | 'BLOCK_OUT_OF_RANGE'
  | 'BAD_COMPRESSION'
  | 'DIR_CYCLE'
  | 'NOT_FOUND'
  | 'NOT_DIR'
  | 'WRONG_TYPE';

/** Where in the image a problem sits; any subset. */
export interface ErofsWhere {
  nid?: number;
  /** Path inside the image (display form). */
  path?: string;
  /** Byte offset on the device the problem was found at. */
  offset?: number;
  /** Device index: 0 primary, N = device-table slot N-1. */
  device?: number;
}

/**
 * Every failure the reader reports: an InputError (one line "<file>: <problem>") with a code and
 * a location. Corrupt images produce only these, never other exceptions.
 */
export class ErofsError extends InputError {
  constructor(
    file: string,
    readonly code: ErofsErrorCode,
    readonly detail: string,
    readonly where: ErofsWhere = {},
  ) {
    super(file, `${detail}${formatWhere(where)}`);
    this.name = 'ErofsError';
  }

  /** A JSON-friendly form for `--json` output. */
  toJSON(): { code: ErofsErrorCode; problem: string } & ErofsWhere {
    return { code: this.code, problem: this.detail, ...this.where };
  }
}

function formatWhere(w: ErofsWhere): string {
  const parts: string[] = [];
  if (w.path !== undefined) parts.push(`path /${w.path.replace(/^\/+/, '')}`);
  if (w.nid !== undefined) parts.push(`nid ${w.nid}`);
  if (w.device) parts.push(`device ${w.device}`);
  if (w.offset !== undefined) parts.push(`offset ${w.offset}`);
  return parts.length ? ` (${parts.join(', ')})` : '';
}

/** Binds an image name so modules can raise errors tersely: `fail('BAD_INODE', 'why', {nid})`. */
export type Fail = (code: ErofsErrorCode, detail: string, where?: ErofsWhere) => never;

export function failer(file: string): Fail {
  return (code, detail, where) => {
    throw new ErofsError(file, code, detail, where);
  };
}
