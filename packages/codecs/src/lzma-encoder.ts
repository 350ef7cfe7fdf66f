/**
 * A fixed-output MicroLZMA encoder ("compress as much of this input as fits in N bytes"), the
 * stream `mkfs.erofs -zlzma` writes with liblzma's lzma_microlzma_encoder and the kernel reads
 * (lib/xz/xz_dec_microlzma.c through fs/erofs/decompressor_lzma.c): raw LZMA1 with lc=3 lp=0
 * pb=2, no header, no end marker, the first byte the complement of the properties byte, every
 * distance below the dictionary size. The decoder knows both sizes (the pcluster's compressed
 * bytes, the extent's decompressed ones), so the stream just stops: after each symbol the encoder
 * checks that the range coder's flush still fits and, if not, takes the symbol back and flushes
 * (lzma-range-encoder.ts says why that size is exact). What the stream holds is `consumed`.
 *
 * Levels follow liblzma's presets: 0..3 are its fast mode (hash chains, a greedy choice with one
 * byte of lookahead), 4..9 its normal mode: binary-tree match finding and an optimal parse that
 * prices every way to reach the positions ahead (literal, short rep, the four reps, each match
 * length, and literal-then-rep0 continuations) with the model's current probabilities, then
 * takes the cheapest path. Prices of lengths, distance slots and align bits come from tables
 * refreshed as the probabilities drift, as liblzma does.
 */
import {
  afterLiteral,
  afterLongRep,
  afterMatch,
  afterShortRep,
  ALIGN_BITS,
  ALIGN_MASK,
  ALIGN_SIZE,
  DIST_ALIGN,
  DIST_MODEL_END,
  DIST_MODEL_START,
  DIST_SLOT,
  DIST_SLOT_BITS,
  DIST_SPECIAL,
  DIST_STATES,
  distSlot,
  distState,
  encodeProps,
  FULL_DISTANCES,
  IS_MATCH,
  IS_REP,
  IS_REP0,
  IS_REP0_LONG,
  IS_REP1,
  IS_REP2,
  LEN_CHOICE,
  LEN_CHOICE2,
  LEN_HIGH,
  LEN_HIGH_BITS,
  LEN_LOW,
  LEN_LOW_BITS,
  LEN_LOW_SYMBOLS,
  LEN_MID,
  LEN_MID_BITS,
  LEN_MID_SYMBOLS,
  LEN_SYMBOLS,
  LIT_STATES,
  LITERAL,
  LITERAL_CODER_SIZE,
  MATCH_LEN_CODER,
  MATCH_LEN_MAX,
  MATCH_LEN_MIN,
  POS_STATES_MAX,
  PROB_INIT,
  probCount,
  REP_LEN_CODER,
} from './lzma-model.js';
import { directPrice, price0, price1, priceBit, RangeEncoder, reverseTreePrice, treePrice } from './lzma-range-encoder.js';
import { MatchFinder } from './lzma-match-finder.js';
import { checkInt, type CompressedPrefix } from './result.js';

export const LZMA_DEFAULT_LEVEL = 6;
export const LZMA_MAX_LEVEL = 9;
/** liblzma's smallest dictionary; EROFS's largest is 8 MiB (Z_EROFS_LZMA_MAX_DICT_SIZE). */
export const LZMA_MIN_DICT_SIZE = 4096;
export const LZMA_MAX_DICT_SIZE = 1 << 30;
export const LZMA_DEFAULT_DICT_SIZE = 1 << 23;

/** lc=3 lp=0 pb=2: liblzma's defaults, what mkfs.erofs writes. */
const LC = 3;
const PROPS = encodeProps({ lc: LC, lp: 0, pb: 2 });
const POS_MASK = 3;
/** A stream of no symbols: the flush alone. */
const MIN_STREAM = 5;
/** The optimal parser plans at most this many positions at a time (liblzma's OPTS). */
const OPTS = 1 << 12;
const INFINITY_PRICE = 1 << 30;
/** Refresh the distance prices after this many matches, the align prices after this many align codings. */
const DIST_PRICE_PERIOD = 128;
const ALIGN_PRICE_PERIOD = ALIGN_SIZE;

/**
 * Per level (liblzma's presets where they matter): fast or normal mode, the length a search
 * stops at (nice), and how many candidates a search visits: `depth` for the binary tree, `chain`
 * for hash chains. Normal mode searches hash chains when the dictionary is at most
 * CHAIN_WINDOW_MAX (they insert a position for almost nothing, the tree costs a descent, and in
 * a small window a deep chain finds what the tree does) and at level 9, always the tree. `skip`:
 * a planned position whose next one is reached for at most this much more (in price units,
 * 1/16 bit) is not searched from (its matches would mostly be the next one's, a byte longer);
 * -1 searches from every position.
 */
const LEVELS: readonly { fast: boolean; nice: number; depth: number; chain: number; skip: number }[] = [
  { fast: true, nice: 128, depth: 0, chain: 4, skip: -1 },
  { fast: true, nice: 128, depth: 0, chain: 8, skip: -1 },
  { fast: true, nice: 273, depth: 0, chain: 24, skip: -1 },
  { fast: true, nice: 273, depth: 0, chain: 48, skip: -1 },
  { fast: false, nice: 16, depth: 24, chain: 32, skip: 32 },
  { fast: false, nice: 32, depth: 32, chain: 64, skip: 24 },
  { fast: false, nice: 64, depth: 48, chain: 128, skip: 16 },
  { fast: false, nice: 96, depth: 64, chain: 192, skip: 8 },
  { fast: false, nice: 192, depth: 128, chain: 256, skip: -1 },
  { fast: false, nice: 273, depth: 512, chain: 0, skip: -1 },
];
/** The largest dictionary normal mode searches with hash chains (below level 9). */
const CHAIN_WINDOW_MAX = 1 << 16;

/** Symbol codes ("back"): a literal, rep 0..3 (rep 0 of length 1 is the short rep), else a match of distance back - REPS + 1. */
const LIT = -1;
const REPS = 4;

/** How an optimal-parse node is reached from `from`: one symbol, a literal then rep0, or a symbol, a literal, rep0. */
const ONE = 0;
const LIT_REP0 = 1;
const SYM_LIT_REP0 = 2;

/** How many leading bytes of src at a and b (a > b) agree, from `start`, up to `limit`. */
function matchLength(src: Uint8Array, a: number, b: number, start: number, limit: number): number {
  let len = start;
  while (len < limit && src[a + len] === src[b + len]) len++;
  return len;
}

export class LzmaEncoder {
  readonly level: number;
  readonly dictSize: number;
  private readonly fast: boolean;
  private readonly nice: number;
  /** See LEVELS. */
  private readonly skipAbove: number;
  private readonly mf: MatchFinder;
  private readonly rc = new RangeEncoder();
  private readonly probs = new Uint16Array(probCount(LC, 0));
  private out: Uint8Array = new Uint8Array(0);
  private src: Uint8Array = new Uint8Array(0);
  private state = 0;
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;

  // Price tables (normal mode): lengths per pos state, distance slots and distances below
  // FULL_DISTANCES per distance state, align bits.
  private readonly matchLenPrices = new Int32Array(POS_STATES_MAX * LEN_SYMBOLS);
  private readonly repLenPrices = new Int32Array(POS_STATES_MAX * LEN_SYMBOLS);
  /** Codings per pos state left before its length prices are refreshed, [match coder 16, rep coder 16]. */
  private readonly lenCounters = new Int32Array(2 * POS_STATES_MAX);
  private readonly lenTableSize: number;
  private readonly distSlotPrices = new Int32Array(DIST_STATES << DIST_SLOT_BITS);
  private readonly distPrices = new Int32Array(DIST_STATES * FULL_DISTANCES);
  private readonly alignPrices = new Int32Array(ALIGN_SIZE);
  private readonly distTableSize: number;
  private matchCount = 0;
  private alignCount = 0;

  // The optimal parser's nodes, one per position ahead of the window's start.
  private readonly optPrice = new Int32Array(OPTS);
  private readonly optFrom = new Int32Array(OPTS);
  private readonly optBack = new Int32Array(OPTS);
  private readonly optKind = new Uint8Array(OPTS);
  /** SYM_LIT_REP0: where the literal is, and the first symbol's code. */
  private readonly optMid = new Int32Array(OPTS);
  private readonly optBack2 = new Int32Array(OPTS);
  private readonly optState = new Uint8Array(OPTS);
  private readonly optReps = new Int32Array(OPTS * REPS);
  private readonly repLens = new Int32Array(REPS);

  /** Symbols planned and not yet coded, last first. */
  private readonly queueBack = new Int32Array(OPTS);
  private readonly queueLen = new Int32Array(OPTS);
  private queued = 0;
  /** The furthest node of the window so far. */
  private lenEnd = 0;
  /** A position whose matches the finder already holds (found while planning ahead), or -1. */
  private pendingPos = -1;
  private pendingCount = 0;

  /**
   * `level` 0..9 (default 6); `dictSize` bounds every distance (EROFS writes it in the
   * superblock's LZMA configuration, and the kernel sizes its decoder by it).
   */
  constructor(level: number = LZMA_DEFAULT_LEVEL, dictSize: number = LZMA_DEFAULT_DICT_SIZE) {
    checkInt('LZMA level', level, 0, LZMA_MAX_LEVEL);
    checkInt('LZMA dictSize', dictSize, LZMA_MIN_DICT_SIZE, LZMA_MAX_DICT_SIZE);
    this.level = level;
    this.dictSize = dictSize;
    const cfg = { ...LEVELS[level]!, ...(process.env.LZMA_TUNE ? JSON.parse(process.env.LZMA_TUNE) : {}) }; // TEMP
    this.fast = cfg.fast;
    this.nice = cfg.nice;
    this.skipAbove = cfg.skip;
    const tree = !cfg.fast && (cfg.chain === 0 || dictSize > CHAIN_WINDOW_MAX);
    this.mf = new MatchFinder(tree, cfg.nice, tree ? cfg.depth : cfg.chain, dictSize, MATCH_LEN_MAX);
    this.lenTableSize = cfg.nice + 1 - MATCH_LEN_MIN;
    this.distTableSize = distSlot(dictSize - 2) + 1;
  }

  /**
   * Compresses the longest prefix of `src` this parse can fit in `dstCapacity` bytes: one
   * MicroLZMA stream and how many input bytes it holds. A capacity below 5 bytes holds nothing
   * (empty data); 5 bytes hold the stream of no input.
   */
  compressDestSize(src: Uint8Array, dstCapacity: number): CompressedPrefix {
    checkInt('dstCapacity', dstCapacity, 0, 0x7fffffff);
    if (dstCapacity < MIN_STREAM) return { consumed: 0, data: new Uint8Array(0) };
    // A symbol is coded before it is known to fit: room for one more (at most 7 shifted bytes).
    if (this.out.length < dstCapacity + 16) this.out = new Uint8Array(Math.max(dstCapacity + 16, Math.min(2 * this.out.length, 1 << 21)));
    this.begin(src);
    const consumed = this.encode(src.length, dstCapacity);
    const size = this.rc.flush();
    const data = this.out.slice(0, size);
    data[0] = ~PROPS & 0xff;
    return { consumed, data };
  }

  /** A fresh model, coder and match finder for `src`. */
  private begin(src: Uint8Array): void {
    // A plain Uint8Array (not a Buffer): one element access shape for V8 whatever the caller passes.
    if (src.constructor !== Uint8Array) src = new Uint8Array(src.buffer, src.byteOffset, src.length);
    this.src = src;
    this.probs.fill(PROB_INIT);
    this.rc.reset(this.out);
    this.mf.begin(src);
    this.state = 0;
    this.rep0 = this.rep1 = this.rep2 = this.rep3 = 0;
    this.queued = 0;
    this.pendingPos = -1;
    if (!this.fast) {
      for (let ps = 0; ps <= POS_MASK; ps++) {
        this.updateLenPrices(MATCH_LEN_CODER, ps);
        this.updateLenPrices(REP_LEN_CODER, ps);
      }
      this.fillDistPrices();
      this.fillAlignPrices();
    }
  }

  /** Codes symbols until the input ends or the next one would not fit; returns the bytes coded. */
  private encode(n: number, cap: number): number {
    const rc = this.rc;
    let pos = 0;
    if (n === 0) return 0;
    // The first symbol is a literal (nothing precedes it to match).
    this.mf.skip(0, 1);
    this.queueBack[0] = LIT;
    this.queueLen[0] = 1;
    this.queued = 1;
    while (pos < n) {
      if (this.queued === 0) {
        if (this.fast) this.planFast(pos);
        else this.planOptimal(pos);
      }
      const q = --this.queued;
      const back = this.queueBack[q]!;
      const len = this.queueLen[q]!;
      rc.save();
      if (back === LIT) this.encodeLiteral(pos);
      else if (back < REPS) this.encodeRep(pos, back, len);
      else this.encodeMatch(pos, back - REPS, len);
      if (rc.flushedSize() > cap) {
        rc.restore();
        break;
      }
      pos += len;
    }
    return pos;
  }

  // Coding

  private encodeLiteral(pos: number): void {
    const { rc, probs, src } = this;
    const state = this.state;
    rc.bit(probs, IS_MATCH + state * POS_STATES_MAX + (pos & POS_MASK), 0);
    const base = LITERAL + LITERAL_CODER_SIZE * (pos > 0 ? src[pos - 1]! >> (8 - LC) : 0);
    const sym = src[pos]!;
    if (state < LIT_STATES) rc.tree(probs, base, 8, sym);
    else {
      // Matched literal: the byte at rep0 selects the trees until the first bit that differs.
      const match = src[pos - this.rep0 - 1]!;
      let m = 1;
      let matched = true;
      for (let i = 7; i >= 0; i--) {
        const b = (sym >>> i) & 1;
        if (matched) {
          const mb = (match >>> i) & 1;
          rc.bit(probs, base + ((1 + mb) << 8) + m, b);
          matched = b === mb;
        } else rc.bit(probs, base + m, b);
        m = (m << 1) | b;
      }
    }
    this.state = afterLiteral(state);
  }

  private encodeLength(coder: number, len: number, posState: number): void {
    const { rc, probs } = this;
    let l = len - MATCH_LEN_MIN;
    if (l < LEN_LOW_SYMBOLS) {
      rc.bit(probs, coder + LEN_CHOICE, 0);
      rc.tree(probs, coder + LEN_LOW + (posState << LEN_LOW_BITS), LEN_LOW_BITS, l);
    } else {
      rc.bit(probs, coder + LEN_CHOICE, 1);
      l -= LEN_LOW_SYMBOLS;
      if (l < LEN_MID_SYMBOLS) {
        rc.bit(probs, coder + LEN_CHOICE2, 0);
        rc.tree(probs, coder + LEN_MID + (posState << LEN_MID_BITS), LEN_MID_BITS, l);
      } else {
        rc.bit(probs, coder + LEN_CHOICE2, 1);
        rc.tree(probs, coder + LEN_HIGH, LEN_HIGH_BITS, l - LEN_MID_SYMBOLS);
      }
    }
    if (!this.fast) {
      const c = (coder === MATCH_LEN_CODER ? 0 : POS_STATES_MAX) + posState;
      if (--this.lenCounters[c]! <= 0) this.updateLenPrices(coder, posState);
    }
  }

  /** A match with distance back + 1. */
  private encodeMatch(pos: number, back: number, len: number): void {
    const { rc, probs } = this;
    const state = this.state;
    const posState = pos & POS_MASK;
    rc.bit(probs, IS_MATCH + state * POS_STATES_MAX + posState, 1);
    rc.bit(probs, IS_REP + state, 0);
    this.encodeLength(MATCH_LEN_CODER, len, posState);
    const slot = distSlot(back);
    rc.tree(probs, DIST_SLOT + (distState(len) << DIST_SLOT_BITS), DIST_SLOT_BITS, slot);
    if (slot >= DIST_MODEL_START) {
      const bits = (slot >>> 1) - 1;
      const base = (2 | (slot & 1)) << bits;
      const reduced = back - base;
      if (slot < DIST_MODEL_END) rc.reverseTree(probs, DIST_SPECIAL + base - slot - 1, bits, reduced);
      else {
        rc.direct(reduced >>> ALIGN_BITS, bits - ALIGN_BITS);
        rc.reverseTree(probs, DIST_ALIGN, ALIGN_BITS, reduced & ALIGN_MASK);
        this.alignCount++;
      }
    }
    this.rep3 = this.rep2;
    this.rep2 = this.rep1;
    this.rep1 = this.rep0;
    this.rep0 = back;
    this.state = afterMatch(state);
    this.matchCount++;
  }

  /** Rep `k` of `len` (rep 0 of length 1: the short rep). */
  private encodeRep(pos: number, k: number, len: number): void {
    const { rc, probs } = this;
    const state = this.state;
    const posState = pos & POS_MASK;
    rc.bit(probs, IS_MATCH + state * POS_STATES_MAX + posState, 1);
    rc.bit(probs, IS_REP + state, 1);
    if (k === 0) {
      rc.bit(probs, IS_REP0 + state, 0);
      rc.bit(probs, IS_REP0_LONG + state * POS_STATES_MAX + posState, len === 1 ? 0 : 1);
    } else {
      rc.bit(probs, IS_REP0 + state, 1);
      let dist: number;
      if (k === 1) {
        rc.bit(probs, IS_REP1 + state, 0);
        dist = this.rep1;
      } else {
        rc.bit(probs, IS_REP1 + state, 1);
        rc.bit(probs, IS_REP2 + state, k - 2);
        if (k === 2) dist = this.rep2;
        else {
          dist = this.rep3;
          this.rep3 = this.rep2;
        }
        this.rep2 = this.rep1;
      }
      this.rep1 = this.rep0;
      this.rep0 = dist;
    }
    if (len === 1) this.state = afterShortRep(state);
    else {
      this.encodeLength(REP_LEN_CODER, len, posState);
      this.state = afterLongRep(state);
    }
  }

  // Prices

  private updateLenPrices(coder: number, posState: number): void {
    const probs = this.probs;
    const prices = coder === MATCH_LEN_CODER ? this.matchLenPrices : this.repLenPrices;
    const size = this.lenTableSize;
    this.lenCounters[(coder === MATCH_LEN_CODER ? 0 : POS_STATES_MAX) + posState] = size;
    const choice = probs[coder + LEN_CHOICE]!;
    const choice2 = probs[coder + LEN_CHOICE2]!;
    const low = price0(choice);
    const mid = price1(choice) + price0(choice2);
    const high = price1(choice) + price1(choice2);
    const at = posState * LEN_SYMBOLS;
    for (let l = 0; l < size; l++) {
      let p: number;
      if (l < LEN_LOW_SYMBOLS) p = low + treePrice(probs, coder + LEN_LOW + (posState << LEN_LOW_BITS), LEN_LOW_BITS, l);
      else if (l < LEN_LOW_SYMBOLS + LEN_MID_SYMBOLS) p = mid + treePrice(probs, coder + LEN_MID + (posState << LEN_MID_BITS), LEN_MID_BITS, l - LEN_LOW_SYMBOLS);
      else p = high + treePrice(probs, coder + LEN_HIGH, LEN_HIGH_BITS, l - LEN_LOW_SYMBOLS - LEN_MID_SYMBOLS);
      prices[at + l] = p;
    }
  }

  private fillDistPrices(): void {
    const probs = this.probs;
    const slotPrices = this.distSlotPrices;
    for (let ds = 0; ds < DIST_STATES; ds++) {
      const at = ds << DIST_SLOT_BITS;
      for (let slot = 0; slot < this.distTableSize; slot++) {
        let p = treePrice(probs, DIST_SLOT + at, DIST_SLOT_BITS, slot);
        if (slot >= DIST_MODEL_END) p += directPrice((slot >>> 1) - 1 - ALIGN_BITS);
        slotPrices[at + slot] = p;
      }
    }
    for (let d = 0; d < FULL_DISTANCES; d++) {
      const slot = distSlot(d);
      let extra = 0;
      if (slot >= DIST_MODEL_START) {
        const bits = (slot >>> 1) - 1;
        const base = (2 | (slot & 1)) << bits;
        extra = reverseTreePrice(probs, DIST_SPECIAL + base - slot - 1, bits, d - base);
      }
      for (let ds = 0; ds < DIST_STATES; ds++) this.distPrices[ds * FULL_DISTANCES + d] = slotPrices[(ds << DIST_SLOT_BITS) + slot]! + extra;
    }
    this.matchCount = 0;
  }

  private fillAlignPrices(): void {
    for (let i = 0; i < ALIGN_SIZE; i++) this.alignPrices[i] = reverseTreePrice(this.probs, DIST_ALIGN, ALIGN_BITS, i);
    this.alignCount = 0;
  }

  /** The price of the literal at `pos` after `state`, with `match` the byte at rep0. */
  private literalPrice(pos: number, state: number, match: number): number {
    const { probs, src } = this;
    const base = LITERAL + LITERAL_CODER_SIZE * (src[pos - 1]! >> (8 - LC));
    const sym = src[pos]!;
    let price = 0;
    let m = 1;
    let i = 7;
    if (state >= LIT_STATES) {
      for (; i >= 0; i--) {
        const b = (sym >>> i) & 1;
        const mb = (match >>> i) & 1;
        price += priceBit(probs[base + ((1 + mb) << 8) + m]!, b);
        m = (m << 1) | b;
        if (b !== mb) {
          i--;
          break;
        }
      }
    }
    for (; i >= 0; i--) {
      const b = (sym >>> i) & 1;
      price += priceBit(probs[base + m]!, b);
      m = (m << 1) | b;
    }
    return price;
  }

  /** The price of choosing rep k (not its length) after `state`. */
  private repChoicePrice(k: number, state: number, posState: number): number {
    const probs = this.probs;
    if (k === 0) return price0(probs[IS_REP0 + state]!) + price1(probs[IS_REP0_LONG + state * POS_STATES_MAX + posState]!);
    const p = price1(probs[IS_REP0 + state]!);
    if (k === 1) return p + price0(probs[IS_REP1 + state]!);
    return p + price1(probs[IS_REP1 + state]!) + priceBit(probs[IS_REP2 + state]!, k - 2);
  }

  /** The price of a match's distance back + 1 with length len. */
  private distPrice(back: number, len: number): number {
    const ds = distState(len);
    if (back < FULL_DISTANCES) return this.distPrices[ds * FULL_DISTANCES + back]!;
    return this.distSlotPrices[(ds << DIST_SLOT_BITS) + distSlot(back)]! + this.alignPrices[back & ALIGN_MASK]!;
  }

  // Planning

  private queueOne(back: number, len: number): void {
    this.queueBack[0] = back;
    this.queueLen[0] = len;
    this.queued = 1;
  }

  /** The matches at `pos`: those found ahead while planning, else a search now. */
  private matchesAt(pos: number): number {
    if (this.pendingPos === pos) {
      this.pendingPos = -1;
      return this.pendingCount;
    }
    return this.mf.find(pos);
  }

  /**
   * Sets repLens to each rep's match length at `pos` (0 below 2), up to `limit`; returns the index
   * of the longest. The reps go to node 0 of the optimal parse too.
   */
  private measureReps(pos: number, limit: number): number {
    const src = this.src;
    const reps = this.optReps;
    reps[0] = this.rep0;
    reps[1] = this.rep1;
    reps[2] = this.rep2;
    reps[3] = this.rep3;
    let best = 0;
    for (let k = 0; k < REPS; k++) {
      const b = pos - reps[k]! - 1;
      const len = src[pos] === src[b] && src[pos + 1] === src[b + 1] ? matchLength(src, pos, b, 2, limit) : 0;
      this.repLens[k] = len;
      if (len > this.repLens[best]!) best = k;
    }
    return best;
  }

  /**
   * Fast mode: the longest match (or a shorter one much nearer), a rep when it is about as long,
   * and a look at the next position: when a better match starts there, a literal now.
   */
  private planFast(pos: number): void {
    const { mf, src, nice } = this;
    const lens = mf.lens;
    const dists = mf.dists;
    let count = this.matchesAt(pos);
    const avail = Math.min(this.src.length - pos, MATCH_LEN_MAX);
    if (avail < 2) return this.queueOne(LIT, 1);
    const bestRep = this.measureReps(pos, avail);
    const repLen = this.repLens[bestRep]!;
    if (repLen >= nice) {
      mf.skip(pos + 1, repLen - 1);
      return this.queueOne(bestRep, repLen);
    }
    let mainLen = count > 0 ? lens[count - 1]! : 0;
    let mainBack = count > 0 ? dists[count - 1]! : 0;
    if (mainLen >= nice) {
      mf.skip(pos + 1, mainLen - 1);
      return this.queueOne(mainBack + REPS, mainLen);
    }
    // One byte shorter but over 128 times nearer costs less.
    while (count > 1 && mainLen === lens[count - 2]! + 1 && dists[count - 2]! < mainBack >>> 7) {
      count--;
      mainLen = lens[count - 1]!;
      mainBack = dists[count - 1]!;
    }
    if (mainLen === 2 && mainBack >= 0x80) mainLen = 1;
    if (repLen >= 2 && (repLen + 1 >= mainLen || (repLen + 2 >= mainLen && mainBack >= 1 << 9) || (repLen + 3 >= mainLen && mainBack >= 1 << 15))) {
      mf.skip(pos + 1, repLen - 1);
      return this.queueOne(bestRep, repLen);
    }
    if (mainLen < 2) return this.queueOne(this.shortRepPays(pos) ? 0 : LIT, 1);
    // Lookahead: the matches at pos + 1 (kept for the next plan if a literal goes first).
    const nextCount = mf.find(pos + 1);
    this.pendingPos = pos + 1;
    this.pendingCount = nextCount;
    if (nextCount > 0) {
      const nextLen = lens[nextCount - 1]!;
      const nextBack = dists[nextCount - 1]!;
      if ((nextLen >= mainLen && nextBack < mainBack) || (nextLen === mainLen + 1 && nextBack >>> 7 <= mainBack) || nextLen > mainLen + 1 || (nextLen + 1 >= mainLen && mainLen >= 3 && nextBack < mainBack >>> 7)) {
        return this.queueOne(LIT, 1);
      }
    }
    // A rep at pos + 1 about as long as this match: a literal first.
    const limit = Math.max(2, mainLen - 1);
    if (limit < avail) {
      for (let k = 0; k < REPS; k++) {
        const b = pos - this.optReps[k]!;
        if (matchLength(src, pos + 1, b, 0, limit) === limit) return this.queueOne(LIT, 1);
      }
    }
    this.pendingPos = -1;
    mf.skip(pos + 2, mainLen - 2);
    this.queueOne(mainBack + REPS, mainLen);
  }

  /** Whether a short rep (the byte at rep0) costs less than the literal at pos. */
  private shortRepPays(pos: number): boolean {
    const { src, probs, state } = this;
    const match = src[pos - this.rep0 - 1]!;
    if (match !== src[pos]) return false;
    const posState = pos & POS_MASK;
    const isMatch = probs[IS_MATCH + state * POS_STATES_MAX + posState]!;
    const shortRep = price1(isMatch) + price1(probs[IS_REP + state]!) + price0(probs[IS_REP0 + state]!) + price0(probs[IS_REP0_LONG + state * POS_STATES_MAX + posState]!);
    return shortRep < price0(isMatch) + this.literalPrice(pos, state, match);
  }

  /**
   * Normal mode: plans the symbols from `pos` by the cheapest path through the positions ahead.
   * A long enough rep or match at `pos` is taken at once; a position ahead where a match reaches
   * the nice length ends the window (that match starts the next one).
   */
  private planOptimal(pos: number): void {
    const { mf, nice } = this;
    if (this.matchCount >= DIST_PRICE_PERIOD) this.fillDistPrices();
    if (this.alignCount >= ALIGN_PRICE_PERIOD) this.fillAlignPrices();
    const src = this.src;
    let count = this.matchesAt(pos);
    const avail = Math.min(src.length - pos, MATCH_LEN_MAX);
    if (avail < 2) return this.queueOne(LIT, 1);
    const bestRep = this.measureReps(pos, avail);
    const repLen = this.repLens[bestRep]!;
    if (repLen >= nice) {
      mf.skip(pos + 1, repLen - 1);
      return this.queueOne(bestRep, repLen);
    }
    const mainLen = count > 0 ? mf.lens[count - 1]! : 0;
    if (mainLen >= nice) {
      mf.skip(pos + 1, mainLen - 1);
      return this.queueOne(mf.dists[count - 1]! + REPS, mainLen);
    }
    if (mainLen < 2 && repLen < 2 && src[pos] !== src[pos - this.rep0 - 1]) return this.queueOne(LIT, 1);

    this.optPrice[0] = 0;
    this.optState[0] = this.state;
    const reps = this.optReps;
    reps[0] = this.rep0;
    reps[1] = this.rep1;
    reps[2] = this.rep2;
    reps[3] = this.rep3;
    this.lenEnd = 1;
    this.optPrice[1] = INFINITY_PRICE;
    this.relax(0, pos, count);
    let cur = 1;
    for (; cur < this.lenEnd; cur++) {
      if (this.skipAbove >= 0 && this.optPrice[cur + 1]! <= this.optPrice[cur]! + this.skipAbove) {
        mf.skip(pos + cur, 1);
        continue;
      }
      count = mf.find(pos + cur);
      if (count > 0 && mf.lens[count - 1]! >= nice) {
        this.pendingPos = pos + cur;
        this.pendingCount = count;
        break;
      }
      this.arrive(cur);
      this.relax(cur, pos + cur, count);
    }
    this.backtrack(cur);
  }

  /** Works out node cur's state and reps from how its best path reaches it. */
  private arrive(cur: number): void {
    const reps = this.optReps;
    const from = this.optFrom[cur]!;
    let s = this.optState[from]!;
    let r0 = reps[from * REPS]!;
    let r1 = reps[from * REPS + 1]!;
    let r2 = reps[from * REPS + 2]!;
    let r3 = reps[from * REPS + 3]!;
    const kind = this.optKind[cur]!;
    if (kind === LIT_REP0) s = afterLongRep(afterLiteral(s));
    else {
      const back = kind === ONE ? this.optBack[cur]! : this.optBack2[cur]!;
      if (back === LIT) s = afterLiteral(s);
      else if (back >= REPS) {
        s = afterMatch(s);
        r3 = r2;
        r2 = r1;
        r1 = r0;
        r0 = back - REPS;
      } else if (kind === ONE && back === 0 && cur - from === 1) s = afterShortRep(s);
      else {
        s = afterLongRep(s);
        if (back === 1) {
          const t = r1;
          r1 = r0;
          r0 = t;
        } else if (back === 2) {
          const t = r2;
          r2 = r1;
          r1 = r0;
          r0 = t;
        } else if (back === 3) {
          const t = r3;
          r3 = r2;
          r2 = r1;
          r1 = r0;
          r0 = t;
        }
      }
      // The literal and rep0 after the symbol leave the reps as they are.
      if (kind === SYM_LIT_REP0) s = afterLongRep(afterLiteral(s));
    }
    this.optState[cur] = s;
    reps[cur * REPS] = r0;
    reps[cur * REPS + 1] = r1;
    reps[cur * REPS + 2] = r2;
    reps[cur * REPS + 3] = r3;
  }

  /** Makes the nodes up to `at` part of the window (not reached yet: infinitely expensive). */
  private reach(at: number): void {
    while (this.lenEnd < at) this.optPrice[++this.lenEnd] = INFINITY_PRICE;
  }

  /**
   * Offers every way on from node `cur` (at input position p, with `count` matches found there)
   * to the nodes ahead, each node keeping its cheapest; lenEnd grows to the furthest reached.
   * (In three parts: V8 inlines the helpers of small functions, not of one large one.)
   */
  private relax(cur: number, p: number, count: number): void {
    const { probs, src, nice } = this;
    const optPrice = this.optPrice;
    const price = optPrice[cur]!;
    const state = this.optState[cur]!;
    const r0 = this.optReps[cur * REPS]!;
    const posState = p & POS_MASK;
    const curByte = src[p]!;
    const matchByte = src[p - r0 - 1]!;
    const isMatch = probs[IS_MATCH + state * POS_STATES_MAX + posState]!;

    const litPrice = price + price0(isMatch) + this.literalPrice(p, state, matchByte);
    let nextIsLit = false;
    if (litPrice < optPrice[cur + 1]!) {
      this.arrival(cur + 1, litPrice, cur, LIT);
      nextIsLit = true;
    }
    const matchPrice = price + price1(isMatch);
    const repPrice = matchPrice + price1(probs[IS_REP + state]!);
    if (matchByte === curByte) {
      const shortRep = repPrice + price0(probs[IS_REP0 + state]!) + price0(probs[IS_REP0_LONG + state * POS_STATES_MAX + posState]!);
      if (shortRep < optPrice[cur + 1]!) {
        this.arrival(cur + 1, shortRep, cur, 0);
        nextIsLit = true;
      }
    }
    const availFull = Math.min(src.length - p, OPTS - 1 - cur);
    if (availFull < 2) return;
    const avail = Math.min(availFull, nice);

    // A literal, then rep0 (when the literal alone did not win its node, this path is not
    // otherwise tried).
    if (!nextIsLit && matchByte !== curByte) {
      const len = matchLength(src, p + 1, p - r0, 0, Math.min(availFull - 1, nice));
      if (len >= 2) {
        const s2 = afterLiteral(state);
        const ps2 = (p + 1) & POS_MASK;
        const total =
          litPrice +
          price1(probs[IS_MATCH + s2 * POS_STATES_MAX + ps2]!) +
          price1(probs[IS_REP + s2]!) +
          this.repChoicePrice(0, s2, ps2) +
          this.repLenPrices[ps2 * LEN_SYMBOLS + len - MATCH_LEN_MIN]!;
        const at = cur + 1 + len;
        this.reach(at);
        if (total < optPrice[at]!) {
          optPrice[at] = total;
          this.optFrom[at] = cur;
          this.optKind[at] = LIT_REP0;
        }
      }
    }
    const startLen = this.relaxReps(cur, p, state, repPrice, avail);
    if (count > 0) this.relaxMatches(cur, p, count, state, matchPrice + price0(probs[IS_REP + state]!), startLen, availFull, avail);
  }

  /** Node `at` is reached for `price` from `from` by one symbol. */
  private arrival(at: number, price: number, from: number, back: number): void {
    this.optPrice[at] = price;
    this.optFrom[at] = from;
    this.optBack[at] = back;
    this.optKind[at] = ONE;
  }

  /**
   * relax's reps; returns the length matches start from (shorter ones are cheaper as rep0). A rep
   * followed by a literal and rep0 again is not tried: it made no smaller output on the Python stdlib.
   */
  private relaxReps(cur: number, p: number, state: number, repPrice: number, avail: number): number {
    const src = this.src;
    const optPrice = this.optPrice;
    const repLenPrices = this.repLenPrices;
    const reps = this.optReps;
    const posState = p & POS_MASK;
    const at = posState * LEN_SYMBOLS - MATCH_LEN_MIN;
    let startLen = MATCH_LEN_MIN;
    for (let k = 0; k < REPS; k++) {
      const back = p - reps[cur * REPS + k]! - 1;
      if (src[p] !== src[back] || src[p + 1] !== src[back + 1]) continue;
      const len = matchLength(src, p, back, 2, avail);
      this.reach(cur + len);
      const base = repPrice + this.repChoicePrice(k, state, posState);
      for (let l = len; l >= MATCH_LEN_MIN; l--) {
        const total = base + repLenPrices[at + l]!;
        if (total < optPrice[cur + l]!) this.arrival(cur + l, total, cur, k);
      }
      if (k === 0) startLen = len + 1;
    }
    return startLen;
  }

  /** relax's matches from length startLen (`normal`: the price of choosing a match), each also with a literal and rep0 after it. */
  private relaxMatches(cur: number, p: number, count: number, state: number, normal: number, startLen: number, availFull: number, avail: number): void {
    const { src, nice, mf } = this;
    const optPrice = this.optPrice;
    const matchLenPrices = this.matchLenPrices;
    const lens = mf.lens;
    const dists = mf.dists;
    if (lens[count - 1]! > avail) {
      // Lengths past the window's limit are not planned.
      let i = 0;
      while (lens[i]! < avail) i++;
      lens[i] = avail;
      count = i + 1;
    }
    const newLen = lens[count - 1]!;
    if (newLen < startLen) return;
    this.reach(cur + newLen);
    let i = 0;
    while (lens[i]! < startLen) i++;
    const at = (p & POS_MASK) * LEN_SYMBOLS - MATCH_LEN_MIN;
    // From length 5 on a distance costs the same (the last distance state).
    const LONG = MATCH_LEN_MIN + DIST_STATES - 1;
    let back = dists[i]!;
    let far = this.distPrice(back, LONG);
    for (let l = startLen; ; l++) {
      const total = normal + matchLenPrices[at + l]! + (l < LONG ? this.distPrice(back, l) : far);
      if (total < optPrice[cur + l]!) this.arrival(cur + l, total, cur, back + REPS);
      if (l === lens[i]) {
        // The match, a literal, then rep0 at the same distance.
        const from = p - back - 1;
        const len2 = matchLength(src, p, from, l + 1, Math.min(availFull, l + 1 + nice)) - l - 1;
        if (len2 >= 2) this.symLitRep0(cur, p, l, len2, afterMatch(state), total, from, back + REPS);
        if (++i === count) break;
        back = dists[i]!;
        far = this.distPrice(back, LONG);
      }
    }
  }

  /**
   * Offers the path from node `cur`: a symbol (code `back`, length len, ending in state s and
   * costing `price` in all), the literal after it (matched against the byte at `from` + len),
   * then rep0 (the same distance) for len2 bytes.
   */
  private symLitRep0(cur: number, p: number, len: number, len2: number, s: number, price: number, from: number, back: number): void {
    const probs = this.probs;
    const ps = (p + len) & POS_MASK;
    let total = price + price0(probs[IS_MATCH + s * POS_STATES_MAX + ps]!) + this.literalPrice(p + len, s, this.src[from + len]!);
    const s2 = afterLiteral(s);
    const ps2 = (p + len + 1) & POS_MASK;
    total +=
      price1(probs[IS_MATCH + s2 * POS_STATES_MAX + ps2]!) +
      price1(probs[IS_REP + s2]!) +
      this.repChoicePrice(0, s2, ps2) +
      this.repLenPrices[ps2 * LEN_SYMBOLS + len2 - MATCH_LEN_MIN]!;
    const at = cur + len + 1 + len2;
    this.reach(at);
    if (total < this.optPrice[at]!) {
      this.optPrice[at] = total;
      this.optFrom[at] = cur;
      this.optKind[at] = SYM_LIT_REP0;
      this.optMid[at] = cur + len;
      this.optBack2[at] = back;
    }
  }

  /** Queues the symbols of the cheapest path to node `end` (last first, as the queue is read). */
  private backtrack(end: number): void {
    const qb = this.queueBack;
    const ql = this.queueLen;
    let n = 0;
    for (let i = end; i > 0; ) {
      const from = this.optFrom[i]!;
      const kind = this.optKind[i]!;
      if (kind === ONE) {
        qb[n] = this.optBack[i]!;
        ql[n++] = i - from;
      } else {
        const mid = kind === LIT_REP0 ? from : this.optMid[i]!;
        qb[n] = 0;
        ql[n++] = i - mid - 1;
        qb[n] = LIT;
        ql[n++] = 1;
        if (kind === SYM_LIT_REP0) {
          qb[n] = this.optBack2[i]!;
          ql[n++] = mid - from;
        }
      }
      i = from;
    }
    this.queued = n;
  }
}

const shared = new Map<string, LzmaEncoder>();

/**
 * Compresses as much of `src` as fits in `dstCapacity` bytes into one MicroLZMA stream at
 * `level` with distances below `dictSize`: the stream and how many bytes of `src` it holds. One
 * encoder per level and dictionary size is kept and reused.
 */
export function lzmaCompressDestSize(src: Uint8Array, dstCapacity: number, level: number = LZMA_DEFAULT_LEVEL, dictSize: number = LZMA_DEFAULT_DICT_SIZE): CompressedPrefix {
  const key = `${level}/${dictSize}`;
  let enc = shared.get(key);
  if (!enc) shared.set(key, (enc = new LzmaEncoder(level, dictSize)));
  return enc.compressDestSize(src, dstCapacity);
}
