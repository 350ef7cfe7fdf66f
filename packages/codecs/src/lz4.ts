/**
 * LZ4 raw blocks (the block format, no frame): the decoder EROFS reads pclusters with, and a
 * fixed-output encoder ("compress as much of this input as fits in N bytes", the semantics of
 * liblz4's LZ4_compress_destSize and LZ4_compress_HC_destSize).
 *
 * Block format (lz4_Block_format.md): sequences of a token (literal count in the high nibble,
 * match length - 4 in the low one; 15 means 255-continued extra bytes follow), the literals, a
 * little-endian 16-bit offset (1..65535) and the match length's extra bytes. The last sequence
 * holds literals only. End rules, which decoders that copy in wide words rely on (the kernel's
 * LZ4_decompress_safe and _safe_partial check them against the block's decoded size): the last 5
 * bytes are literals, and the last match starts at least 12 bytes before the end. For a
 * fixed-output block "the end" is the consumed prefix's, so every match the encoder emits keeps
 * room in the output for the literals that must follow it.
 */

import { checkInt, type CompressedPrefix } from './result.js';

/** Why an LZ4 block could not be decoded. */
export class Lz4Error extends Error {}

/**
 * Decodes an LZ4 block (the raw block format, no frame) into at most `outSize` bytes and returns
 * how many were produced. Decoding stops when the output is full, like the kernel's
 * LZ4_decompress_safe_partial, so a block holding more than is needed is fine. Every copy is
 * bounds-checked: malformed input throws Lz4Error, never reads or writes out of range.
 */
export function lz4Decompress(src: Uint8Array, out: Uint8Array): number {
  const outSize = out.length;
  let ip = 0;
  let op = 0;
  while (ip < src.length && op < outSize) {
    const token = src[ip++]!;
    let lit = token >>> 4;
    if (lit === 15) [lit, ip] = extendLength(src, ip, lit);
    if (ip + lit > src.length) throw new Lz4Error(`literal run of ${lit} bytes overruns the input`);
    const litEnd = op + Math.min(lit, outSize - op);
    // Short runs copy faster by hand than through a subarray view.
    if (litEnd - op > 32) {
      out.set(src.subarray(ip, ip + (litEnd - op)), op);
      op = litEnd;
    } else for (let i = ip; op < litEnd; ) out[op++] = src[i++]!;
    ip += lit;
    if (ip === src.length || op === outSize) break; // the last sequence has literals only
    if (ip + 2 > src.length) throw new Lz4Error('match offset truncated');
    const offset = src[ip]! | (src[ip + 1]! << 8);
    ip += 2;
    if (offset === 0 || offset > op) throw new Lz4Error(`match offset ${offset} reaches before the output start`);
    let mlen = (token & 15) + 4;
    if ((token & 15) === 15) [mlen, ip] = extendLength(src, ip, mlen);
    const end = Math.min(op + mlen, outSize);
    // Byte by byte when short or overlapping (offset < length repeats a pattern).
    if (offset >= mlen && mlen > 32) {
      out.copyWithin(op, op - offset, end - offset);
      op = end;
    } else {
      while (op < end) {
        out[op] = out[op - offset]!;
        op++;
      }
    }
  }
  return op;
}

/** Adds the 255-continued extra length bytes at `ip` to `n`; returns [length, next ip]. */
function extendLength(src: Uint8Array, ip: number, n: number): [number, number] {
  let b: number;
  do {
    if (ip >= src.length) throw new Lz4Error('length truncated');
    b = src[ip++]!;
    n += b;
  } while (b === 255);
  return [n, ip];
}

// ---------------------------------------------------------------------------------------------
// Encoder

const MIN_MATCH = 4;
/** The last LAST_LITERALS bytes of a block are literals. */
const LAST_LITERALS = 5;
/** A match starts at least MF_LIMIT bytes before the end of the block. */
const MF_LIMIT = 12;
/** Shorter inputs hold no match at all: literals only. */
const MIN_INPUT = MF_LIMIT + 1;
const MAX_DISTANCE = 65535;

/** The fast level (liblz4's LZ4_compress_destSize, acceleration 1). */
export const LZ4_FAST_LEVEL = 0;
/** lz4hc's default and highest levels. */
export const LZ4HC_DEFAULT_LEVEL = 9;
export const LZ4HC_MAX_LEVEL = 12;

/** The largest block `n` input bytes can need (liblz4's LZ4_COMPRESSBOUND). */
export function lz4CompressBound(n: number): number {
  return n + Math.floor(n / 255) + 16;
}

/** Bytes a run of `n` literals costs besides the token: the extra length bytes and the literals. */
function literalsCost(n: number): number {
  return n < 15 ? n : n + 1 + Math.floor((n - 15) / 255);
}

/** The extra length bytes a match of `len` bytes costs. */
function matchExtra(len: number): number {
  return len < 19 ? 0 : 1 + Math.floor((len - 19) / 255);
}

/** The most literals a final sequence (token, length bytes, literals) can carry in `budget` bytes; -1 if not even the token fits. */
function maxLiterals(budget: number): number {
  if (budget < 1) return -1;
  if (budget <= 15) return budget - 1;
  let n = budget - 2 - Math.floor((budget - 17) / 256);
  while (1 + literalsCost(n) > budget) n--;
  while (1 + literalsCost(n + 1) <= budget) n++;
  return n;
}

/**
 * The longest prefix (at least MIN_MATCH) of a `len`-byte match that fits in `budget` output bytes
 * (what is left after its token, literals and offset) together with the final sequence that must
 * follow it: its token and max(LAST_LITERALS, MF_LIMIT - length) literals, so the last match keeps
 * 12 bytes to the end of the block and 5 literals after it. 0 when none fits.
 */
function fitMatch(budget: number, len: number): number {
  if (len >= MF_LIMIT - LAST_LITERALS) {
    const room = budget - 1 - LAST_LITERALS; // for the match's extra length bytes
    if (room < 0) return 0;
    return matchExtra(len) <= room ? len : 18 + 255 * room;
  }
  return budget >= 1 + MF_LIMIT - len ? len : 0;
}

/** Writes a sequence: `lit` literals from src[anchor], then (if `len` > 0) a match of `len` bytes at `dist` back. */
function putSequence(out: Uint8Array, op: number, src: Uint8Array, anchor: number, lit: number, len: number, dist: number): number {
  const tokenAt = op++;
  let token: number;
  if (lit >= 15) {
    token = 0xf0;
    let r = lit - 15;
    for (; r >= 255; r -= 255) out[op++] = 255;
    out[op++] = r;
  } else token = lit << 4;
  if (lit > 24) {
    out.set(src.subarray(anchor, anchor + lit), op);
    op += lit;
  } else for (let i = anchor, e = anchor + lit; i < e; i++) out[op++] = src[i]!;
  if (len > 0) {
    out[op++] = dist & 0xff;
    out[op++] = dist >>> 8;
    let m = len - MIN_MATCH;
    if (m >= 15) {
      token |= 15;
      for (m -= 15; m >= 255; m -= 255) out[op++] = 255;
      out[op++] = m;
    } else token |= m;
  }
  out[tokenAt] = token;
  return op;
}

/** The four bytes at `i`, little-endian, as a signed 32-bit integer (only compared and hashed). */
function read32(src: Uint8Array, i: number): number {
  return src[i]! | (src[i + 1]! << 8) | (src[i + 2]! << 16) | (src[i + 3]! << 24);
}

const PRIME = 2654435761;

/** A hash of the five bytes at `i` (`seq` holds the first four), as the fast level uses. */
function hash5(src: Uint8Array, i: number, seq: number, shift: number): number {
  return Math.imul(seq ^ Math.imul(src[i + 4]!, 0x9e3779b1), PRIME) >>> shift;
}
const FAST_HASH_LOG = 13;
const HC_HASH_LOG = 15;
/** The fast search steps one byte for this many misses, then two for as many, and so on (liblz4's skip trigger, 6). */
const SKIP_TRIGGER = 6;
/** The optimal parser plans at most this many positions at a time. */
const OPT_NUM = 4096;

/**
 * Per HC level: how many chain candidates a search tries and the match length taken without
 * planning. lz4hc's own levels search 2..256 candidates (1..9), then 96, 512 and 16384 with its
 * optimal parser; this parser finds less per candidate at the low levels, so each level searches
 * as deep as it takes to be as small as lz4hc's same level on the Python stdlib (see
 * docs/BENCHMARKS.md), with level 12 as deep as lz4hc's.
 */
const HC_LEVELS: readonly { attempts: number; sufficient: number }[] = [
  { attempts: 0, sufficient: 0 }, // 0 is the fast level
  { attempts: 8, sufficient: 64 },
  { attempts: 8, sufficient: 64 },
  { attempts: 20, sufficient: 64 },
  { attempts: 32, sufficient: 64 },
  { attempts: 48, sufficient: 64 },
  { attempts: 80, sufficient: 64 },
  { attempts: 96, sufficient: 64 },
  { attempts: 128, sufficient: 64 },
  { attempts: 192, sufficient: 64 },
  { attempts: 256, sufficient: 64 },
  { attempts: 512, sufficient: 128 },
  { attempts: 16384, sufficient: 4096 },
];

/**
 * A reusable LZ4 fixed-output encoder. Level 0 is the fast greedy parse of LZ4_compress_destSize
 * (acceleration 1); 1..12 search hash chains (deeper with the level) and plan with an optimal
 * (price-based) parse. The tables live with the encoder and are reused by every call (stale
 * entries are told apart by a per-call base, not cleared), so a call allocates only its output.
 */
export class Lz4Encoder {
  readonly level: number;
  private readonly attempts: number;
  private readonly sufficient: number;
  /** Hash heads: base + position of the last position with that hash (below 2^31: small integers for V8). */
  private readonly head: Int32Array;
  /** Hash chains (HC levels): distance back to the previous position with the same hash, 0 at the end. */
  private readonly chain: Uint16Array;
  /** Entries below base are from earlier calls. */
  private base = 1;
  /** Positions below this are in the tables (the chains, for HC). */
  private next = 0;
  /** HC: the distance of the match the last search found. */
  private dist = 0;
  private out = new Uint8Array(0);
  // The optimal parser's plan: per position its price, literal run, and the match that reaches it.
  private readonly price: Int32Array;
  private readonly litRun: Int32Array;
  private readonly mlen: Int32Array;
  private readonly mdist: Int32Array;
  private readonly seqs: Int32Array;
  private consumed = 0;

  constructor(level: number = LZ4_FAST_LEVEL) {
    checkInt('LZ4 level', level, 0, LZ4HC_MAX_LEVEL);
    this.level = level;
    const cfg = HC_LEVELS[level]!;
    this.attempts = cfg.attempts;
    this.sufficient = cfg.sufficient;
    const hc = level > LZ4_FAST_LEVEL;
    this.head = new Int32Array(1 << (hc ? HC_HASH_LOG : FAST_HASH_LOG));
    this.chain = new Uint16Array(hc ? 1 << 16 : 0);
    const plan = hc ? OPT_NUM + cfg.sufficient + 2 : 0;
    this.price = new Int32Array(plan);
    this.litRun = new Int32Array(plan);
    this.mlen = new Int32Array(plan);
    this.mdist = new Int32Array(plan);
    this.seqs = new Int32Array(hc ? 3 * (OPT_NUM + 1) : 0);
  }

  /**
   * Compresses the longest prefix of `src` whose LZ4 block fits in `dstCapacity` bytes: returns the
   * block and how many input bytes it holds. With room for the whole input it compresses all of
   * it. A capacity of 0 holds nothing (empty data); of 1, only the empty block.
   */
  compressDestSize(src: Uint8Array, dstCapacity: number): CompressedPrefix {
    checkInt('dstCapacity', dstCapacity, 0, 0x7fffffff);
    if (dstCapacity === 0) return { consumed: 0, data: new Uint8Array(0) };
    // No block holds more than 255 bytes of match per output byte: what lies further is never
    // consumed, and cutting it keeps positions (and the tables' entries) small.
    if (src.length > dstCapacity * 256 + 1024) src = src.subarray(0, dstCapacity * 256 + 1024);
    const cap = Math.min(dstCapacity, lz4CompressBound(src.length));
    if (this.out.length < cap) this.out = new Uint8Array(Math.max(cap, Math.min(2 * this.out.length, 1 << 20)));
    // Past the last call's entries; start over (clear) only when positions would pass 2^31.
    this.base += this.next + 1;
    if (this.base + src.length > 0x7fffffff) {
      this.head.fill(0);
      this.base = 1;
    }
    this.next = 0;
    const op = this.level === LZ4_FAST_LEVEL ? this.fast(src, cap) : this.optimal(src, cap);
    return { consumed: this.consumed, data: this.out.slice(0, op) };
  }

  /** Ends the block: as many literals from `anchor` as fit (at most to the input's end). */
  private finish(src: Uint8Array, cap: number, op: number, anchor: number): number {
    const lit = Math.min(src.length - anchor, maxLiterals(cap - op));
    this.consumed = anchor + lit;
    return putSequence(this.out, op, src, anchor, lit, 0, 0);
  }

  /** The greedy single-probe parse of liblz4's fast compressor, with its accelerating skip over misses. */
  private fast(src: Uint8Array, cap: number): number {
    const out = this.out;
    const table = this.head;
    const base = this.base;
    const n = src.length;
    let op = 0;
    let anchor = 0;
    let ip = 0;
    if (n >= MIN_INPUT) {
      const mflimit = n - MF_LIMIT;
      const matchlimit = n - LAST_LITERALS;
      const shift = 32 - FAST_HASH_LOG;
      table[hash5(src, 0, read32(src, 0), shift)] = base;
      ip = 1;
      search: for (;;) {
        let ref: number;
        let misses = 1 << SKIP_TRIGGER;
        for (;;) {
          if (ip > mflimit) break search;
          const seq = read32(src, ip);
          const h = hash5(src, ip, seq, shift);
          ref = table[h]! - base;
          table[h] = base + ip;
          if (ref >= 0 && ip - ref <= MAX_DISTANCE && read32(src, ref) === seq) break;
          ip += misses++ >>> SKIP_TRIGGER;
        }
        while (ip > anchor && ref > 0 && src[ip - 1] === src[ref - 1]) {
          ip--;
          ref--;
        }
        for (;;) {
          let len = MIN_MATCH;
          const max = matchlimit - ip;
          while (len < max && src[ip + len] === src[ref + len]) len++;
          const lit = ip - anchor;
          const fit = fitMatch(cap - op - 3 - literalsCost(lit), len);
          if (fit === 0) break search;
          op = putSequence(out, op, src, anchor, lit, fit, ip - ref);
          ip += fit;
          anchor = ip;
          if (fit < len || ip > mflimit) break search;
          table[hash5(src, ip - 2, read32(src, ip - 2), shift)] = base + ip - 2;
          // A match right here goes out with no literals before it.
          const seq = read32(src, ip);
          const h = hash5(src, ip, seq, shift);
          ref = table[h]! - base;
          table[h] = base + ip;
          if (!(ref >= 0 && ip - ref <= MAX_DISTANCE && read32(src, ref) === seq)) {
            ip++;
            break;
          }
        }
      }
    }
    this.next = n; // entries of positions up to the search's, which went back in a catch-up
    return this.finish(src, cap, op, anchor);
  }

  /**
   * HC: adds the positions up to `ip` (exclusive) to the hash chains, then returns the longest
   * match at `ip` longer than `atLeast` and at most `maxLen` bytes (MIN_MATCH - 1 if none; the
   * first of `nice` bytes or more ends the search) and leaves its distance in this.dist. Calls must
   * come with nondecreasing `ip`.
   */
  private find(src: Uint8Array, ip: number, maxLen: number, nice: number, atLeast: number): number {
    const head = this.head;
    const chain = this.chain;
    const base = this.base;
    const shift = 32 - HC_HASH_LOG;
    for (let p = this.next; p < ip; p++) {
      const h = Math.imul(read32(src, p), PRIME) >>> shift;
      const d = p - (head[h]! - base);
      chain[p & 0xffff] = d > MAX_DISTANCE ? 0 : d;
      head[h] = base + p;
    }
    this.next = ip;
    if (atLeast >= maxLen) return MIN_MATCH - 1;
    const seq = read32(src, ip);
    // The chain walked is that of position q = candidate + k: after a longer match is found, the
    // sparsest chain among the match's positions (any longer match must also match there).
    let q = head[Math.imul(seq, PRIME) >>> shift]! - base;
    let k = 0;
    let best = atLeast;
    let bestDist = 0;
    const low = Math.max(0, ip - MAX_DISTANCE);
    search: for (let tries = this.attempts; tries > 0; tries--) {
      const ref = q - k;
      if (ref < low) break;
      if (src[ref + best] === src[ip + best] && read32(src, ref) === seq) {
        let len = MIN_MATCH;
        while (len < maxLen && src[ref + len] === src[ip + len]) len++;
        if (len > best) {
          best = len;
          bestDist = ip - ref;
          if (len >= nice || len >= maxLen) break;
          let far = 0;
          let at = 0;
          for (let j = 0, e = Math.min(len - MIN_MATCH, ip - 1 - ref); j <= e; j++) {
            const d = chain[(ref + j) & 0xffff]!;
            if (d === 0) break search; // no earlier position shares these 4 bytes: nothing longer exists
            if (d > far) {
              far = d;
              at = j;
            }
          }
          k = at;
          q = ref + at - far;
          continue;
        }
      }
      const d = chain[q & 0xffff]!;
      if (d === 0) break;
      q -= d;
    }
    this.dist = bestDist;
    return bestDist > 0 ? best : MIN_MATCH - 1;
  }

  /**
   * HC levels: from each position with a match, plans up to OPT_NUM positions ahead by price
   * (output bytes): every position is reached either by one more literal or by a prefix of the
   * longest match found at an earlier planned position (extended back over planned positions where
   * it also matches); the cheapest path to the furthest planned position is emitted. A match of
   * `sufficient` bytes or more is taken without planning. Searching is skipped where the next
   * position already costs no more (inside a planned match), and below the top level only matches
   * reaching past the plan are looked for, as lz4hc's optimal parser does.
   */
  private optimal(src: Uint8Array, cap: number): number {
    const n = src.length;
    const { price, litRun, mlen, mdist, seqs, sufficient } = this;
    const nice = sufficient;
    const full = this.level === LZ4HC_MAX_LEVEL;
    let op = 0;
    let anchor = 0;
    if (n >= MIN_INPUT) {
      const mflimit = n - MF_LIMIT;
      const matchlimit = n - LAST_LITERALS;
      let ip = 0;
      main: while (ip <= mflimit) {
        const len0 = this.find(src, ip, matchlimit - ip, nice, MIN_MATCH - 1);
        if (len0 < MIN_MATCH) {
          ip++;
          continue;
        }
        const start = ip;
        let forcedLen = 0;
        let forcedDist = this.dist;
        let end: number;
        if (len0 >= sufficient) {
          forcedLen = len0;
          end = 0;
        } else {
          // Plan no further than the output left can hold, at the ratio so far.
          const room = cap - op;
          const horizon = op > 0 ? Math.min(OPT_NUM, Math.ceil((room * start) / op) + 64) : OPT_NUM;
          const lit0 = start - anchor;
          price[0] = literalsCost(lit0);
          litRun[0] = lit0;
          mlen[0] = 0;
          for (let i = 1; i < MIN_MATCH; i++) {
            price[i] = 0x7fffffff;
            mlen[i] = 0;
          }
          const d0 = this.dist;
          for (let l = MIN_MATCH; l <= len0; l++) {
            price[l] = price[0] + 3 + matchExtra(l);
            litRun[l] = 0;
            mlen[l] = l;
            mdist[l] = d0;
          }
          let last = len0;
          let cur = 1;
          for (; cur < last; cur++) {
            // One more literal from cur - 1.
            const prevRun = litRun[cur - 1]!;
            const lp = price[cur - 1]! + literalsCost(prevRun + 1) - literalsCost(prevRun);
            if (lp < price[cur]!) {
              price[cur] = lp;
              litRun[cur] = prevRun + 1;
              mlen[cur] = 0;
            }
            if (cur >= horizon) break;
            const pos = start + cur;
            if (pos > mflimit) continue;
            // Inside a planned match the next position costs no more: a search here rarely pays.
            if (price[cur + 1]! <= price[cur]! && (!full || (cur + MIN_MATCH <= last && price[cur + MIN_MATCH]! < price[cur]! + 3))) continue;
            // Below the top level only matches reaching past the plan are looked for.
            const len = this.find(src, pos, matchlimit - pos, nice, full ? MIN_MATCH - 1 : last - cur);
            if (len < MIN_MATCH) continue;
            if (len >= sufficient) {
              forcedLen = len;
              forcedDist = this.dist;
              break;
            }
            const d = this.dist;
            // The match may start earlier, over planned positions: it then reaches the ones
            // after cur from there.
            let back = 0;
            while (back < cur && pos - back - 1 - d >= 0 && src[pos - back - 1] === src[pos - back - 1 - d]) back++;
            for (; last < cur + len; ) {
              last++;
              price[last] = 0x7fffffff;
              mlen[last] = 0;
            }
            // From cur, and (one may be cheaper to reach than the other) from where it starts.
            for (let from = cur, l0 = MIN_MATCH; ; from = cur - back, l0 = Math.max(MIN_MATCH, back + 1)) {
              const p0 = price[from]! + 3;
              for (let l = l0, total = len + cur - from; l <= total; l++) {
                const p = p0 + matchExtra(l);
                const t = from + l;
                if (p < price[t]!) {
                  price[t] = p;
                  litRun[t] = 0;
                  mlen[t] = l;
                  mdist[t] = d;
                }
              }
              if (from !== cur || back === 0) break;
            }
          }
          if (cur === last) {
            // The end node still needs its literal step.
            const prevRun = litRun[cur - 1]!;
            const lp = price[cur - 1]! + literalsCost(prevRun + 1) - literalsCost(prevRun);
            if (lp < price[cur]!) {
              price[cur] = lp;
              litRun[cur] = prevRun + 1;
              mlen[cur] = 0;
            }
          }
          end = cur;
        }
        // The planned matches, last first, then emitted in order.
        let k = 0;
        for (let t = end; t > 0; ) {
          const l = mlen[t]!;
          if (l === 0) {
            t--;
            continue;
          }
          t -= l;
          seqs[k++] = t;
          seqs[k++] = l;
          seqs[k++] = mdist[t + l]!;
        }
        while (k > 0) {
          const dist = seqs[--k]!;
          const len = seqs[--k]!;
          const at = start + seqs[--k]!;
          const lit = at - anchor;
          const fit = fitMatch(cap - op - 3 - literalsCost(lit), len);
          if (fit === 0) break main;
          op = putSequence(this.out, op, src, anchor, lit, fit, dist);
          anchor = at + fit;
          if (fit < len) break main;
        }
        ip = start + end;
        if (forcedLen > 0) {
          const lit = ip - anchor;
          const fit = fitMatch(cap - op - 3 - literalsCost(lit), forcedLen);
          if (fit === 0) break;
          op = putSequence(this.out, op, src, anchor, lit, fit, forcedDist);
          ip += fit;
          anchor = ip;
          if (fit < forcedLen) break;
        }
      }
    }
    return this.finish(src, cap, op, anchor);
  }
}

const shared = new Map<number, Lz4Encoder>();

/**
 * Compresses as much of `src` as fits in `dstCapacity` bytes into one raw LZ4 block, like
 * LZ4_compress_destSize (level 0) or LZ4_compress_HC_destSize (levels 1..12, lz4hc's default 9).
 * Returns the block (at most dstCapacity bytes, decodable on its own) and how many bytes of `src`
 * it holds, as many as fit for the parse chosen. One encoder per level is kept and reused.
 */
export function lz4CompressDestSize(src: Uint8Array, dstCapacity: number, level: number = LZ4_FAST_LEVEL): CompressedPrefix {
  let enc = shared.get(level);
  if (!enc) shared.set(level, (enc = new Lz4Encoder(level)));
  return enc.compressDestSize(src, dstCapacity);
}
