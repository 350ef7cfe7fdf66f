import type { ByteString } from './bytestring.js';
import { bytesOf } from './bytestring.js';
import { splitTime } from './model.js';

/** Tar header blocks (POSIX.1-2001 ustar + pax, GNU extensions) encoded and decoded. */
export const BLOCK = 512;

export type TarEntryType = 'file' | 'hardlink' | 'symlink' | 'chr' | 'blk' | 'dir' | 'fifo';

/** One archive member's metadata after long-name and pax records are applied. */
export interface TarHeader {
  path: ByteString;
  type: TarEntryType;
  /** Permission bits (0o7777). */
  mode: number;
  uid: number;
  gid: number;
  /** ns since the epoch. */
  mtime: bigint;
  size: number;
  linkname: ByteString;
  major: number;
  minor: number;
  xattrs: Map<string, Uint8Array>;
}

/** The fields of one 512-byte header block as stored. */
export interface RawHeader {
  name: ByteString;
  mode: number;
  uid: number;
  gid: number;
  size: number;
  /** Seconds since the epoch. */
  mtime: number;
  typeflag: string;
  linkname: ByteString;
  major: number;
  minor: number;
}

function field(b: Buffer, off: number, len: number): ByteString {
  if (b[off] === 0) return '';
  const end = b.indexOf(0, off);
  return b.toString('latin1', off, end < 0 || end > off + len ? off + len : end);
}

/**
 * A numeric field: octal digits (leading spaces or NULs, ending at a space or NUL), or GNU
 * base-256 when the high bit of the first byte is set. Fields are at most 12 bytes, so octal ones
 * are exact as numbers; a base-256 value beyond 2^53 is refused.
 */
function numeric(b: Buffer, off: number, len: number): number {
  if (b[off]! & 0x80) {
    let v = BigInt(b[off]! & 0x7f);
    const negative = b[off] === 0xff;
    for (let i = 1; i < len; i++) v = (v << 8n) | BigInt(b[i + off]!);
    const n = Number(negative ? v - (1n << BigInt(8 * len - 1)) : v);
    if (!Number.isSafeInteger(n)) throw new Error('base-256 numeric field out of range');
    return n;
  }
  let i = off;
  const end = off + len;
  while (i < end && (b[i] === 0x20 || b[i] === 0)) i++;
  let v = 0;
  for (; i < end && b[i] !== 0x20 && b[i] !== 0; i++) {
    const d = b[i]! - 0x30;
    if (d < 0 || d > 7) throw new Error(`bad numeric field '${field(b, off, len).trim()}'`);
    v = v * 8 + d;
  }
  for (; i < end; i++) if (b[i] !== 0x20 && b[i] !== 0) throw new Error(`bad numeric field '${field(b, off, len).trim()}'`);
  return v;
}

const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** Header checksum as unsigned and (old tars) signed byte sums, the checksum field counted as spaces. */
function checksumOf(block: Buffer): { unsigned: number; signed: () => number } {
  let unsigned = 8 * 0x20;
  for (let i = 0; i < 148; i++) unsigned += block[i]!;
  for (let i = 156; i < BLOCK; i++) unsigned += block[i]!;
  const signed = (): number => {
    let s = 8 * 0x20;
    for (let i = 0; i < BLOCK; i++) if (i < 148 || i >= 156) s += block[i]! > 127 ? block[i]! - 256 : block[i]!;
    return s;
  };
  return { unsigned, signed };
}

/** Decodes a header block; undefined for an all-zero block (end of archive). Throws on a bad checksum. */
export function decodeRawHeader(block: Buffer): RawHeader | undefined {
  if (block.equals(ZERO_BLOCK)) return undefined;
  const sum = checksumOf(block);
  let stored: number;
  try {
    stored = numeric(block, 148, 8);
  } catch {
    stored = -1;
  }
  if (stored !== sum.unsigned && stored !== sum.signed()) throw new Error('bad header checksum (not a tar archive, or corrupt)');
  const magic = block.toString('latin1', 257, 263);
  let name = field(block, 0, 100);
  // POSIX ustar: a prefix field joins the name (GNU stores other data there).
  if (magic === 'ustar\0' && block[345] !== 0) name = field(block, 345, 155) + '/' + name;
  let typeflag = block[156] === 0 ? '0' : String.fromCharCode(block[156]!);
  // Pre-POSIX archives mark directories by a trailing slash only.
  if (typeflag === '0' && name.endsWith('/')) typeflag = '5';
  return {
    name,
    mode: numeric(block, 100, 8) & 0o7777,
    uid: numeric(block, 108, 8),
    gid: numeric(block, 116, 8),
    size: numeric(block, 124, 12),
    mtime: numeric(block, 136, 12),
    typeflag,
    linkname: field(block, 157, 100),
    major: numeric(block, 329, 8),
    minor: numeric(block, 337, 8),
  };
}

/** Pax records "<len> <key>=<value>\n": keys as text, values as raw bytes. */
export function parsePax(buf: Buffer): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  let pos = 0;
  while (pos < buf.length) {
    if (buf[pos] === 0) break; // NUL padding after the last record
    const space = buf.indexOf(0x20, pos);
    const len = space < 0 ? NaN : Number(buf.toString('latin1', pos, space));
    if (!Number.isInteger(len) || len <= space - pos + 1 || pos + len > buf.length || buf[pos + len - 1] !== 0x0a) {
      throw new Error(`malformed pax record at byte ${pos}`);
    }
    const end = pos + len - 1; // the newline
    const eq = buf.indexOf(0x3d, space + 1);
    if (eq < 0 || eq >= end) throw new Error(`malformed pax record at byte ${pos}`);
    out.set(buf.toString('utf8', space + 1, eq), buf.subarray(eq + 1, end));
    pos += len;
  }
  return out;
}

/** Pax time "sec[.frac]" to ns. */
export function parsePaxTime(text: string): bigint {
  const m = /^(-?)(\d+)(?:\.(\d*))?$/.exec(text);
  if (!m) throw new Error(`bad pax time '${text}'`);
  const ns = BigInt(m[2]!) * 1_000_000_000n + BigInt((m[3] ?? '').padEnd(9, '0').slice(0, 9));
  return m[1] ? -ns : ns;
}

export function formatPaxTime(ns: bigint): string {
  const neg = ns < 0n;
  const abs = neg ? -ns : ns;
  const sec = abs / 1_000_000_000n;
  const frac = (abs % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return (neg ? '-' : '') + sec.toString() + (frac ? '.' + frac : '');
}

function paxRecord(key: string, value: Buffer): Buffer {
  const body = Buffer.concat([Buffer.from(` ${key}=`, 'utf8'), value, Buffer.from('\n')]);
  // The length prefix counts its own digits.
  let len = body.length + 1;
  while (String(len).length + body.length !== len) len = String(len).length + body.length;
  return Buffer.concat([Buffer.from(String(len), 'latin1'), body]);
}

const typeflags: Record<TarEntryType, string> = { file: '0', hardlink: '1', symlink: '2', chr: '3', blk: '4', dir: '5', fifo: '6' };

export function typeOfFlag(flag: string): TarEntryType | undefined {
  return (Object.keys(typeflags) as TarEntryType[]).find((t) => typeflags[t] === flag);
}

function putOctal(b: Buffer, off: number, len: number, v: number | bigint): boolean {
  const text = BigInt(v).toString(8);
  if (BigInt(v) < 0n || text.length > len - 1) return false;
  b.write(text.padStart(len - 1, '0'), off, 'latin1');
  return true;
}

/** Splits a path into ustar prefix and name fields, or undefined when it does not fit. */
function ustarSplit(path: Buffer): { prefix: Buffer; name: Buffer } | undefined {
  if (path.length <= 100) return { prefix: Buffer.alloc(0), name: path };
  for (let i = path.length - 1; i > 0; i--) {
    if (path[i] === 0x2f && i <= 155 && path.length - i - 1 <= 100 && path.length - i - 1 > 0) {
      return { prefix: path.subarray(0, i), name: path.subarray(i + 1) };
    }
  }
  return undefined;
}

/**
 * Header blocks for one member: a pax 'x' header first whenever a field does not fit ustar
 * (long names, big ids or sizes, ns mtimes, xattrs as SCHILY.xattr.*), then the ustar block.
 */
export function encodeHeader(h: TarHeader): Buffer {
  const pax: Buffer[] = [];
  const block = Buffer.alloc(BLOCK);
  const path = bytesOf(h.type === 'dir' && !h.path.endsWith('/') ? h.path + '/' : h.path);
  const split = ustarSplit(path);
  if (split) {
    split.name.copy(block, 0);
    split.prefix.copy(block, 345);
  } else {
    pax.push(paxRecord('path', path));
    path.subarray(0, 100).copy(block, 0);
  }
  putOctal(block, 100, 8, h.mode & 0o7777);
  if (!putOctal(block, 108, 8, h.uid)) pax.push(paxRecord('uid', Buffer.from(String(h.uid))));
  if (!putOctal(block, 116, 8, h.gid)) pax.push(paxRecord('gid', Buffer.from(String(h.gid))));
  const size = h.type === 'file' ? h.size : 0;
  if (!putOctal(block, 124, 12, size)) pax.push(paxRecord('size', Buffer.from(String(size))));
  const { sec, nsec } = splitTime(h.mtime);
  if (!putOctal(block, 136, 12, sec > 0n ? sec : 0n) || nsec !== 0 || sec < 0n) pax.push(paxRecord('mtime', Buffer.from(formatPaxTime(h.mtime))));
  block[156] = typeflags[h.type].charCodeAt(0);
  const link = bytesOf(h.linkname);
  if (link.length > 100) pax.push(paxRecord('linkpath', link));
  link.subarray(0, 100).copy(block, 157);
  block.write('ustar\x0000', 257, 'latin1');
  if (!putOctal(block, 329, 8, h.major)) pax.push(paxRecord('SCHILY.devmajor', Buffer.from(String(h.major))));
  if (!putOctal(block, 337, 8, h.minor)) pax.push(paxRecord('SCHILY.devminor', Buffer.from(String(h.minor))));
  for (const [name, value] of [...h.xattrs].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    pax.push(paxRecord(`SCHILY.xattr.${name}`, Buffer.from(value)));
  }
  finishChecksum(block);
  if (pax.length === 0) return block;
  const body = Buffer.concat(pax);
  const paxHeader = Buffer.alloc(BLOCK);
  Buffer.from('PaxHeaders/' + path.subarray(0, 80).toString('latin1'), 'latin1').copy(paxHeader, 0, 0, 99);
  putOctal(paxHeader, 100, 8, 0o644);
  putOctal(paxHeader, 108, 8, 0);
  putOctal(paxHeader, 116, 8, 0);
  putOctal(paxHeader, 124, 12, body.length);
  putOctal(paxHeader, 136, 12, 0);
  paxHeader[156] = 'x'.charCodeAt(0);
  paxHeader.write('ustar\x0000', 257, 'latin1');
  finishChecksum(paxHeader);
  return Buffer.concat([paxHeader, body, padding(body.length), block]);
}

/** Writes a header block's checksum field from the block's other bytes. */
export function finishChecksum(block: Buffer): void {
  block.write(checksumOf(block).unsigned.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
}

/** Zero bytes that round a member's data up to the next block. */
export function padding(size: number): Buffer {
  return Buffer.alloc((BLOCK - (size % BLOCK)) % BLOCK);
}

/** The two zero blocks that end an archive. */
export function endOfArchive(): Buffer {
  return Buffer.alloc(2 * BLOCK);
}
