/**
 * MicroLZMA decoder: raw LZMA1 as EROFS stores it (`mkfs.erofs -zlzma`). There is no header and
 * no end marker: the first byte is the bitwise NOT of the lc/lp/pb properties byte (it takes the
 * place of the range coder's first byte, which is always zero in LZMA), the compressed size is the
 * pcluster's and the decompressed size the extent's. The dictionary is the output buffer itself
 * (every pcluster is decoded on its own); distances must also stay below the image's declared
 * dictionary size, as the kernel's decoder requires. The model (probability layout, states,
 * slots) is lzma-model.ts, which the encoder shares.
 *
 * Every loop is bounded: each step emits at least one output byte and reading past the input is an
 * error, so corrupt data costs at most O(output + input) work and throws LzmaError.
 */
import {
  afterLiteral,
  afterLongRep,
  afterMatch,
  afterShortRep,
  ALIGN_BITS,
  decodeProps,
  DIST_ALIGN,
  DIST_MODEL_END,
  DIST_MODEL_START,
  DIST_SLOT,
  DIST_SLOT_BITS,
  DIST_SPECIAL,
  distState,
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
  LEN_MID,
  LEN_MID_BITS,
  LIT_STATES,
  LITERAL,
  LITERAL_CODER_SIZE,
  LzmaError,
  type LzmaProps,
  MATCH_LEN_CODER,
  MATCH_LEN_MIN,
  MOVE_BITS,
  POS_STATES_MAX,
  PROB_BITS,
  PROB_INIT,
  PROB_ONE,
  probCount,
  RC_TOP,
  REP_LEN_CODER,
} from './lzma-model.js';

export { decodeProps, LzmaError, type LzmaProps } from './lzma-model.js';

/** Bytes the range decoder starts with: the properties byte (shifted out) and the 32-bit code. */
const RC_INIT_BYTES = 5;

/** Indexes into RangeDecoder's state words. */
const RANGE = 0;
const CODE = 1;

/** The binary range decoder over one input buffer; reading past its end throws. */
class RangeDecoder {
  /**
   * range and code, unsigned 32-bit. A Uint32Array holds them as raw words; as object fields V8
   * would box them (they outgrow 31-bit integers), which measured about 20% slower.
   */
  private readonly rc = new Uint32Array([0xffffffff, 0]);
  private pos = RC_INIT_BYTES;

  constructor(private readonly src: Uint8Array) {
    if (src.length < RC_INIT_BYTES) throw new LzmaError(`${src.length} bytes are too few for an LZMA stream`);
    // The first byte is the properties byte; the code is the next four, big-endian.
    for (let i = 1; i < RC_INIT_BYTES; i++) this.rc[CODE] = (this.rc[CODE]! << 8) | src[i]!;
  }

  /** Input bytes consumed so far. */
  get consumed(): number {
    return this.pos;
  }

  /** True when the code is zero: how an encoder's flush leaves a complete stream. */
  get finished(): boolean {
    return this.rc[CODE] === 0;
  }

  /** Keeps the range at least 2^24 by shifting in one input byte. */
  normalize(): void {
    const rc = this.rc;
    if (rc[RANGE]! >= RC_TOP) return;
    if (this.pos >= this.src.length) throw new LzmaError('compressed data ends too early');
    rc[RANGE] = rc[RANGE]! << 8;
    rc[CODE] = (rc[CODE]! << 8) | this.src[this.pos++]!;
  }

  /** One bit with the adaptive probability probs[i] (of a zero), updating it. */
  bit(probs: Uint16Array, i: number): number {
    this.normalize();
    const rc = this.rc;
    const p = probs[i]!;
    const bound = (rc[RANGE]! >>> PROB_BITS) * p;
    if (rc[CODE]! < bound) {
      rc[RANGE] = bound;
      probs[i] = p + ((PROB_ONE - p) >>> MOVE_BITS);
      return 0;
    }
    rc[RANGE] -= bound;
    rc[CODE] -= bound;
    probs[i] = p - (p >>> MOVE_BITS);
    return 1;
  }

  /** `bits` bits, most significant first, through the binary tree of probabilities at `base`. */
  tree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    for (let i = 0; i < bits; i++) m = (m << 1) | this.bit(probs, base + m);
    return m - (1 << bits);
  }

  /** `bits` bits, least significant first, through the tree at `base`. */
  reverseTree(probs: Uint16Array, base: number, bits: number): number {
    let m = 1;
    let sym = 0;
    for (let i = 0; i < bits; i++) {
      const b = this.bit(probs, base + m);
      m = (m << 1) | b;
      sym |= b << i;
    }
    return sym;
  }

  /** `count` (at most 26) bits with probability one half each, most significant first. */
  direct(count: number): number {
    const rc = this.rc;
    let v = 0;
    for (let i = 0; i < count; i++) {
      this.normalize();
      rc[RANGE] >>>= 1;
      const b = rc[CODE]! >= rc[RANGE]! ? 1 : 0;
      if (b) rc[CODE] -= rc[RANGE]!;
      v = (v << 1) | b;
    }
    return v;
  }
}

/** A length (2..273) through the length coder at `coder`: low and mid trees by pos state, then high. */
function decodeLength(rc: RangeDecoder, probs: Uint16Array, coder: number, posState: number): number {
  if (!rc.bit(probs, coder + LEN_CHOICE)) return MATCH_LEN_MIN + rc.tree(probs, coder + LEN_LOW + (posState << LEN_LOW_BITS), LEN_LOW_BITS);
  if (!rc.bit(probs, coder + LEN_CHOICE2)) return MATCH_LEN_MIN + (1 << LEN_LOW_BITS) + rc.tree(probs, coder + LEN_MID + (posState << LEN_MID_BITS), LEN_MID_BITS);
  return MATCH_LEN_MIN + (1 << LEN_LOW_BITS) + (1 << LEN_MID_BITS) + rc.tree(probs, coder + LEN_HIGH, LEN_HIGH_BITS);
}

/** The LZMA probability model and decoder state for one stream. */
class LzmaDecoder {
  private readonly probs: Uint16Array;
  private readonly pbMask: number;
  private readonly lpMask: number;
  private state = 0;
  /** The last four distances, each minus one (rep0 is the current match's). */
  private rep0 = 0;
  private rep1 = 0;
  private rep2 = 0;
  private rep3 = 0;
  /** Output position. */
  private pos = 0;
  /** Bytes of the last match that did not fit in the output. */
  private pending = 0;

  constructor(
    private readonly rc: RangeDecoder,
    private readonly out: Uint8Array,
    private readonly props: LzmaProps,
    private readonly dictSize: number,
  ) {
    this.probs = new Uint16Array(probCount(props.lc, props.lp)).fill(PROB_INIT);
    this.pbMask = (1 << props.pb) - 1;
    this.lpMask = (1 << props.lp) - 1;
  }

  /** Fills the output; returns whether a match ran past its end (bytes the stream still owes). */
  run(): boolean {
    const { rc, out, probs } = this;
    while (this.pos < out.length) {
      const posState = this.pos & this.pbMask;
      if (!rc.bit(probs, IS_MATCH + this.state * POS_STATES_MAX + posState)) {
        this.decodeLiteral();
        continue;
      }
      const len = rc.bit(probs, IS_REP + this.state) ? this.decodeRep(posState) : this.decodeMatch(posState);
      this.copyMatch(len);
    }
    return this.pending > 0;
  }

  private decodeLiteral(): void {
    const { rc, out, pos, probs } = this;
    const { lc } = this.props;
    const prev = pos > 0 ? out[pos - 1]! : 0;
    const base = LITERAL + LITERAL_CODER_SIZE * (((pos & this.lpMask) << lc) + (prev >> (8 - lc)));
    let sym = 1;
    if (this.state >= LIT_STATES) {
      // After a match the byte at rep0 steers the model until the first differing bit.
      let match = out[pos - this.rep0 - 1]!;
      while (sym < 0x100) {
        const matchBit = (match >> 7) & 1;
        match <<= 1;
        const b = rc.bit(probs, base + ((1 + matchBit) << 8) + sym);
        sym = (sym << 1) | b;
        if (b !== matchBit) break;
      }
    }
    while (sym < 0x100) sym = (sym << 1) | rc.bit(probs, base + sym);
    out[this.pos++] = sym & 0xff;
    this.state = afterLiteral(this.state);
  }

  /**
   * A match with a new distance: its length, then the distance (into rep0). The distance is
   * checked against the dictionary here, so every rep distance is one that passed.
   */
  private decodeMatch(posState: number): number {
    const len = decodeLength(this.rc, this.probs, MATCH_LEN_CODER, posState);
    const dist = this.decodeDistance(len);
    if (dist >= this.dictSize) throw new LzmaError(`match distance ${dist + 1} exceeds the ${this.dictSize}-byte dictionary`);
    this.rep3 = this.rep2;
    this.rep2 = this.rep1;
    this.rep1 = this.rep0;
    this.rep0 = dist;
    this.state = afterMatch(this.state);
    return len;
  }

  /** Distance minus one: a 6-bit slot picks the top two bits and how many bits follow. */
  private decodeDistance(len: number): number {
    const { rc, probs } = this;
    const slot = rc.tree(probs, DIST_SLOT + (distState(len) << DIST_SLOT_BITS), DIST_SLOT_BITS);
    if (slot < DIST_MODEL_START) return slot;
    const bits = (slot >> 1) - 1;
    const top = 2 | (slot & 1);
    if (slot < DIST_MODEL_END) {
      const base = top << bits;
      return base + rc.reverseTree(probs, DIST_SPECIAL + base - slot - 1, bits);
    }
    // Up to 32 bits in all: the high part fits an int, the final scaling may not.
    const high = (top << (bits - ALIGN_BITS)) + rc.direct(bits - ALIGN_BITS);
    return high * (1 << ALIGN_BITS) + rc.reverseTree(probs, DIST_ALIGN, ALIGN_BITS);
  }

  /** A repeat of one of the last four distances; a short rep is one byte at rep0. */
  private decodeRep(posState: number): number {
    const { rc, state, probs } = this;
    if (!rc.bit(probs, IS_REP0 + state)) {
      if (!rc.bit(probs, IS_REP0_LONG + state * POS_STATES_MAX + posState)) {
        this.state = afterShortRep(state);
        return 1;
      }
    } else {
      let dist: number;
      if (!rc.bit(probs, IS_REP1 + state)) dist = this.rep1;
      else {
        if (!rc.bit(probs, IS_REP2 + state)) dist = this.rep2;
        else {
          dist = this.rep3;
          this.rep3 = this.rep2;
        }
        this.rep2 = this.rep1;
      }
      this.rep1 = this.rep0;
      this.rep0 = dist;
    }
    this.state = afterLongRep(state);
    return decodeLength(rc, probs, REP_LEN_CODER, posState);
  }

  /** Copies `len` bytes from rep0 back, as many as fit; the rest is pending. */
  private copyMatch(len: number): void {
    const { out, pos } = this;
    const dist = this.rep0 + 1;
    if (dist > pos) throw new LzmaError(`match distance ${dist} reaches before the output start (at ${pos})`);
    const n = Math.min(len, out.length - pos);
    // Byte by byte when short (cheaper than a call) or overlapping (repeats a pattern).
    if (dist >= n && n > 32) out.copyWithin(pos, pos - dist, pos - dist + n);
    else for (let i = pos; i < pos + n; i++) out[i] = out[i - dist]!;
    this.pos = pos + n;
    this.pending = len - n;
  }
}

/**
 * Decodes a MicroLZMA stream into `out` (filled completely). With `exact` the stream must end
 * exactly there, as the kernel checks for a whole pcluster: every input byte consumed, no match
 * running past the end and the range coder flushed (code zero). Without it (the extent uses only
 * a prefix of what the pcluster decodes to) decoding just stops when the output is full.
 */
export function microLzmaDecompress(src: Uint8Array, out: Uint8Array, dictSize: number, exact: boolean): void {
  if (src.length === 0) throw new LzmaError('empty LZMA stream');
  const props = decodeProps(~src[0]! & 0xff);
  const rc = new RangeDecoder(src);
  const overrun = new LzmaDecoder(rc, out, props, dictSize).run();
  if (!exact) return;
  rc.normalize();
  if (overrun) throw new LzmaError('the last match runs past the end of the output');
  if (rc.consumed !== src.length) throw new LzmaError(`output complete after ${rc.consumed} of ${src.length} compressed bytes`);
  if (!rc.finished) throw new LzmaError('range coder not flushed at the end of the stream');
}
