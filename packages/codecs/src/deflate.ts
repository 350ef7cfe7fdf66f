/**
 * Raw DEFLATE (RFC 1951, no zlib header: the kernel inflates raw streams with windowBits -15): the
 * decoder (node:zlib) and a fixed-output encoder of our own ("compress as much of this input as
 * fits in N bytes", what erofs-utils' kite_deflate does for mkfs.erofs -zdeflate).
 *
 * Why not node:zlib for encoding: it has no fixed-output mode, so each pcluster would take a
 * search over prefix lengths with a whole compression per try (erofs-utils does this with
 * libdeflate), and Node's bundled zlib (Chromium's fork, which hashes 4 bytes) compresses 1-2%
 * worse than stock zlib at levels 6..9. Measured on the Python stdlib in 4 KiB pclusters: 1.4%
 * more blocks than mkfs.erofs -zdeflate,6, at half this encoder's speed (docs/BENCHMARKS.md).
 *
 * The encoder: an LZ77 parse with zlib's per-level parameters (hash chains over 3-byte hashes, a
 * 32 KiB window, greedy at levels 1..3, lazy at 4..9; a 3-byte match further than 4 KiB is not
 * taken), counting each block's symbols as it goes. The parse stops once a lower bound of the
 * block's size (the entropy of its symbols) passes the room left; then the longest prefix of the
 * block's symbols whose exact size (dynamic Huffman, fixed Huffman or stored, the cheapest) fits
 * is found by interpolation on those sizes (halving where that converges slowly) and written as
 * the final block. Blocks hold up to 16384 symbols, so large
 * capacities get several. Level 0 stores.
 */
import { constants, inflateRawSync } from 'node:zlib';
import { checkInt, type CompressedPrefix } from './result.js';

/** Why a DEFLATE stream could not be decoded. */
export class DeflateError extends Error {}

/** mkfs.erofs's default level for -zdeflate (zlib's own default is 6). */
export const DEFLATE_DEFAULT_LEVEL = 1;
export const DEFLATE_MAX_LEVEL = 9;

/**
 * Decodes a raw DEFLATE stream. A stream cut short (a pcluster holding only the start of a longer
 * stream, or one ending in a sync flush) yields what it holds (Z_SYNC_FLUSH as the final flush).
 * More than `maxOutputLength` bytes of output is an error.
 */
export function deflateDecompress(src: Uint8Array, maxOutputLength: number): Uint8Array {
  try {
    const out = inflateRawSync(src, { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength });
    return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  } catch (err) {
    throw new DeflateError(err instanceof Error ? err.message : String(err));
  }
}

/** The most our stream of `n` bytes can take: stored blocks of up to 16384 bytes at 5 bytes each, and the end. */
export function deflateCompressBound(n: number): number {
  return n + 5 * Math.ceil(n / BLOCK_SYMBOLS) + 2;
}

const WINDOW = 1 << 15;
const MIN_MATCH = 3;
const MAX_MATCH = 258;
/** zlib's TOO_FAR: a 3-byte match this far back costs more than its literals. */
const TOO_FAR = 4096;
const HASH_LOG = 15;
const PRIME = 2654435761;
/** Symbols per block (zlib's lit_bufsize at memLevel 8, kite's max_symbols). */
const BLOCK_SYMBOLS = 16384;
const END_OF_BLOCK = 256;
const LITLEN_CODES = 286;
const DIST_CODES = 30;
const CLEN_CODES = 19;
const MAX_BITS = 15;
const MAX_CLEN_BITS = 7;
/** The order code length code lengths are sent in. */
const CLEN_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
const LENGTH_BASE = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258];
const LENGTH_EXTRA = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0];
const DIST_BASE = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577];
const DIST_EXTRA = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13];

/** Length 3..258 to its code's index (0..28). */
const LENGTH_CODE = new Uint8Array(MAX_MATCH + 1);
for (let c = 0; c < 29; c++) for (let l = LENGTH_BASE[c]!; l < (c === 28 ? 259 : LENGTH_BASE[c + 1]!); l++) LENGTH_CODE[l] = c;
LENGTH_CODE[258] = 28;
/** Distance 1..32768 to its code (0..29), through two tables as zlib does: below 257 direct, else by 128s. */
const DIST_CODE_LOW = new Uint8Array(257);
const DIST_CODE_HIGH = new Uint8Array(257);
for (let c = 0; c < DIST_CODES; c++) {
  const end = c === DIST_CODES - 1 ? 32769 : DIST_BASE[c + 1]!;
  for (let d = DIST_BASE[c]!; d < end; d++) {
    if (d <= 256) DIST_CODE_LOW[d] = c;
    else DIST_CODE_HIGH[(d - 1) >>> 7] = c;
  }
}
function distCode(d: number): number {
  return d <= 256 ? DIST_CODE_LOW[d]! : DIST_CODE_HIGH[(d - 1) >>> 7]!;
}

/** The fixed Huffman code lengths (RFC 1951 3.2.6). */
const FIXED_LITLEN = new Uint8Array(288);
FIXED_LITLEN.fill(8, 0, 144).fill(9, 144, 256).fill(7, 256, 280).fill(8, 280, 288);
const FIXED_DIST = new Uint8Array(32).fill(5);

/** x * log2(x) for the counts a block can reach: the entropy estimate's terms. */
const XLOG = new Float64Array(BLOCK_SYMBOLS + 3);
for (let x = 2; x < XLOG.length; x++) XLOG[x] = x * Math.log2(x);

/** zlib's per-level parameters: good length (search less above), lazy length, nice length, chain depth; levels 1..3 greedy. */
const LEVELS: readonly { good: number; lazy: number; nice: number; chain: number; greedy: boolean }[] = [
  { good: 0, lazy: 0, nice: 0, chain: 0, greedy: true },
  { good: 4, lazy: 4, nice: 8, chain: 4, greedy: true },
  { good: 4, lazy: 5, nice: 16, chain: 8, greedy: true },
  { good: 4, lazy: 6, nice: 32, chain: 32, greedy: true },
  { good: 4, lazy: 4, nice: 16, chain: 16, greedy: false },
  { good: 8, lazy: 16, nice: 32, chain: 32, greedy: false },
  { good: 8, lazy: 16, nice: 128, chain: 128, greedy: false },
  { good: 8, lazy: 32, nice: 128, chain: 256, greedy: false },
  { good: 32, lazy: 128, nice: 258, chain: 1024, greedy: false },
  { good: 32, lazy: 258, nice: 258, chain: 4096, greedy: false },
];

/** Scratch for buildLengths: sort keys, node weights, parents and depths (a tree has < 2 * 286 nodes). */
const hKeys = new Float64Array(LITLEN_CODES);
const hLeaf = new Int32Array(LITLEN_CODES);
const hWeight = new Float64Array(2 * LITLEN_CODES);
const hParent = new Int32Array(2 * LITLEN_CODES);
const hDepth = new Int32Array(2 * LITLEN_CODES);

/**
 * Optimal prefix code lengths of at most `maxBits` for `freq[0, n)` into `lens` (0 for unused
 * symbols). At least two symbols get a code, so the code is complete, as zlib's inflate wants.
 */
function buildLengths(freq: Uint32Array, n: number, maxBits: number, lens: Uint8Array): void {
  lens.fill(0, 0, n);
  // Leaves sorted by frequency (then symbol): one numeric key each.
  let m = 0;
  for (let i = 0; i < n; i++) if (freq[i]! > 0) hKeys[m++] = freq[i]! * 512 + i;
  if (m < 2) {
    const s = m === 1 ? hKeys[0]! % 512 : 0;
    lens[s] = 1;
    lens[s === 0 ? 1 : 0] = 1;
    return;
  }
  const keys = hKeys.subarray(0, m).sort();
  const leaf = hLeaf;
  const weight = hWeight;
  const parent = hParent;
  const depth = hDepth;
  for (let i = 0; i < m; i++) {
    leaf[i] = keys[i]! % 512;
    weight[i] = Math.floor(keys[i]! / 512);
  }
  // Two-queue Huffman: leaves in order, internal nodes in order of creation.
  let li = 0;
  let ni = m;
  const total = 2 * m - 1;
  for (let next = m; next < total; next++) {
    let a: number;
    if (li < m && (ni >= next || weight[li]! <= weight[ni]!)) a = li++;
    else a = ni++;
    let b: number;
    if (li < m && (ni >= next || weight[li]! <= weight[ni]!)) b = li++;
    else b = ni++;
    weight[next] = weight[a]! + weight[b]!;
    parent[a] = next;
    parent[b] = next;
  }
  depth[total - 1] = 0;
  let overflow = false;
  for (let i = total - 2; i >= 0; i--) {
    const d = depth[parent[i]!]! + 1;
    depth[i] = d;
    if (i < m) {
      if (d > maxBits) overflow = true;
      lens[leaf[i]!] = d > maxBits ? maxBits : d;
    }
  }
  if (!overflow) return;
  // Too deep: the lengths were cut to maxBits; lengthen the deepest codes below it until the Kraft
  // sum fits, then shorten the most frequent codes while it stays within, so the code is complete.
  const full = 1 << maxBits;
  let kraft = 0;
  for (let i = 0; i < m; i++) kraft += 1 << (maxBits - lens[leaf[i]!]!);
  for (let i = 0; kraft > full; i = (i + 1) % m) {
    const s = leaf[i]!; // from the rarest: they are the longest
    if (lens[s]! < maxBits) {
      kraft -= 1 << (maxBits - lens[s]! - 1);
      lens[s]!++;
    }
  }
  for (let i = m - 1; kraft < full && i >= 0; i--) {
    const s = leaf[i]!;
    while (lens[s]! > 1 && kraft + (1 << (maxBits - lens[s]!)) <= full) {
      kraft += 1 << (maxBits - lens[s]!);
      lens[s]!--;
    }
  }
  for (let i = 0; kraft < full; i = (i + 1) % m) {
    const s = leaf[m - 1 - i]!;
    if (lens[s]! > 1 && kraft + (1 << (maxBits - lens[s]!)) <= full) {
      kraft += 1 << (maxBits - lens[s]!);
      lens[s]!--;
    }
  }
}

/** Canonical codes for `lens[0, n)`, bit-reversed for the LSB-first bit order. */
function buildCodes(lens: Uint8Array, n: number, codes: Uint16Array): void {
  const count = new Uint16Array(MAX_BITS + 1);
  for (let i = 0; i < n; i++) count[lens[i]!]!++;
  count[0] = 0;
  const next = new Uint16Array(MAX_BITS + 2);
  for (let b = 1, code = 0; b <= MAX_BITS; b++) {
    code = (code + count[b - 1]!) << 1;
    next[b] = code;
  }
  for (let i = 0; i < n; i++) {
    const l = lens[i]!;
    if (l === 0) continue;
    let c = next[l]!++;
    let r = 0;
    for (let k = 0; k < l; k++, c >>>= 1) r = (r << 1) | (c & 1);
    codes[i] = r;
  }
}

/** LSB-first bit output into a buffer large enough for the capacity. */
class BitWriter {
  buf = new Uint8Array(0);
  pos = 0;
  private bits = 0;
  private count = 0;

  reset(size: number): void {
    if (this.buf.length < size) this.buf = new Uint8Array(size);
    this.pos = 0;
    this.bits = 0;
    this.count = 0;
  }

  get bitLength(): number {
    return this.pos * 8 + this.count;
  }

  put(value: number, n: number): void {
    this.bits |= value << this.count;
    this.count += n;
    while (this.count >= 8) {
      this.buf[this.pos++] = this.bits & 0xff;
      this.bits >>>= 8;
      this.count -= 8;
    }
  }

  /** Pads to a byte boundary with zero bits, or with `pad` (the padding bits' value, LSB first). */
  align(pad = 0): void {
    if (this.count > 0) this.put(pad & ((1 << (8 - this.count)) - 1), 8 - this.count);
  }

  /** The bytes so far, the last partial byte included. */
  finish(): Uint8Array {
    const n = this.pos + (this.count > 0 ? 1 : 0);
    if (this.count > 0) this.buf[this.pos] = this.bits & 0xff;
    return this.buf.slice(0, n);
  }
}

/** The Huffman trees of one dynamic block and the header that sends them. */
class DynamicTrees {
  readonly litLens = new Uint8Array(LITLEN_CODES);
  readonly distLens = new Uint8Array(DIST_CODES);
  readonly clenLens = new Uint8Array(CLEN_CODES);
  readonly litCodes = new Uint16Array(LITLEN_CODES);
  readonly distCodes = new Uint16Array(DIST_CODES);
  readonly clenCodes = new Uint16Array(CLEN_CODES);
  readonly clenFreq = new Uint32Array(CLEN_CODES);
  /** The run-length coded code lengths: symbols 0..18 and their extra bits. */
  readonly rleSym = new Uint8Array(LITLEN_CODES + DIST_CODES);
  readonly rleExtra = new Uint8Array(LITLEN_CODES + DIST_CODES);
  rleCount = 0;
  hlit = 0;
  hdist = 0;
  hclen = 0;
  private readonly seq = new Uint8Array(LITLEN_CODES + DIST_CODES);

  /** Builds the trees for the frequencies; returns the block's size in bits (header, symbols, extra bits excluded). */
  build(litFreq: Uint32Array, distFreq: Uint32Array): number {
    buildLengths(litFreq, LITLEN_CODES, MAX_BITS, this.litLens);
    buildLengths(distFreq, DIST_CODES, MAX_BITS, this.distLens);
    let hlit = LITLEN_CODES;
    while (hlit > 257 && this.litLens[hlit - 1] === 0) hlit--;
    let hdist = DIST_CODES;
    while (hdist > 1 && this.distLens[hdist - 1] === 0) hdist--;
    this.hlit = hlit;
    this.hdist = hdist;
    const seq = this.seq;
    seq.set(this.litLens.subarray(0, hlit), 0);
    seq.set(this.distLens.subarray(0, hdist), hlit);
    const total = hlit + hdist;
    const freq = this.clenFreq.fill(0);
    let k = 0;
    for (let i = 0; i < total; ) {
      const v = seq[i]!;
      let run = 1;
      while (i + run < total && seq[i + run] === v) run++;
      i += run;
      if (v === 0) {
        while (run >= 11) {
          const r = Math.min(run, 138);
          this.rleSym[k] = 18;
          this.rleExtra[k++] = r - 11;
          run -= r;
        }
        if (run >= 3) {
          this.rleSym[k] = 17;
          this.rleExtra[k++] = run - 3;
          run = 0;
        }
      } else {
        this.rleSym[k] = v;
        this.rleExtra[k++] = 0;
        run--;
        while (run >= 3) {
          const r = Math.min(run, 6);
          this.rleSym[k] = 16;
          this.rleExtra[k++] = r - 3;
          run -= r;
        }
      }
      for (; run > 0; run--) {
        this.rleSym[k] = v;
        this.rleExtra[k++] = 0;
      }
    }
    this.rleCount = k;
    for (let i = 0; i < k; i++) freq[this.rleSym[i]!]!++;
    buildLengths(freq, CLEN_CODES, MAX_CLEN_BITS, this.clenLens);
    let hclen = CLEN_CODES;
    while (hclen > 4 && this.clenLens[CLEN_ORDER[hclen - 1]!] === 0) hclen--;
    this.hclen = hclen;
    let bits = 3 + 5 + 5 + 4 + 3 * hclen;
    for (let s = 0; s < CLEN_CODES; s++) bits += freq[s]! * this.clenLens[s]!;
    bits += 2 * freq[16]! + 3 * freq[17]! + 7 * freq[18]!;
    for (let s = 0; s < LITLEN_CODES; s++) bits += litFreq[s]! * this.litLens[s]!;
    for (let s = 0; s < DIST_CODES; s++) bits += distFreq[s]! * this.distLens[s]!;
    return bits;
  }

  /** Writes the block header (after BFINAL and BTYPE) for the trees built last. */
  writeHeader(w: BitWriter): void {
    buildCodes(this.litLens, LITLEN_CODES, this.litCodes);
    buildCodes(this.distLens, DIST_CODES, this.distCodes);
    buildCodes(this.clenLens, CLEN_CODES, this.clenCodes);
    w.put(this.hlit - 257, 5);
    w.put(this.hdist - 1, 5);
    w.put(this.hclen - 4, 4);
    for (let i = 0; i < this.hclen; i++) w.put(this.clenLens[CLEN_ORDER[i]!]!, 3);
    for (let i = 0; i < this.rleCount; i++) {
      const s = this.rleSym[i]!;
      w.put(this.clenCodes[s]!, this.clenLens[s]!);
      if (s === 16) w.put(this.rleExtra[i]!, 2);
      else if (s === 17) w.put(this.rleExtra[i]!, 3);
      else if (s === 18) w.put(this.rleExtra[i]!, 7);
    }
  }
}

const FIXED_LIT_CODES = new Uint16Array(288);
const FIXED_DIST_CODES = new Uint16Array(32);
buildCodes(FIXED_LITLEN, 288, FIXED_LIT_CODES);
buildCodes(FIXED_DIST, 32, FIXED_DIST_CODES);

const BTYPE_STORED = 0;
const BTYPE_FIXED = 1;
const BTYPE_DYNAMIC = 2;

/**
 * A reusable fixed-output DEFLATE encoder at one level (0..9). Its hash chains, symbol buffer and
 * trees are kept between calls; a call allocates only its output.
 */
export class DeflateEncoder {
  readonly level: number;
  private readonly cfg: (typeof LEVELS)[number];
  private readonly head = new Int32Array(1 << HASH_LOG);
  private readonly chain = new Uint16Array(WINDOW);
  /** Entries below base are from earlier calls (kept below 2^31: small integers for V8). */
  private base = 1;
  /** Positions below this are in the chains. */
  private next = 0;
  private dist = 0;
  // The current block: per symbol its match length (0: a literal), distance or literal byte, and
  // the input position after it.
  private readonly symLen = new Uint16Array(BLOCK_SYMBOLS + 2);
  private readonly symVal = new Uint16Array(BLOCK_SYMBOLS + 2);
  private readonly symEnd = new Int32Array(BLOCK_SYMBOLS + 2);
  private nsym = 0;
  private readonly litFreq = new Uint32Array(LITLEN_CODES);
  private readonly distFreq = new Uint32Array(DIST_CODES);
  private extraBits = 0;
  /** Σ f·log2(f) over the symbol counts, for the entropy estimate. */
  private litLog = 0;
  private distLog = 0;
  private distCount = 0;
  private readonly trees = new DynamicTrees();
  private readonly w = new BitWriter();
  /** The size in bits of the block bestType chose last. */
  private bits = 0;
  /** Per-prefix counts for the bisection. */
  private readonly tryLit = new Uint32Array(LITLEN_CODES);
  private readonly tryDist = new Uint32Array(DIST_CODES);

  constructor(level: number = DEFLATE_DEFAULT_LEVEL) {
    checkInt('deflate level', level, 0, DEFLATE_MAX_LEVEL);
    this.level = level;
    this.cfg = LEVELS[level]!;
  }

  /**
   * Compresses the longest prefix of `src` (for the parse chosen) whose raw DEFLATE stream fits in
   * `dstCapacity` bytes: returns the stream (finished, inflates on its own) and how many input
   * bytes it holds. A capacity below 2 bytes holds no stream at all (empty data).
   */
  compressDestSize(src: Uint8Array, dstCapacity: number): CompressedPrefix {
    checkInt('dstCapacity', dstCapacity, 0, 0x7fffffff);
    // DEFLATE holds at most 258 bytes in a 1-bit literal/length code plus a 1-bit distance code:
    // what lies further is never consumed, and cutting it keeps positions small.
    if (src.length > dstCapacity * 1032 + 1024) src = src.subarray(0, dstCapacity * 1032 + 1024);
    const cap = Math.min(dstCapacity, deflateCompressBound(src.length));
    if (cap < 2) return { consumed: 0, data: new Uint8Array(0) };
    const w = this.w;
    w.reset(cap + 8);
    this.base += this.next + 1;
    if (this.base + src.length > 0x7fffffff) {
      this.head.fill(0);
      this.base = 1;
    }
    this.next = 0;
    const budget = cap * 8;
    let pos = 0;
    /** The bit offset of the last block's BFINAL bit, -1 before the first. */
    let lastHeader = -1;
    for (;;) {
      this.startBlock();
      let end = this.level === 0 ? this.storeOnly(src, pos, budget - w.bitLength) : this.parse(src, pos, budget - w.bitLength);
      // The whole block if it fits, else its longest prefix that does.
      let k = this.nsym;
      let fits = this.bestType(k, pos, budget - w.bitLength);
      if (fits < 0) {
        // Sizes grow about linearly with the symbols: interpolate, and halve when that does not
        // halve the range.
        const room = budget - w.bitLength;
        let lo = 0;
        let loBits = 10;
        let hi = k;
        let hiBits = this.bits;
        let halve = false;
        while (hi - lo > 1) {
          const width = hi - lo;
          const guess = halve ? (lo + hi) >>> 1 : lo + Math.round(((room - loBits) * width) / (hiBits - loBits));
          const mid = Math.min(hi - 1, Math.max(lo + 1, guess));
          if (this.bestType(mid, pos, room) >= 0) {
            lo = mid;
            loBits = this.bits;
          } else {
            hi = mid;
            hiBits = this.bits;
          }
          halve = hi - lo > width >>> 1;
        }
        k = lo;
        fits = this.bestType(k, pos, budget - w.bitLength);
        end = k > 0 ? this.symEnd[k - 1]! : pos;
      }
      if (k === 0) {
        // Nothing more fits: end the stream with the previous block, or an empty final one.
        if (lastHeader >= 0) w.buf[lastHeader >>> 3]! |= 1 << (lastHeader & 7);
        else if (fits >= 0) this.writeBlock(src, pos, 0, BTYPE_FIXED, true);
        break;
      }
      const last = end >= src.length || k < this.nsym;
      lastHeader = w.bitLength;
      this.writeBlock(src, pos, k, fits, last);
      pos = end;
      if (last) break;
    }
    const data = w.finish();
    return { consumed: pos, data };
  }

  private startBlock(): void {
    this.nsym = 0;
    this.litFreq.fill(0);
    this.distFreq.fill(0);
    this.litFreq[END_OF_BLOCK] = 1;
    this.extraBits = 0;
    this.litLog = 0;
    this.distLog = 0;
    this.distCount = 0;
  }

  /** Level 0: a block of literals, no more than could fit (8 bits each at least); stored unless a fixed block is smaller. */
  private storeOnly(src: Uint8Array, pos: number, room: number): number {
    const n = Math.min(src.length - pos, BLOCK_SYMBOLS, Math.max(0, Math.floor(room / 8) + 1));
    for (let i = 0; i < n; i++) this.literal(src[pos + i]!, pos + i + 1);
    return pos + n;
  }

  private literal(b: number, end: number): void {
    const i = this.nsym++;
    this.symLen[i] = 0;
    this.symVal[i] = b;
    this.symEnd[i] = end;
    const f = this.litFreq[b]!++;
    this.litLog += XLOG[f + 1]! - XLOG[f]!;
  }

  private match(len: number, dist: number, end: number): void {
    const i = this.nsym++;
    this.symLen[i] = len;
    this.symVal[i] = dist;
    this.symEnd[i] = end;
    const lc = LENGTH_CODE[len]!;
    const dc = distCode(dist);
    const f = this.litFreq[257 + lc]!++;
    this.litLog += XLOG[f + 1]! - XLOG[f]!;
    const g = this.distFreq[dc]!++;
    this.distLog += XLOG[g + 1]! - XLOG[g]!;
    this.distCount++;
    this.extraBits += LENGTH_EXTRA[lc]! + DIST_EXTRA[dc]!;
  }

  /** Whether the block's symbols so far surely take more than `room` bits in any block type. */
  private over(room: number, bytes: number): boolean {
    const lits = this.nsym + 1;
    // Entropy of the symbols (no prefix code does better) plus the smallest header.
    const entropy = XLOG[lits]! - this.litLog + XLOG[this.distCount]! - this.distLog + this.extraBits + 3 + 14 + 12;
    return entropy > room && 3 + 7 + 32 * Math.ceil(bytes / 65535) + 8 * bytes > room;
  }

  /**
   * The LZ77 parse of one block from `pos`: symbols until the block is full, the input ends, or
   * they surely overflow `room` bits. Returns the input position after the last symbol.
   */
  private parse(src: Uint8Array, pos: number, room: number): number {
    const n = src.length;
    const { good, lazy, nice, chain, greedy } = this.cfg;
    let ip = pos;
    if (greedy) {
      while (ip < n && this.nsym < BLOCK_SYMBOLS) {
        const len = ip + MIN_MATCH <= n ? this.find(src, ip, Math.min(MAX_MATCH, n - ip), chain, nice, MIN_MATCH - 1) : 0;
        if (len >= MIN_MATCH && !(len === MIN_MATCH && this.dist > TOO_FAR)) {
          ip += len;
          this.match(len, this.dist, ip);
        } else {
          this.literal(src[ip]!, ip + 1);
          ip++;
        }
        if ((this.nsym & 15) === 0 && this.over(room, ip - pos)) break;
      }
      return ip;
    }
    // Lazy: a match found at ip - 1 waits to see whether ip starts a longer one.
    let prevLen = 0;
    let prevDist = 0;
    let pending = false;
    while (ip < n) {
      let len = 0;
      if (ip + MIN_MATCH <= n && prevLen < lazy) {
        len = this.find(src, ip, Math.min(MAX_MATCH, n - ip), prevLen >= good ? chain >>> 2 : chain, nice, Math.max(prevLen, MIN_MATCH - 1));
        if (len === MIN_MATCH && this.dist > TOO_FAR) len = 0;
      }
      if (pending && prevLen >= MIN_MATCH && len <= prevLen) {
        ip += prevLen - 1;
        this.match(prevLen, prevDist, ip);
        pending = false;
        prevLen = 0;
      } else {
        if (pending) this.literal(src[ip - 1]!, ip);
        pending = true;
        prevLen = len;
        prevDist = this.dist;
        ip++;
      }
      if (this.nsym >= BLOCK_SYMBOLS || ((this.nsym & 15) === 0 && this.over(room, ip - pos))) break;
    }
    if (pending) {
      if (prevLen >= MIN_MATCH) {
        ip += prevLen - 1;
        this.match(prevLen, prevDist, ip);
      } else this.literal(src[ip - 1]!, ip);
    }
    return ip;
  }

  /**
   * Adds positions up to `ip` (exclusive) to the hash chains and returns the longest match at `ip`
   * longer than `atLeast` and at most `maxLen` (0 if none), trying `depth` candidates and stopping
   * at `nice` bytes; its distance goes to this.dist. Calls come with nondecreasing `ip`.
   */
  private find(src: Uint8Array, ip: number, maxLen: number, depth: number, nice: number, atLeast: number): number {
    const head = this.head;
    const chain = this.chain;
    const base = this.base;
    const shift = 32 - HASH_LOG;
    for (let p = this.next; p < ip; p++) {
      const h = Math.imul(src[p]! | (src[p + 1]! << 8) | (src[p + 2]! << 16), PRIME) >>> shift;
      const d = p - (head[h]! - base);
      chain[p & (WINDOW - 1)] = d >= WINDOW ? 0 : d;
      head[h] = base + p;
    }
    this.next = ip;
    if (atLeast >= maxLen) return 0;
    const b0 = src[ip]!;
    const b1 = src[ip + 1]!;
    const b2 = src[ip + 2]!;
    let q = head[Math.imul(b0 | (b1 << 8) | (b2 << 16), PRIME) >>> shift]! - base;
    let k = 0;
    let best = atLeast;
    let bestDist = 0;
    const low = Math.max(0, ip - WINDOW + 1);
    search: for (let tries = depth; tries > 0; tries--) {
      const ref = q - k;
      if (ref < low) break;
      if (src[ref + best] === src[ip + best] && src[ref] === b0 && src[ref + 1] === b1 && src[ref + 2] === b2) {
        let len = MIN_MATCH;
        while (len < maxLen && src[ref + len] === src[ip + len]) len++;
        if (len > best) {
          best = len;
          bestDist = ip - ref;
          if (len >= nice || len >= maxLen) break;
          // Follow the sparsest chain among the match's positions: a longer match matches there too.
          let far = 0;
          let at = 0;
          for (let j = 0, e = Math.min(len - MIN_MATCH, ip - 1 - ref); j <= e; j++) {
            const d = chain[(ref + j) & (WINDOW - 1)]!;
            if (d === 0) break search;
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
      const d = chain[q & (WINDOW - 1)]!;
      if (d === 0) break;
      q -= d;
    }
    this.dist = bestDist;
    return bestDist > 0 ? best : 0;
  }

  /**
   * The cheapest block type for the first `k` symbols of the block starting at input `pos`, if it
   * fits in `room` bits (-1 if none does); its size goes to this.bits. Leaves the dynamic trees
   * built for those symbols.
   */
  private bestType(k: number, pos: number, room: number): number {
    const lit = this.tryLit;
    const dist = this.tryDist;
    let extra: number;
    if (k === this.nsym) {
      lit.set(this.litFreq);
      dist.set(this.distFreq);
      extra = this.extraBits;
    } else {
      lit.fill(0);
      dist.fill(0);
      lit[END_OF_BLOCK] = 1;
      extra = 0;
      for (let i = 0; i < k; i++) {
        const len = this.symLen[i]!;
        if (len === 0) lit[this.symVal[i]!]!++;
        else {
          const lc = LENGTH_CODE[len]!;
          const dc = distCode(this.symVal[i]!);
          lit[257 + lc]!++;
          dist[dc]!++;
          extra += LENGTH_EXTRA[lc]! + DIST_EXTRA[dc]!;
        }
      }
    }
    const bytes = (k > 0 ? this.symEnd[k - 1]! : pos) - pos;
    const bitpos = this.w.bitLength;
    const stored = bytes > 0 || k === 0 ? 3 + ((8 - ((bitpos + 3) & 7)) & 7) + 32 + 8 * bytes + 40 * (Math.ceil(bytes / 65535) - 1) : Infinity;
    let fixed = 3 + extra;
    for (let s = 0; s < LITLEN_CODES; s++) fixed += lit[s]! * FIXED_LITLEN[s]!;
    for (let s = 0; s < DIST_CODES; s++) fixed += dist[s]! * 5;
    const dynamic = k > 0 ? this.trees.build(lit, dist) + extra : Infinity;
    const bestBits = Math.min(stored, fixed, dynamic);
    this.bits = bestBits;
    if (bestBits > room) return -1;
    return bestBits === fixed ? BTYPE_FIXED : bestBits === dynamic ? BTYPE_DYNAMIC : BTYPE_STORED;
  }

  /** Writes the first `k` symbols of the block starting at `pos` as a block of `type`. */
  private writeBlock(src: Uint8Array, pos: number, k: number, type: number, final: boolean): void {
    const w = this.w;
    if (type === BTYPE_STORED) {
      let bytes = (k > 0 ? this.symEnd[k - 1]! : pos) - pos;
      let at = pos;
      do {
        const len = Math.min(bytes, 65535);
        bytes -= len;
        const first = w.bitLength === 0;
        w.put((final && bytes === 0 ? 1 : 0) | (BTYPE_STORED << 1), 3);
        // EROFS takes leading zero bytes for padding: a stream starting with a non-final stored
        // block (first byte 0) gets one of that byte's unused padding bits set, as erofs-utils does.
        w.align(first ? 1 : 0);
        w.put(len, 16);
        w.put(len ^ 0xffff, 16);
        w.buf.set(src.subarray(at, at + len), w.pos);
        w.pos += len;
        at += len;
      } while (bytes > 0);
      return;
    }
    w.put((final ? 1 : 0) | (type << 1), 3);
    let litLens: Uint8Array;
    let litCodes: Uint16Array;
    let distLens: Uint8Array;
    let distCodes: Uint16Array;
    if (type === BTYPE_FIXED) {
      litLens = FIXED_LITLEN;
      litCodes = FIXED_LIT_CODES;
      distLens = FIXED_DIST;
      distCodes = FIXED_DIST_CODES;
    } else {
      const t = this.trees;
      t.writeHeader(w);
      litLens = t.litLens;
      litCodes = t.litCodes;
      distLens = t.distLens;
      distCodes = t.distCodes;
    }
    for (let i = 0; i < k; i++) {
      const len = this.symLen[i]!;
      const v = this.symVal[i]!;
      if (len === 0) {
        w.put(litCodes[v]!, litLens[v]!);
        continue;
      }
      const lc = LENGTH_CODE[len]!;
      w.put(litCodes[257 + lc]!, litLens[257 + lc]!);
      if (LENGTH_EXTRA[lc]) w.put(len - LENGTH_BASE[lc]!, LENGTH_EXTRA[lc]!);
      const dc = distCode(v);
      w.put(distCodes[dc]!, distLens[dc]!);
      if (DIST_EXTRA[dc]) w.put(v - DIST_BASE[dc]!, DIST_EXTRA[dc]!);
    }
    w.put(litCodes[END_OF_BLOCK]!, litLens[END_OF_BLOCK]!);
  }
}

const shared = new Map<number, DeflateEncoder>();

/**
 * Compresses as much of `src` as fits in `dstCapacity` bytes into one raw DEFLATE stream at
 * `level` (0..9, zlib's levels; mkfs.erofs's default 1): the stream (at most dstCapacity bytes,
 * finished, inflates on its own) and how many bytes of `src` it holds. One encoder per level is
 * kept and reused.
 */
export function deflateCompressDestSize(src: Uint8Array, dstCapacity: number, level: number = DEFLATE_DEFAULT_LEVEL): CompressedPrefix {
  let enc = shared.get(level);
  if (!enc) shared.set(level, (enc = new DeflateEncoder(level)));
  return enc.compressDestSize(src, dstCapacity);
}
