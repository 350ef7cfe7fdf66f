/**
 * Zstandard (RFC 8878) frames through node:zlib's zstd (Node >= 22.15, zstd 1.5.x): the decoder,
 * and a fixed-output encoder ("compress as much of this input as fits in N bytes").
 *
 * What the kernel reads (fs/erofs/decompressor_zstd.c): one frame per pcluster, decoded by a
 * streaming decoder whose buffers are sized for the largest window any mounted image declares: the
 * superblock's zstd configuration (struct z_erofs_zstd_cfgs) holds windowlog = log2(window) - 10,
 * at most 10 (Z_EROFS_ZSTD_MAX_DICT_SIZE, 1 MiB). A frame ending before the pcluster's decoded
 * size is an error; decoding more than needed is fine. So the writer puts the encoder's
 * `windowLog - 10` there: zstd never makes a frame whose window is larger than windowLog (a
 * frame of a smaller input is single-segment, its window its content size).
 *
 * zstd has no fixed-output mode either (erofs-utils' libzstd compressor notes it): the encoder
 * searches for the longest prefix whose frame fits, as erofs-utils does, from the ratio the
 * previous call saw, narrowing by the ratio of each try or by halves until a frame is within
 * 1/1024 of the capacity. Each try is a whole compression (zstdCompressSync) of the prefix.
 */
import * as zlib from 'node:zlib';
import { checkInt, type CompressedPrefix } from './result.js';

/** Why a zstd frame could not be made or decoded. */
export class ZstdError extends Error {}

/** zstd's default level. mkfs.erofs 1.8 passes -1 when -zzstd names no level (its "default" level is unset, so zstd's fast level -1). */
export const ZSTD_DEFAULT_LEVEL = 3;
export const ZSTD_MAX_LEVEL = 22;
/** zstd's lowest (fastest) level, ZSTD_minCLevel(). */
export const ZSTD_MIN_LEVEL = -(1 << 17);
/** The smallest window zstd knows (ZSTD_WINDOWLOG_ABSOLUTEMIN), the offset of EROFS's windowlog field. */
export const ZSTD_WINDOWLOG_MIN = 10;
/** The largest window EROFS allows: Z_EROFS_ZSTD_MAX_DICT_SIZE, 1 MiB. */
export const ZSTD_WINDOWLOG_MAX = 20;
/** erofs-utils' default window for 4 KiB pclusters: 8 pclusters (its dict_size, pclustersize_max << 3), 32 KiB. */
export const ZSTD_DEFAULT_WINDOWLOG = 15;

type ZlibWithZstd = typeof zlib & {
  zstdCompressSync?: (buf: Uint8Array, options: object) => Buffer;
  zstdDecompressSync?: (buf: Uint8Array, options: object) => Buffer;
  constants: Record<string, number>;
};
const z = zlib as ZlibWithZstd;

function need(fn: 'zstdCompressSync' | 'zstdDecompressSync'): NonNullable<ZlibWithZstd[typeof fn]> {
  const f = z[fn];
  if (!f) throw new ZstdError(`zstd needs node:zlib's ${fn} (Node >= 22.15), this is Node ${process.versions.node}`);
  return f;
}

/** Whether this Node's zlib has zstd. */
export const zstdAvailable = typeof z.zstdCompressSync === 'function' && typeof z.zstdDecompressSync === 'function';

/**
 * Decodes a zstd frame; more than `maxOutputLength` bytes of output is an error (a pcluster may
 * decode to more than the extent needs: take the prefix).
 */
export function zstdDecompress(src: Uint8Array, maxOutputLength: number): Uint8Array {
  const decompress = need('zstdDecompressSync');
  try {
    const out = decompress(src, { maxOutputLength });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new ZstdError(err instanceof Error ? err.message : String(err));
  }
}

/** zstd's ZSTD_COMPRESSBOUND: the largest frame `n` bytes can take. */
export function zstdCompressBound(n: number): number {
  return n + (n >>> 8) + (n < 128 << 10 ? ((128 << 10) - n) >>> 11 : 0);
}

/** Options of a zstd encoder. */
export interface ZstdOptions {
  /** log2 of the window, ZSTD_WINDOWLOG_MIN..ZSTD_WINDOWLOG_MAX (default 15); EROFS's windowlog is this - 10. */
  windowLog?: number;
}

/**
 * A fixed-output zstd encoder at one level (ZSTD_MIN_LEVEL..22) and window. It remembers the
 * ratio of its last call as the first guess for the next, so keep one per stream of pclusters.
 */
export class ZstdEncoder {
  readonly level: number;
  readonly windowLog: number;
  private readonly options: object;
  private ratio = 0;
  /** The frame of no input. */
  private empty: Uint8Array | undefined;

  constructor(level: number = ZSTD_DEFAULT_LEVEL, options: ZstdOptions = {}) {
    checkInt('zstd level', level, ZSTD_MIN_LEVEL, ZSTD_MAX_LEVEL);
    const windowLog = options.windowLog ?? ZSTD_DEFAULT_WINDOWLOG;
    checkInt('zstd windowLog', windowLog, ZSTD_WINDOWLOG_MIN, ZSTD_WINDOWLOG_MAX);
    this.level = level;
    this.windowLog = windowLog;
    const c = z.constants;
    const params: Record<number, number> = {
      [c.ZSTD_c_compressionLevel!]: level,
      [c.ZSTD_c_windowLog!]: windowLog,
      [c.ZSTD_c_checksumFlag!]: 0,
      [c.ZSTD_c_contentSizeFlag!]: 1,
    };
    // node:zlib takes a level of -1 for "the default" (3). Every negative level is zstd's fast
    // strategy with targetLength -level (ZSTD_getCParams), so -1 is -2 with targetLength 1.
    if (level === -1) {
      params[c.ZSTD_c_compressionLevel!] = -2;
      params[c.ZSTD_c_targetLength!] = 1;
    }
    this.options = { params };
  }

  private compress(src: Uint8Array, m: number): Uint8Array {
    const out = need('zstdCompressSync')(src.subarray(0, m), this.options);
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  }

  /**
   * Compresses the longest prefix of `src` it finds whose zstd frame fits in `dstCapacity` bytes:
   * returns the frame (one, with the content size, no checksum) and how many input bytes it holds.
   * The search stops once a frame is within 1/1024 of the capacity. A capacity too small for any
   * frame (about 9 bytes) holds nothing.
   */
  compressDestSize(src: Uint8Array, dstCapacity: number): CompressedPrefix {
    checkInt('dstCapacity', dstCapacity, 0, 0x7fffffff);
    const cap = dstCapacity;
    const n = src.length;
    let best: CompressedPrefix = { consumed: 0, data: new Uint8Array(0) };
    const empty = (this.empty ??= this.compress(src, 0));
    if (empty.length <= cap) best = { consumed: 0, data: empty.slice() };
    if (n === 0 || empty.length >= cap) return best;
    let lo = 0; // the longest prefix known to fit
    let hi = n + 1; // the shortest known not to
    // Done within 1/1024 of the capacity (4 bytes of 4 KiB: +0.04% blocks on the Python stdlib,
    // a tenth fewer tries than erofs-utils' 1 byte).
    const slack = Math.max(1, cap >>> 10);
    let m = cap >= zstdCompressBound(n) ? n : Math.round(cap * (this.ratio || 4));
    for (;;) {
      m = Math.min(hi - 1, Math.max(lo + 1, m));
      const data = this.compress(src, m);
      if (data.length <= cap) {
        lo = m;
        best = { consumed: m, data };
        if (hi <= lo + 1 || data.length + slack >= cap) break;
        m = Math.floor((cap * m) / data.length);
      } else {
        hi = m;
        if (hi <= lo + 1) break;
        // Aim a little under what this try's ratio says fits, inside the range, else halve it.
        const guess = Math.floor((m * (cap - slack - 1)) / data.length);
        m = guess > lo && guess < hi ? guess : (lo + hi) >>> 1;
      }
    }
    if (best.consumed > 0) this.ratio = best.consumed / best.data.length;
    return best;
  }
}

const shared = new Map<string, ZstdEncoder>();

/**
 * Compresses as much of `src` as fits in `dstCapacity` bytes into one zstd frame at `level` with a
 * 2^windowLog window: the frame (at most dstCapacity bytes) and how many bytes of `src` it holds.
 * One encoder per level and window is kept and reused.
 */
export function zstdCompressDestSize(src: Uint8Array, dstCapacity: number, level: number = ZSTD_DEFAULT_LEVEL, options: ZstdOptions = {}): CompressedPrefix {
  const key = `${level}/${options.windowLog ?? ZSTD_DEFAULT_WINDOWLOG}`;
  let enc = shared.get(key);
  if (!enc) shared.set(key, (enc = new ZstdEncoder(level, options)));
  return enc.compressDestSize(src, dstCapacity);
}
