/** What a fixed-output encoder made: `data` (at most the capacity asked for) decodes to `src[0, consumed)`. */
export interface CompressedPrefix {
  /** How many input bytes, from the start, `data` holds. */
  consumed: number;
  /** The compressed bytes: a whole stream of the algorithm's format, decodable on its own. */
  data: Uint8Array;
}

/** Throws a RangeError unless `value` is an integer in [min, max]. */
export function checkInt(what: string, value: number, min: number, max: number): void {
  if (!Number.isInteger(value) || value < min || value > max) throw new RangeError(`${what} must be an integer from ${min} to ${max}, not ${value}`);
}
