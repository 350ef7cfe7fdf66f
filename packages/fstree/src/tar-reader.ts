import { ByteReader } from './byte-reader.js';
import { byteString, displayName } from './bytestring.js';
import { InputError } from './errors.js';
import type { RawHeader, TarHeader } from './tar-header.js';
import { BLOCK, decodeRawHeader, parsePax, parsePaxTime, typeOfFlag } from './tar-header.js';

export interface TarEntry extends TarHeader {
  /** Byte offset of the member's first header in the (uncompressed) archive. */
  offset: number;
  /** Byte offset of the member's data in the archive: always a multiple of 512 (headers are whole blocks). */
  dataOffset: number;
  /**
   * The member's data; read it before asking for the next entry, or it is skipped. A piece may be
   * a view of the source's buffer: valid until the next piece is asked for.
   */
  body: AsyncIterable<Buffer>;
}

/** Long names and pax records larger than this are refused (a corrupt size must not allocate GBs). */
const MAX_META = 16 << 20;

/**
 * Streams the members of a tar archive: POSIX ustar and pax (path, linkpath, size, uid, gid,
 * mtime with ns, SCHILY.xattr.*, LIBARCHIVE.xattr.*, SCHILY.devmajor/minor), GNU long names and
 * links, base-256 numbers. Names are byte strings exactly as stored. `archive` names the input
 * in errors.
 */
export async function* readTar(source: AsyncIterable<Uint8Array>, archive: string): AsyncGenerator<TarEntry> {
  const r = new ByteReader(source[Symbol.asyncIterator]());
  let globalPax = new Map<string, Buffer>();
  let pax = new Map<string, Buffer>();
  let longName: Buffer | undefined;
  let longLink: Buffer | undefined;
  let start: number | undefined;
  let dataEnd = 0; // where the previous member's data and padding end
  for (;;) {
    // Synchronous while the current chunk lasts (see ByteReader).
    const unskipped = r.skipBuffered(dataEnd - r.offset);
    if (unskipped > 0) await r.skip(unskipped, () => truncated(archive, r.offset, 'member data'));
    const at = r.offset;
    const block = r.readBuffered(BLOCK) ?? (await r.exact(BLOCK, () => truncated(archive, at, 'header')));
    if (!block) {
      if (start !== undefined) throw truncated(archive, at, 'header');
      return; // an archive without end-of-archive blocks
    }
    const raw = wrap(archive, at, () => decodeRawHeader(block));
    if (!raw) return; // end-of-archive block
    start ??= at;
    if ('xgLK'.includes(raw.typeflag)) {
      const padded = roundUp(raw.size);
      if (raw.size > MAX_META) throw new InputError(archive, `extended header at byte ${at} is too large (${raw.size} bytes)`);
      const block = padded === 0 ? Buffer.alloc(0) : await r.exact(padded, () => truncated(archive, at, 'extended header'));
      if (!block) throw truncated(archive, at, 'extended header');
      const data = Buffer.from(block.subarray(0, raw.size)); // kept past the next read (see ByteReader)
      if (raw.typeflag === 'x') pax = wrap(archive, at, () => parsePax(data));
      else if (raw.typeflag === 'g') globalPax = wrap(archive, at, () => parsePax(data));
      else if (raw.typeflag === 'L') longName = cString(data);
      else longLink = cString(data);
      continue;
    }
    const records = globalPax.size === 0 ? pax : new Map([...globalPax, ...pax]);
    const header = wrap(archive, at, () => toHeader(raw, records, longName, longLink));
    const offset = start;
    if (pax.size > 0) pax = new Map();
    longName = longLink = undefined;
    start = undefined;
    if (header === 'skip') {
      dataEnd = r.offset + roundUp(raw.size);
      continue;
    }
    // The (pax) size says how much data follows; only regular files' data is handed out.
    const padded = roundUp(header.size);
    const dataSize = header.type === 'file' ? header.size : 0;
    if (header.type !== 'file') header.size = 0;
    const dataOffset = r.offset;
    dataEnd = dataOffset + padded;
    let opened = false;
    const body: AsyncIterable<Buffer> = {
      [Symbol.asyncIterator]: () => {
        if (opened) throw new Error(`data of ${displayName(header.path)} read twice`);
        opened = true;
        return r.pieces(dataSize, () => truncated(archive, offset, `data of ${displayName(header.path)}`));
      },
    };
    yield { ...header, offset, dataOffset, body };
  }
}

function roundUp(size: number): number {
  return size + ((BLOCK - (size % BLOCK)) % BLOCK);
}

function cString(b: Buffer): Buffer {
  const nul = b.indexOf(0);
  return nul < 0 ? b : b.subarray(0, nul);
}

function toHeader(raw: RawHeader, pax: Map<string, Buffer>, longName?: Buffer, longLink?: Buffer): TarHeader | 'skip' {
  if (raw.typeflag === 'V') return 'skip'; // GNU volume label
  if (raw.typeflag === 'S' || (pax.size > 0 && [...pax.keys()].some((k) => k.startsWith('GNU.sparse.')))) {
    throw new Error('GNU sparse members are not supported');
  }
  if (raw.typeflag === 'M') throw new Error('multi-volume members are not supported');
  // 'D' is a GNU dump directory; '7' contiguous file; unknown flags read as regular files (POSIX).
  const type = raw.typeflag === 'D' ? 'dir' : (typeOfFlag(raw.typeflag) ?? 'file');
  const text = (key: string): string | undefined => pax.get(key)?.toString('utf8');
  const int = (key: string, fallback: number): number => {
    const v = text(key);
    if (v === undefined) return fallback;
    if (!/^\d+$/.test(v)) throw new Error(`bad pax ${key} '${v}'`);
    return Number(v);
  };
  const xattrs = new Map<string, Uint8Array>();
  for (const [key, value] of pax) {
    if (key.startsWith('SCHILY.xattr.')) xattrs.set(key.slice('SCHILY.xattr.'.length), new Uint8Array(value));
    else if (key.startsWith('LIBARCHIVE.xattr.')) {
      // libarchive: URL-encoded name, base64 value.
      xattrs.set(decodeURIComponent(key.slice('LIBARCHIVE.xattr.'.length)), new Uint8Array(Buffer.from(value.toString('latin1'), 'base64')));
    }
  }
  const path = pax.get('path') ?? longName;
  const link = pax.get('linkpath') ?? longLink;
  const mtime = text('mtime');
  return {
    path: path ? byteString(path) : raw.name,
    type,
    mode: raw.mode,
    uid: int('uid', raw.uid),
    gid: int('gid', raw.gid),
    mtime: mtime !== undefined ? parsePaxTime(mtime) : BigInt(raw.mtime) * 1_000_000_000n,
    size: int('size', raw.size),
    linkname: link ? byteString(link) : raw.linkname,
    major: int('SCHILY.devmajor', raw.major),
    minor: int('SCHILY.devminor', raw.minor),
    xattrs,
  };
}

function wrap<T>(archive: string, at: number, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    throw new InputError(archive, `invalid tar header at byte ${at}: ${(err as Error).message}`);
  }
}

function truncated(archive: string, at: number, what: string): InputError {
  return new InputError(archive, `truncated tar: ${what} (member at byte ${at}) is cut short`);
}

/**
 * A member's whole data as one buffer of its own (pieces are copied as they pass). Memory follows
 * the bytes that actually arrive, never the header's size field: a damaged size ends as a
 * truncated member, not as a huge allocation.
 */
export async function memberBytes(entry: TarEntry): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of entry.body) pieces.push(Buffer.from(piece));
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}
