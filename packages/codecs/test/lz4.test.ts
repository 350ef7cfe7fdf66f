import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { oracle } from '../../../test/helpers/oracles.js';
import { Lz4Encoder, Lz4Error, lz4CompressBound, lz4CompressDestSize, lz4Decompress } from '../src/lz4.js';
import { capArb, input, kindArb, oracleCases, python, pythonBatch, sizeArb } from './helpers.js';

/**
 * Walks an LZ4 block as the kernel's LZ4_decompress_safe judges it: offsets 1..65535 inside the
 * output, the last sequence literals only, the last match starting at least 12 bytes before the
 * end and ending at least 5 before it. Returns the decoded size.
 */
function checkBlock(b: Uint8Array): number {
  let ip = 0;
  let op = 0;
  let lastStart = -1;
  let lastEnd = -1;
  const length = (n: number) => {
    if (n < 15) return n;
    for (;;) {
      const x = b[ip++]!;
      n += x;
      if (x !== 255) return n;
    }
  };
  for (;;) {
    const token = b[ip++]!;
    const lit = length(token >>> 4);
    ip += lit;
    op += lit;
    if (ip >= b.length) break;
    const off = b[ip]! | (b[ip + 1]! << 8);
    ip += 2;
    if (off === 0 || off > op) throw new Error(`bad offset ${off} at ${op}`);
    const len = length(token & 15) + 4;
    lastStart = op;
    op += len;
    lastEnd = op;
  }
  if (ip !== b.length) throw new Error('literals overrun the block');
  if (lastStart >= 0 && (lastStart > op - 12 || lastEnd > op - 5)) throw new Error(`last match [${lastStart}, ${lastEnd}) too close to the end ${op}`);
  return op;
}

function decode(data: Uint8Array, size: number): Uint8Array {
  const out = new Uint8Array(size + 16);
  return out.subarray(0, lz4Decompress(data, out));
}

const LEVELS = [0, 1, 4, 9, 10, 11, 12];

describe('lz4 fixed-output encoder', () => {
  for (const level of LEVELS) {
    it(`level ${level}: fits, holds a decodable prefix, keeps the end rules, fills the output`, () => {
      const enc = new Lz4Encoder(level);
      fc.assert(
        fc.property(kindArb, fc.integer(), sizeArb, capArb, (kind, seed, size, cap) => {
          const src = input(kind, seed, size);
          const { consumed, data } = enc.compressDestSize(src, cap);
          expect(data.length).toBeLessThanOrEqual(cap);
          expect(consumed).toBeLessThanOrEqual(size);
          if (size > 0 && cap >= 2) expect(consumed).toBeGreaterThan(0);
          if (cap >= lz4CompressBound(size)) expect(consumed).toBe(size);
          // What is left out did not fit: the block is full but for at most one byte (a literal
          // that would need another length byte).
          if (consumed < size) expect(data.length).toBeGreaterThanOrEqual(cap - 1);
          expect(checkBlock(data)).toBe(consumed);
          if (consumed > 0) expect(data[0]).not.toBe(0); // EROFS strips leading zeros as padding
          expect(Buffer.from(decode(data, consumed)).equals(src.subarray(0, consumed))).toBe(true);
        }),
        { seed: 1000 + level, numRuns: level >= 11 ? 60 : 200 },
      );
    });
  }

  it('every capacity up to 600 bytes, on inputs of short matches, keeps the end rules', () => {
    // Five-byte tokens between random bytes: matches of 4..6 bytes, where the room a match must
    // leave for the literals after it is the largest.
    const tokens = Array.from({ length: 12 }, (_, i) => input('random', 100 + i, 5));
    const noise = input('random', 99, 4000);
    const src = new Uint8Array(3000);
    for (let i = 0, k = 0; i < src.length; k++) {
      const t = tokens[noise[k]! % tokens.length]!.subarray(0, 4 + (noise[k + 1]! % 2));
      src.set(t.subarray(0, Math.min(t.length, src.length - i)), i);
      i += t.length;
      if (i < src.length) src[i++] = noise[k + 2]!;
    }
    for (const level of [0, 1, 9, 12]) {
      const enc = new Lz4Encoder(level);
      for (let cap = 1; cap <= 600; cap++) {
        const { consumed, data } = enc.compressDestSize(src, cap);
        expect(data.length).toBeLessThanOrEqual(cap);
        expect(checkBlock(data)).toBe(consumed);
        expect(Buffer.from(decode(data, consumed)).equals(src.subarray(0, consumed))).toBe(true);
      }
    }
  });

  it('capacity 0 holds nothing, 1 the empty block; the empty input is the empty block', () => {
    const src = input('text', 1, 1000);
    expect(lz4CompressDestSize(src, 0)).toEqual({ consumed: 0, data: new Uint8Array(0) });
    expect(lz4CompressDestSize(src, 1, 9)).toEqual({ consumed: 0, data: Uint8Array.of(0) });
    expect(lz4CompressDestSize(new Uint8Array(0), 100)).toEqual({ consumed: 0, data: Uint8Array.of(0) });
    expect(lz4CompressDestSize(src, 2).consumed).toBe(1);
    // Fewer than 13 bytes are literals only.
    expect(lz4CompressDestSize(new Uint8Array(12), 100).data).toEqual(Uint8Array.of(12 << 4, ...new Uint8Array(12)));
  });

  it('one encoder serves calls of any size in turn, and matches what a fresh one makes', () => {
    const a = new Lz4Encoder(9);
    const inputs = [input('text', 1, 100_000), input('random', 2, 5000), input('zeros', 0, 70_000), input('compressible', 3, 200_000)];
    for (let round = 0; round < 2; round++) {
      for (const src of inputs) {
        const r = a.compressDestSize(src, 4096);
        expect(r).toEqual(new Lz4Encoder(9).compressDestSize(src, 4096));
      }
    }
  });

  it('hundreds of calls on one encoder: no entry of an earlier call is taken for a match', () => {
    // Stale table entries would point at bytes of another input: each call must equal what a fresh
    // encoder makes. Small capacities end calls early, often in a match search that stepped back.
    for (const kind of ['compressible', 'text'] as const) {
      const data = input(kind, 11, 300_000);
      const cuts = fc.sample(fc.tuple(fc.nat(data.length - 1), fc.integer({ min: 0, max: 30_000 }), fc.integer({ min: 8, max: 300 })), { seed: 12, numRuns: 400 });
      for (const level of [0, 9]) {
        const enc = new Lz4Encoder(level);
        for (const [at, len, cap] of cuts) {
          const src = data.subarray(at, at + len);
          const r = enc.compressDestSize(src, cap);
          expect(Buffer.from(decode(r.data, r.consumed)).equals(src.subarray(0, r.consumed))).toBe(true);
          expect(r).toEqual(new Lz4Encoder(level).compressDestSize(src, cap));
        }
      }
    }
  });

  it('a call that ends in a match search which stepped back leaves no entry for the next', () => {
    // Random bytes make the fast search skip ahead in growing steps; it lands inside the zeros,
    // steps back toward their start, and the literals before do not fit. The next call, of zeros,
    // must not take the landing position's entry for a match at or after its own position.
    const enc = new Lz4Encoder(0);
    for (let seed = 1; seed <= 40; seed++) {
      const first = new Uint8Array(8000 + 100 * seed + 5000);
      first.set(input('random', seed, 8000 + 100 * seed));
      enc.compressDestSize(first, 100);
      // Two other bytes first: the zeros' hash is looked up before it is stored again.
      const zeros = new Uint8Array(3000);
      zeros.set([0xab, 0xcd]);
      const r = enc.compressDestSize(zeros, 100);
      expect(checkBlock(r.data)).toBe(r.consumed);
      expect(Buffer.from(decode(r.data, r.consumed)).equals(zeros.subarray(0, r.consumed))).toBe(true);
    }
  });

  it('HC levels are smaller than the fast one, and the top one the smallest', () => {
    const src = input('compressible', 5, 200_000);
    const consumed = (level: number) => lz4CompressDestSize(src, 4096, level).consumed;
    expect(consumed(9)).toBeGreaterThan(consumed(0));
    expect(consumed(12)).toBeGreaterThanOrEqual(consumed(9));
  });

  it('rejects bad levels and capacities', () => {
    expect(() => new Lz4Encoder(13)).toThrow(RangeError);
    expect(() => new Lz4Encoder(-1)).toThrow(RangeError);
    expect(() => lz4CompressDestSize(new Uint8Array(1), -1)).toThrow(RangeError);
    expect(() => lz4CompressDestSize(new Uint8Array(1), 1.5)).toThrow(RangeError);
  });
});

describe('lz4 decoder', () => {
  it('literals, overlapping matches, partial output, and bounds', () => {
    const src = Uint8Array.from([0x35, 0x61, 0x62, 0x63, 3, 0, 0x10, 0x21]);
    const out = new Uint8Array(13);
    expect(lz4Decompress(src, out)).toBe(13);
    expect(Buffer.from(out).toString()).toBe('abcabcabcabc!');
    const part = new Uint8Array(5);
    expect(lz4Decompress(src, part)).toBe(5);
    expect(Buffer.from(part).toString()).toBe('abcab');
    const long = Uint8Array.from([0xf0, 3, ...Buffer.from('x'.repeat(18))]);
    expect(lz4Decompress(long, new Uint8Array(18))).toBe(18);
    expect(() => lz4Decompress(Uint8Array.from([0x10, 0x61, 0, 0]), new Uint8Array(10))).toThrow(Lz4Error);
    expect(() => lz4Decompress(Uint8Array.from([0x10, 0x61, 9, 0]), new Uint8Array(10))).toThrow(Lz4Error);
    expect(() => lz4Decompress(Uint8Array.from([0x50, 0x61]), new Uint8Array(10))).toThrow(Lz4Error);
    expect(() => lz4Decompress(Uint8Array.from([0xf0]), new Uint8Array(10))).toThrow(Lz4Error);
  });

  it('stops when the output is full (a partial decode)', () => {
    const src = input('text', 7, 50_000);
    const { consumed, data } = lz4CompressDestSize(src, 8192, 9);
    for (const n of [0, 1, 100, 4097, consumed - 1]) {
      const out = new Uint8Array(n);
      expect(lz4Decompress(data, out)).toBe(n);
      expect(Buffer.from(out).equals(src.subarray(0, n))).toBe(true);
    }
  });

  it('malformed blocks throw Lz4Error, never read or write out of range', () => {
    const { data } = lz4CompressDestSize(input('compressible', 8, 30_000), 4096, 9);
    fc.assert(
      fc.property(fc.array(fc.record({ pos: fc.nat(data.length - 1), byte: fc.integer({ min: 0, max: 255 }) }), { minLength: 1, maxLength: 4 }), fc.nat(40_000), (edits, size) => {
        const bad = Uint8Array.from(data);
        for (const { pos, byte } of edits) bad[pos] = byte;
        try {
          const out = new Uint8Array(size);
          expect(lz4Decompress(bad, out)).toBeLessThanOrEqual(size);
        } catch (err) {
          if (!(err instanceof Lz4Error)) throw err;
        }
      }),
      { seed: 77, numRuns: 1000 },
    );
    expect(() => lz4Decompress(Uint8Array.of(0x10), new Uint8Array(10))).toThrow(Lz4Error);
    expect(() => lz4Decompress(Uint8Array.of(0x14, 0x41, 5, 0), new Uint8Array(10))).toThrow(/reaches before/);
  });
});

describe('lz4 blocks against liblz4 (python3-lz4: LZ4_decompress_safe)', () => {
  const py = python('lz4.block');
  const have = oracle('python3-lz4', py !== undefined, 'python3 with the lz4 module not installed (apt-get install python3-lz4)');
  it.skipIf(!have)('every level, many inputs and capacities, decode to the consumed prefix', () => {
    const cases = oracleCases(31, [0, 1, 9, 12], (level) => new Lz4Encoder(level), (r) => r.consumed > 0);
    const got = pythonBatch(py!, 'import lz4.block', 'lz4.block.decompress(data, uncompressed_size=size)', cases);
    expect(got).toEqual(cases.map((c) => c.want));
  });
});
