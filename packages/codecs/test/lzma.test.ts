import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decodeProps, LzmaError, microLzmaDecompress } from '../src/lzma.js';
import { plain, STREAM } from './lzma-stream.js';


const decode = (src: Uint8Array, size: number, exact = true, dictSize = 32768) => {
  const out = new Uint8Array(size);
  microLzmaDecompress(src, out, dictSize, exact);
  return Buffer.from(out);
};

describe('MicroLZMA', () => {
  it('decodes a stream mkfs.erofs made, ending exactly where the file does', () => {
    expect(decode(STREAM, 2500).equals(plain())).toBe(true);
  });

  it('properties: pb * 45 + lp * 9 + lc, at most 224, lc + lp at most 4', () => {
    expect(decodeProps(93)).toEqual({ lc: 3, lp: 0, pb: 2 });
    expect(decodeProps(4 * 45 + 4)).toEqual({ lc: 4, lp: 0, pb: 4 });
    expect(() => decodeProps(225)).toThrow(LzmaError);
    expect(() => decodeProps(9 + 4)).toThrow(/lc 4 \+ lp 1/);
    expect(() => decode(Buffer.from([~225 & 0xff, 0, 0, 0, 0, 0]), 10)).toThrow(LzmaError);
  });

  it('exact: all input consumed and the output full; otherwise a prefix is fine', () => {
    expect(decode(STREAM, 1000, false).equals(plain().subarray(0, 1000))).toBe(true);
    expect(() => decode(STREAM, 1000)).toThrow(/compressed bytes|past the end/);
    const longer = Buffer.concat([STREAM, Buffer.from([0])]);
    expect(() => decode(longer, 2500)).toThrow(/output complete after 446 of 447/);
    expect(decode(longer, 2500, false).equals(plain())).toBe(true);
    expect(() => decode(STREAM.subarray(0, STREAM.length - 1), 2500)).toThrow(LzmaError);
    expect(() => decode(STREAM, 2600)).toThrow(LzmaError);
    expect(() => decode(STREAM.subarray(0, 4), 10)).toThrow(/too few/);
    expect(() => decode(new Uint8Array(0), 10)).toThrow(/empty/);
  });

  it('distances must stay inside the declared dictionary', () => {
    expect(() => decode(STREAM, 2500, true, 64)).toThrow(/exceeds the 64-byte dictionary/);
  });

  it('mutated or random input fails with LzmaError only, in bounded time', () => {
    const edit = fc.record({ pos: fc.nat(STREAM.length - 1), byte: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(edit, { minLength: 1, maxLength: 4 }), fc.boolean(), (edits, exact) => {
        const src = Buffer.from(STREAM);
        for (const { pos, byte } of edits) src[pos] = byte;
        try {
          decode(src, 2500, exact);
        } catch (err) {
          if (!(err instanceof LzmaError)) throw err;
        }
      }),
      { seed: 4242, numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 64 }), fc.nat(1 << 16), (src, size) => {
        try {
          decode(src, size);
        } catch (err) {
          if (!(err instanceof LzmaError)) throw err;
        }
      }),
      { seed: 4243, numRuns: 500 },
    );
  });
});
