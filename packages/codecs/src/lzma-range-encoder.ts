/**
 * The LZMA range encoder and the price (estimated cost in 1/16 bits) of coding a bit with a given
 * probability, which the encoder's parsers sum to compare choices.
 *
 * The coder keeps `low` (up to 33 bits: a carry may ripple into bytes not yet written, so the
 * last byte out and the 0xFF bytes after it are held back as `cache` and `cacheSize`) and
 * `range`. It starts with one held byte, 0: LZMA's first output byte is always zero, which
 * MicroLZMA replaces with the complement of the properties byte. The flush shifts out five
 * bytes; the last held byte is then a zero nobody reads, so a stream flushed now would take
 * exactly `pos + cacheSize + 4` bytes (what `flushedSize` says): the decoder reads the 5 bytes
 * it starts with plus one per normalization, and the encoder shifts at the same points.
 */
import { MOVE_BITS, PROB_BITS, PROB_ONE, RC_TOP } from './lzma-model.js';

/** Prices are in 1/2^PRICE_SHIFT bits. */
export const PRICE_SHIFT = 4;
/** Probabilities are priced in steps of 16 (2048 / 16 = 128 entries). */
const PRICE_STEP_BITS = 4;

/** PRICES[q >> 4]: -log2(q / 2048) in price units, for a bit whose probability is q / 2048. */
const PRICES = new Uint16Array(PROB_ONE >> PRICE_STEP_BITS);
for (let i = 0; i < PRICES.length; i++) {
  const q = ((i << PRICE_STEP_BITS) + (1 << (PRICE_STEP_BITS - 1))) / PROB_ONE;
  PRICES[i] = Math.round(-Math.log2(q) * (1 << PRICE_SHIFT));
}

/** The price of a 0 bit with probability p (of a zero). */
export function price0(p: number): number {
  return PRICES[p >> PRICE_STEP_BITS]!;
}

/** The price of a 1 bit with probability p (of a zero). */
export function price1(p: number): number {
  return PRICES[(PROB_ONE - p) >> PRICE_STEP_BITS]!;
}

/** The price of `bit` with probability p. */
export function priceBit(p: number, bit: number): number {
  return PRICES[(bit === 0 ? p : PROB_ONE - p) >> PRICE_STEP_BITS]!;
}

/** The price of `bits`-bit `sym` through the bit tree at `base` (most significant bit first). */
export function treePrice(probs: Uint16Array, base: number, bits: number, sym: number): number {
  let price = 0;
  for (let m = sym | (1 << bits); m > 1; m >>>= 1) price += priceBit(probs[base + (m >>> 1)]!, m & 1);
  return price;
}

/** The price of `sym` through the reverse bit tree at `base` (least significant bit first). */
export function reverseTreePrice(probs: Uint16Array, base: number, bits: number, sym: number): number {
  let price = 0;
  let m = 1;
  for (let i = 0; i < bits; i++) {
    const b = (sym >>> i) & 1;
    price += priceBit(probs[base + m]!, b);
    m = (m << 1) | b;
  }
  return price;
}

/** The price of `count` direct (probability one half) bits. */
export const directPrice = (count: number): number => count << PRICE_SHIFT;

/** The range encoder writing into one output buffer (which must have room; see LzmaEncoder). */
export class RangeEncoder {
  out: Uint8Array = new Uint8Array(0);
  /** Output position: bytes written so far (held bytes not included). */
  pos = 0;
  private low = 0;
  private range = 0xffffffff;
  private cache = 0;
  private cacheSize = 1;
  // A saved state, to take back the last symbol when it does not fit.
  private savedPos = 0;
  private savedLow = 0;
  private savedRange = 0;
  private savedCache = 0;
  private savedCacheSize = 0;

  reset(out: Uint8Array): void {
    this.out = out;
    this.pos = 0;
    this.low = 0;
    this.range = 0xffffffff;
    this.cache = 0;
    this.cacheSize = 1;
  }

  /** The stream's size if it were flushed now. */
  flushedSize(): number {
    return this.pos + this.cacheSize + 4;
  }

  save(): void {
    this.savedPos = this.pos;
    this.savedLow = this.low;
    this.savedRange = this.range;
    this.savedCache = this.cache;
    this.savedCacheSize = this.cacheSize;
  }

  /** Back to the saved state: what was written since is overwritten later. */
  restore(): void {
    this.pos = this.savedPos;
    this.low = this.savedLow;
    this.range = this.savedRange;
    this.cache = this.savedCache;
    this.cacheSize = this.savedCacheSize;
  }

  /** Moves the top byte of low out (through the held bytes, which a carry increments). */
  private shiftLow(): void {
    const low = this.low;
    if (low < 0xff000000 || low >= 0x100000000) {
      const carry = low >= 0x100000000 ? 1 : 0;
      const out = this.out;
      let pos = this.pos;
      out[pos++] = this.cache + carry;
      for (let n = this.cacheSize - 1; n > 0; n--) out[pos++] = 0xff + carry;
      this.pos = pos;
      this.cacheSize = 0;
      this.cache = (low >>> 24) & 0xff;
    }
    this.cacheSize++;
    this.low = (low & 0x00ffffff) * 256;
  }

  /**
   * Codes `bit` with the probability probs[i] and adapts it. One shift restores the range: it
   * shrinks by at most 2048 / 31 per bit.
   */
  bit(probs: Uint16Array, i: number, bit: number): void {
    const p = probs[i]!;
    let range = this.range;
    const bound = (range >>> PROB_BITS) * p;
    if (bit === 0) {
      range = bound;
      probs[i] = p + ((PROB_ONE - p) >>> MOVE_BITS);
    } else {
      this.low += bound;
      range -= bound;
      probs[i] = p - (p >>> MOVE_BITS);
    }
    if (range < RC_TOP) {
      range *= 256;
      this.shiftLow();
    }
    this.range = range;
  }

  /** `bits` bits of `sym` through the bit tree at `base`, most significant first. */
  tree(probs: Uint16Array, base: number, bits: number, sym: number): void {
    let m = 1;
    for (let i = bits - 1; i >= 0; i--) {
      const b = (sym >>> i) & 1;
      this.bit(probs, base + m, b);
      m = (m << 1) | b;
    }
  }

  /** `bits` bits of `sym` through the reverse tree at `base`, least significant first. */
  reverseTree(probs: Uint16Array, base: number, bits: number, sym: number): void {
    let m = 1;
    for (let i = 0; i < bits; i++) {
      const b = (sym >>> i) & 1;
      this.bit(probs, base + m, b);
      m = (m << 1) | b;
    }
  }

  /** The low `count` bits of `value`, most significant first, each with probability one half. */
  direct(value: number, count: number): void {
    let range = this.range;
    for (let i = count - 1; i >= 0; i--) {
      range = Math.floor(range / 2);
      if ((value >>> i) & 1) this.low += range;
      if (range < RC_TOP) {
        range *= 256;
        this.shiftLow();
      }
    }
    this.range = range;
  }

  /** Ends the stream: five shifts move out low's four bytes; returns the stream's size. */
  flush(): number {
    for (let i = 0; i < 5; i++) this.shiftLow();
    return this.pos;
  }
}
