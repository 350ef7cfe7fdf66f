import { inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { oracle } from '../../../test/helpers/oracles.js';
import { DeflateEncoder, DeflateError, deflateCompressBound, deflateCompressDestSize, deflateDecompress } from '../src/deflate.js';
import { capArb, input, kindArb, oracleCases, python, pythonBatch, sizeArb } from './helpers.js';

/** Inflates a stream that must be finished (a final block): zlib's Z_FINISH refuses one cut short. */
function inflateWhole(data: Uint8Array): Buffer {
  return inflateRawSync(data);
}

describe('deflate fixed-output encoder', () => {
  for (const level of [0, 1, 3, 4, 6, 9]) {
    it(`level ${level}: fits, is one finished stream of the consumed prefix, fills the output`, () => {
      const enc = new DeflateEncoder(level);
      fc.assert(
        fc.property(kindArb, fc.integer(), sizeArb, capArb, (kind, seed, size, cap) => {
          const src = input(kind, seed, size);
          const { consumed, data } = enc.compressDestSize(src, cap);
          expect(data.length).toBeLessThanOrEqual(cap);
          expect(consumed).toBeLessThanOrEqual(size);
          if (cap >= 2) expect(data.length).toBeGreaterThanOrEqual(2);
          // One stored literal needs a 5-byte header; a fixed-Huffman one fits in 3 bytes.
          if (size > 0 && cap >= 3) expect(consumed).toBeGreaterThan(0);
          if (cap >= deflateCompressBound(size)) expect(consumed).toBe(size);
          // What is left out did not fit: little room is left.
          if (consumed < size) expect(data.length).toBeGreaterThanOrEqual(cap - 6);
          if (consumed > 0) expect(data[0]).not.toBe(0); // EROFS strips leading zeros as padding
          if (cap >= 2) expect(inflateWhole(data).equals(src.subarray(0, consumed))).toBe(true);
          expect(Buffer.from(deflateDecompress(data, 1 << 20)).equals(src.subarray(0, consumed))).toBe(true);
        }),
        { seed: 2000 + level, numRuns: level === 9 ? 80 : 150 },
      );
    });
  }

  it('every capacity up to 700 bytes, and the empty input', () => {
    const src = input('compressible', 4, 5000);
    for (const level of [0, 1, 6, 9]) {
      const enc = new DeflateEncoder(level);
      let prev = 0;
      for (let cap = 0; cap <= 700; cap++) {
        const { consumed, data } = enc.compressDestSize(src, cap);
        expect(data.length).toBeLessThanOrEqual(cap);
        if (cap >= 2) expect(inflateWhole(data).equals(src.subarray(0, consumed))).toBe(true);
        // More room never holds much less.
        expect(consumed).toBeGreaterThanOrEqual(prev * 0.9 - 40);
        prev = Math.max(prev, consumed);
      }
    }
    expect(deflateCompressDestSize(new Uint8Array(0), 100)).toEqual({ consumed: 0, data: Uint8Array.of(0x03, 0x00) });
    expect(deflateCompressDestSize(src, 1)).toEqual({ consumed: 0, data: new Uint8Array(0) });
  });

  it('thousands of calls on one encoder: no entry of an earlier call is taken for a match', () => {
    const data = input('compressible', 11, 400_000);
    const cuts = fc.sample(fc.tuple(fc.nat(data.length - 1), fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 16, max: 5000 })), { seed: 13, numRuns: 1000 });
    for (const level of [1, 6]) {
      const enc = new DeflateEncoder(level);
      for (const [at, len, cap] of cuts) {
        const src = data.subarray(at, at + len);
        const r = enc.compressDestSize(src, cap);
        expect(inflateWhole(r.data).equals(src.subarray(0, r.consumed))).toBe(true);
      }
      for (const [at, len, cap] of cuts.slice(0, 50)) {
        const src = data.subarray(at, at + len);
        expect(enc.compressDestSize(src, cap)).toEqual(new DeflateEncoder(level).compressDestSize(src, cap));
      }
    }
  });

  it('several blocks for a large capacity; the levels rank as zlib does', () => {
    const src = input('compressible', 9, 400_000);
    const sizes = [1, 6, 9].map((level) => deflateCompressDestSize(src, 1 << 20, level).data.length);
    expect(sizes[0]).toBeGreaterThan(sizes[1]!);
    expect(sizes[1]).toBeGreaterThanOrEqual(sizes[2]!);
    const r = deflateCompressDestSize(src, 20_000, 6);
    expect(inflateWhole(r.data).equals(src.subarray(0, r.consumed))).toBe(true);
    // Incompressible input: stored blocks, 5 bytes a block.
    const noise = input('random', 3, 100_000);
    const s = deflateCompressDestSize(noise, 1 << 20, 6);
    expect(s.consumed).toBe(noise.length);
    expect(s.data.length).toBeLessThanOrEqual(deflateCompressBound(noise.length));
  });

  it('rejects bad levels; corrupt streams throw DeflateError', () => {
    expect(() => new DeflateEncoder(10)).toThrow(RangeError);
    expect(() => deflateDecompress(Uint8Array.of(0xff, 0xff, 0xff), 100)).toThrow(DeflateError);
    const { data } = deflateCompressDestSize(input('text', 1, 50_000), 4096, 6);
    expect(() => deflateDecompress(data, 100)).toThrow(DeflateError);
    // A stream cut short yields what it holds.
    expect(deflateDecompress(data.subarray(0, 2000), 1 << 20).length).toBeGreaterThan(0);
  });
});

describe('deflate streams against stock zlib (python3 zlib, raw inflate)', () => {
  const py = python('zlib');
  const have = oracle('python3 zlib', py !== undefined, 'python3 not installed');
  it.skipIf(!have)('every level decodes to the consumed prefix, ending exactly at the last byte', () => {
    const cases = oracleCases(32, [0, 1, 6, 9], (level) => new DeflateEncoder(level), (r) => r.data.length > 0);
    // The stream must end (eof) with nothing after it, as the kernel's inflate (Z_STREAM_END) wants.
    const decode = '(lambda o: (lambda r: r if o.eof and not o.unused_data and len(r) == size else b"incomplete")(o.decompress(data)))(zlib.decompressobj(-15))';
    const got = pythonBatch(py!, 'import zlib', decode, cases);
    expect(got).toEqual(cases.map((c) => c.want));
  });
});
