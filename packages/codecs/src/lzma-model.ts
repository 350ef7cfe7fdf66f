/**
 * The LZMA model both the MicroLZMA decoder and encoder use: the constants of the format, where
 * each adaptive probability lives in one Uint16Array, the state machine, the properties byte and
 * the distance slots. (The format is the LZMA SDK's; names follow liblzma and the kernel's xz.)
 */

/** Probabilities are 11-bit: the chance, out of 2048, that the next bit is 0. */
export const PROB_BITS = 11;
export const PROB_ONE = 1 << PROB_BITS;
export const PROB_INIT = PROB_ONE >> 1;
/** Adaptation speed: each coded bit moves its probability 1/32 of the way. */
export const MOVE_BITS = 5;
/** The range coder keeps its range at least this (it shifts a byte out or in below). */
export const RC_TOP = 1 << 24;

export const STATES = 12;
/** States below this follow a literal; at or above, a match or rep (the next literal is "matched"). */
export const LIT_STATES = 7;
export const POS_STATES_MAX = 16;
export const REPS = 4;

export const LEN_LOW_BITS = 3;
export const LEN_MID_BITS = 3;
export const LEN_HIGH_BITS = 8;
export const LEN_LOW_SYMBOLS = 1 << LEN_LOW_BITS;
export const LEN_MID_SYMBOLS = 1 << LEN_MID_BITS;
/** Lengths 2..273: 8 low, 8 mid, 256 high. */
export const LEN_SYMBOLS = LEN_LOW_SYMBOLS + LEN_MID_SYMBOLS + (1 << LEN_HIGH_BITS);
export const MATCH_LEN_MIN = 2;
export const MATCH_LEN_MAX = MATCH_LEN_MIN + LEN_SYMBOLS - 1;

/** Distance coding: the slot tree is chosen by the length (2, 3, 4, 5+). */
export const DIST_STATES = 4;
export const DIST_SLOT_BITS = 6;
/** Slots below this are the distance itself; up to DIST_MODEL_END their low bits are modelled. */
export const DIST_MODEL_START = 4;
export const DIST_MODEL_END = 14;
export const FULL_DISTANCES = 1 << (DIST_MODEL_END >> 1);
/** From DIST_MODEL_END on, the low 4 bits go through the align tree, the rest are direct bits. */
export const ALIGN_BITS = 4;
export const ALIGN_SIZE = 1 << ALIGN_BITS;
export const ALIGN_MASK = ALIGN_SIZE - 1;

/** Probabilities per literal context: the plain tree (0x100) and the two matched trees. */
export const LITERAL_CODER_SIZE = 0x300;

/** lc + lp may not exceed this (kernel xz and liblzma's MicroLZMA both refuse more). */
export const LCLP_MAX = 4;
/** The largest properties byte: pb = 4, lp = 4, lc = 8. */
export const PROPS_MAX = (4 * 5 + 4) * 9 + 8;

/**
 * A length coder's probabilities (one for matches, one for reps): choice, choice2, then
 * low[pos state][8], mid[pos state][8] and high[256], each a bit tree indexed from 1.
 */
export const LEN_CHOICE = 0;
export const LEN_CHOICE2 = 1;
export const LEN_LOW = 2;
export const LEN_MID = LEN_LOW + (POS_STATES_MAX << LEN_LOW_BITS);
export const LEN_HIGH = LEN_MID + (POS_STATES_MAX << LEN_MID_BITS);
export const LEN_PROBS = LEN_HIGH + (1 << LEN_HIGH_BITS);

/**
 * Where each probability lives in the model's Uint16Array. Per state (and pos state where the
 * format says so): is it a match, a rep, rep0, rep1, rep2, a long rep0. Then the distance slot
 * trees per distance state, the reverse trees of slots 4..13 (the tree of slot s starts at
 * DIST_SPECIAL + base(s) - s - 1 and is indexed from 1), the align tree, the two length coders
 * and the literal coders, LITERAL_CODER_SIZE per context.
 */
export const IS_MATCH = 0;
export const IS_REP = IS_MATCH + STATES * POS_STATES_MAX;
export const IS_REP0 = IS_REP + STATES;
export const IS_REP1 = IS_REP0 + STATES;
export const IS_REP2 = IS_REP1 + STATES;
export const IS_REP0_LONG = IS_REP2 + STATES;
export const DIST_SLOT = IS_REP0_LONG + STATES * POS_STATES_MAX;
export const DIST_SPECIAL = DIST_SLOT + (DIST_STATES << DIST_SLOT_BITS);
export const DIST_ALIGN = DIST_SPECIAL + FULL_DISTANCES - DIST_MODEL_END;
export const MATCH_LEN_CODER = DIST_ALIGN + ALIGN_SIZE;
export const REP_LEN_CODER = MATCH_LEN_CODER + LEN_PROBS;
export const LITERAL = REP_LEN_CODER + LEN_PROBS;

/** How many probabilities a model with these literal context bits holds. */
export function probCount(lc: number, lp: number): number {
  return LITERAL + (LITERAL_CODER_SIZE << (lc + lp));
}

/** State after a literal, a match, a long rep and a short rep (one byte at rep0). */
export const afterLiteral = (s: number): number => (s < 4 ? 0 : s < 10 ? s - 3 : s - 6);
export const afterMatch = (s: number): number => (s < LIT_STATES ? 7 : 10);
export const afterLongRep = (s: number): number => (s < LIT_STATES ? 8 : 11);
export const afterShortRep = (s: number): number => (s < LIT_STATES ? 9 : 11);

/** The distance state (which slot tree) of a match of `len`. */
export const distState = (len: number): number => (len < MATCH_LEN_MIN + DIST_STATES ? len - MATCH_LEN_MIN : DIST_STATES - 1);

/**
 * The slot of a distance minus one (`d`, below 2^31): d itself below 4, else twice the index of
 * its top bit plus the bit below it. Slot s >= 4 covers (2 | s & 1) << (s / 2 - 1) onward, with
 * s / 2 - 1 more bits.
 */
export function distSlot(d: number): number {
  if (d < DIST_MODEL_START) return d;
  const top = 31 - Math.clz32(d);
  return (top << 1) | ((d >>> (top - 1)) & 1);
}

/** Why a MicroLZMA stream could not be decoded, or options an encoder refuses. */
export class LzmaError extends Error {}

/** lc/lp/pb decoded from the properties byte. */
export interface LzmaProps {
  lc: number;
  lp: number;
  pb: number;
}

/** Decodes a properties byte (pb * 45 + lp * 9 + lc); throws on values the kernel refuses. */
export function decodeProps(byte: number): LzmaProps {
  if (byte > PROPS_MAX) throw new LzmaError(`properties byte ${byte} out of range`);
  const lc = byte % 9;
  const lp = Math.floor(byte / 9) % 5;
  const pb = Math.floor(byte / 45);
  if (lc + lp > LCLP_MAX) throw new LzmaError(`lc ${lc} + lp ${lp} exceeds ${LCLP_MAX}`);
  return { lc, lp, pb };
}

/** The properties byte of lc/lp/pb. */
export function encodeProps(p: LzmaProps): number {
  return (p.pb * 5 + p.lp) * 9 + p.lc;
}
