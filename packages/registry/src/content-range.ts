/** A `Content-Range: bytes FIRST-LAST/COMPLETE` value (COMPLETE may be `*`: undefined). */
export interface ContentRange {
  first: number;
  last: number;
  complete?: number;
}

/** Parses a byte Content-Range; undefined when the header is absent or not of that form. */
export function parseContentRange(value: string | null): ContentRange | undefined {
  if (value === null) return undefined;
  const m = /^bytes ([0-9]{1,16})-([0-9]{1,16})\/([0-9]{1,16}|\*)$/.exec(value.trim());
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (last < first) return undefined;
  return m[3] === '*' ? { first, last } : { first, last, complete: Number(m[3]) };
}

/** Whether a 206's range is exactly the rest of a `size`-byte blob from `offset`. */
export function rangeIsRest(range: ContentRange | undefined, offset: number, size: number): boolean {
  return range !== undefined && range.first === offset && range.last === size - 1 && (range.complete === undefined || range.complete === size);
}
