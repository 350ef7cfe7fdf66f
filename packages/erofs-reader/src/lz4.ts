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
