import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { oracle } from '../../../test/helpers/oracles.js';
import { LZMA_DEFAULT_LEVEL, LZMA_MAX_LEVEL, LzmaEncoder, lzmaCompressDestSize } from '../src/lzma-encoder.js';
import { decodeProps, LzmaError, microLzmaDecompress } from '../src/lzma.js';
import { capArb, input, kindArb, oracleCases, python, pythonBatch, sizeArb } from './helpers.js';
import { plain, STREAM } from './lzma-stream.js';

/** Property-test run counts: modest by default, FC_RUNS for longer local runs. */
const runs = (n: number): number => Number(process.env.FC_RUNS ?? n);

const decode = (src: Uint8Array, size: number, exact = true, dictSize = 32768) => {
  const out = new Uint8Array(size);
  microLzmaDecompress(src, out, dictSize, exact);
  return Buffer.from(out);
};

/** ~0x5d: the complement of properties byte 93 (lc 3, lp 0, pb 2). */
const FIRST = 0xa2;

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

/** Every level; the dictionary sizes pick hash chains (64 KiB) or the binary tree (256 KiB) for the normal levels. */
const LEVELS = Array.from({ length: LZMA_MAX_LEVEL + 1 }, (_, level) => level);

describe('MicroLZMA fixed-output encoder', () => {
  for (const level of LEVELS) {
    for (const dictSize of level >= 4 && level < 9 ? [65536, 1 << 18] : [65536]) {
      it(`level ${level}, ${dictSize >> 10} KiB dictionary: fits, decodes exactly to the consumed prefix, fills the output`, () => {
        const enc = new LzmaEncoder(level, dictSize);
        fc.assert(
          fc.property(kindArb, fc.integer(), sizeArb, capArb, (kind, seed, size, cap) => {
            const src = input(kind, seed, size);
            const { consumed, data } = enc.compressDestSize(src, cap);
            expect(data.length).toBeLessThanOrEqual(cap);
            expect(consumed).toBeLessThanOrEqual(size);
            if (cap < 5) {
              expect(data.length).toBe(0);
              return;
            }
            expect(data[0]).toBe(FIRST);
            // One literal and the flush take 6 bytes.
            if (size > 0 && cap >= 6) expect(consumed).toBeGreaterThan(0);
            // Room for the whole input: all of it (LZMA grows incompressible bytes by under 2%).
            if (cap >= size + (size >> 5) + 16) expect(consumed).toBe(size);
            // What is left out did not fit: the next symbol would have passed the capacity.
            if (consumed < size) expect(data.length).toBeGreaterThanOrEqual(cap - 8);
            // As the kernel decodes a whole pcluster: every byte read, the code zero, no match
            // past the end; and every distance below the dictionary size, not just at most it.
            expect(decode(data, consumed, true, dictSize - 1).equals(src.subarray(0, consumed))).toBe(true);
          }),
          { seed: 3000 + level, numRuns: runs(level >= 8 ? 25 : 60) },
        );
      });
    }
  }

  it('small capacities: below 5 nothing, 5 the empty stream, 6 one literal; the empty input is the empty stream', () => {
    const src = input('text', 1, 1000);
    for (let cap = 0; cap < 5; cap++) expect(lzmaCompressDestSize(src, cap)).toEqual({ consumed: 0, data: new Uint8Array(0) });
    expect(lzmaCompressDestSize(src, 5)).toEqual({ consumed: 0, data: Uint8Array.of(FIRST, 0, 0, 0, 0) });
    expect(lzmaCompressDestSize(new Uint8Array(0), 4096)).toEqual({ consumed: 0, data: Uint8Array.of(FIRST, 0, 0, 0, 0) });
    const one = lzmaCompressDestSize(src, 6);
    expect(one.consumed).toBe(1);
    expect(one.data.length).toBe(6);
    expect(decode(one.data, 1).equals(src.subarray(0, 1))).toBe(true);
  });

  it('every capacity from 5 to 600 bytes: more room never holds less', () => {
    const src = input('compressible', 4, 4000);
    for (const level of [0, 3, 6, 9]) {
      const enc = new LzmaEncoder(level, 32768);
      let prev = 0;
      for (let cap = 5; cap <= 600; cap++) {
        const { consumed, data } = enc.compressDestSize(src, cap);
        expect(data.length).toBeLessThanOrEqual(cap);
        expect(decode(data, consumed).equals(src.subarray(0, consumed))).toBe(true);
        // The parse does not depend on the capacity, only where it stops.
        expect(consumed).toBeGreaterThanOrEqual(prev);
        prev = consumed;
      }
    }
  });

  it('repeats further back than the dictionary are not matched', () => {
    // A 3000-byte random block, 3000 other random bytes, the block again (6000 bytes after the
    // first) and once more (3000 after the second).
    const block = input('random', 21, 3000);
    const src = new Uint8Array(12000);
    src.set(block, 0);
    src.set(input('random', 22, 3000), 3000);
    src.set(block, 6000);
    src.set(block, 9000);
    for (const level of [0, 6, 9]) {
      const small = new LzmaEncoder(level, 4096).compressDestSize(src, 1 << 16);
      expect(small.consumed).toBe(src.length);
      expect(decode(small.data, src.length, true, 4095).equals(Buffer.from(src))).toBe(true);
      // With the first copy in reach, the second costs next to nothing too.
      const large = new LzmaEncoder(level, 8192).compressDestSize(src, 1 << 16);
      expect(large.data.length).toBeLessThan(small.data.length - 2000);
      expect(decode(large.data, src.length, true, 8191).equals(Buffer.from(src))).toBe(true);
    }
  });

  it('one encoder serves calls of any size in turn, and matches what a fresh one makes', () => {
    const data = input('compressible', 11, 300_000);
    const cuts = fc.sample(fc.tuple(fc.nat(data.length - 1), fc.integer({ min: 0, max: 60_000 }), fc.integer({ min: 5, max: 9000 })), { seed: 12, numRuns: 150 });
    for (const [level, dictSize] of [
      [2, 32768],
      [6, 32768],
      [6, 1 << 18],
    ] as const) {
      const enc = new LzmaEncoder(level, dictSize);
      for (const [at, len, cap] of cuts) {
        const src = data.subarray(at, at + len);
        const r = enc.compressDestSize(src, cap);
        expect(decode(r.data, r.consumed, true, dictSize).equals(src.subarray(0, r.consumed))).toBe(true);
      }
      for (const [at, len, cap] of cuts.slice(0, 20)) {
        const src = data.subarray(at, at + len);
        expect(enc.compressDestSize(src, cap)).toEqual(new LzmaEncoder(level, dictSize).compressDestSize(src, cap));
      }
    }
  });

  it('higher levels hold more in the same room; the default is 6', () => {
    const src = input('compressible', 5, 200_000);
    const consumed = (level: number) => lzmaCompressDestSize(src, 4096, level, 32768).consumed;
    expect(consumed(3)).toBeGreaterThan(consumed(0));
    expect(consumed(6)).toBeGreaterThan(consumed(3));
    expect(consumed(9)).toBeGreaterThanOrEqual(consumed(6));
    expect(new LzmaEncoder().level).toBe(LZMA_DEFAULT_LEVEL);
    expect(LZMA_DEFAULT_LEVEL).toBe(6);
  });

  it('rejects bad levels, dictionary sizes and capacities', () => {
    expect(() => new LzmaEncoder(10)).toThrow(RangeError);
    expect(() => new LzmaEncoder(-1)).toThrow(RangeError);
    expect(() => new LzmaEncoder(6, 4095)).toThrow(RangeError);
    expect(() => lzmaCompressDestSize(new Uint8Array(1), -1)).toThrow(RangeError);
    expect(() => lzmaCompressDestSize(new Uint8Array(1), 1.5)).toThrow(RangeError);
  });
});

describe('MicroLZMA streams against liblzma (python3 lzma: raw LZMA1, lc=3 lp=0 pb=2)', () => {
  const py = python('lzma');
  const have = oracle('python3 lzma', py !== undefined, 'python3 with the lzma module not installed');
  for (const dictSize of [65536, 1 << 18]) {
    it.skipIf(!have)(`every level, many inputs and capacities, ${dictSize >> 10} KiB dictionary: each decodes to the consumed prefix`, () => {
      const cases = oracleCases(33, [0, 3, 4, 6, 9], (level) => new LzmaEncoder(level, dictSize), (r) => r.consumed > 0);
      // The first byte back to the range coder's zero; liblzma's raw LZMA1 decoder takes no sizes,
      // so it gets the consumed length as its output limit.
      const filters = `[{'id': lzma.FILTER_LZMA1, 'lc': 3, 'lp': 0, 'pb': 2, 'dict_size': ${dictSize}}]`;
      const got = pythonBatch(py!, 'import lzma', `lzma.LZMADecompressor(lzma.FORMAT_RAW, filters=${filters}).decompress(b'\\x00' + data[1:], max_length=size)`, cases);
      expect(got).toEqual(cases.map((c) => c.want));
    });
  }
});
