import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';
import { ZstdEncoder, ZstdError, zstdAvailable, zstdCompressBound, zstdCompressDestSize, zstdDecompress } from '../src/zstd.js';
import { capArb, input, kindArb, sha256, sizeArb } from './helpers.js';

/** The window a frame asks of the decoder (RFC 8878 3.1.1.1): its content size when single-segment. */
function frameWindow(f: Uint8Array): number {
  expect(Buffer.from(f.subarray(0, 4)).readUInt32LE(0)).toBe(0xfd2fb528);
  const fhd = f[4]!;
  const single = (fhd >> 5) & 1;
  if (!single) {
    const wd = f[5]!;
    const base = 2 ** (10 + (wd >> 3));
    return base + (base / 8) * (wd & 7);
  }
  const fcsFlag = fhd >> 6;
  const didSize = [0, 1, 2, 4][fhd & 3]!;
  const at = 5 + didSize;
  const v = new DataView(f.buffer, f.byteOffset);
  return fcsFlag === 0 ? f[at]! : fcsFlag === 1 ? v.getUint16(at, true) + 256 : fcsFlag === 2 ? v.getUint32(at, true) : Number(v.getBigUint64(at, true));
}

describe.skipIf(!zstdAvailable)('zstd fixed-output encoder', () => {
  for (const [level, windowLog] of [
    [-1, 15],
    [1, 12],
    [3, 15],
    [9, 17],
    [19, 20],
  ] as const) {
    it(`level ${level}, window 2^${windowLog}: one frame of the consumed prefix, within the window, near full`, () => {
      const enc = new ZstdEncoder(level, { windowLog });
      fc.assert(
        fc.property(kindArb, fc.integer(), sizeArb, capArb, (kind, seed, size, cap) => {
          const src = input(kind, seed, size);
          const { consumed, data } = enc.compressDestSize(src, cap);
          expect(data.length).toBeLessThanOrEqual(cap);
          if (size > 0 && cap >= 16) expect(consumed).toBeGreaterThan(0);
          if (cap >= zstdCompressBound(size) + 16) expect(consumed).toBe(size);
          if (consumed < size && cap >= 64) expect(data.length).toBeGreaterThanOrEqual(cap - Math.max(1, cap >>> 10));
          if (data.length === 0) return;
          expect(frameWindow(data)).toBeLessThanOrEqual(2 ** windowLog);
          expect(Buffer.from(zstdDecompress(data, 1 << 24)).equals(src.subarray(0, consumed))).toBe(true);
        }),
        { seed: 3000 + level, numRuns: level >= 19 ? 25 : 80 },
      );
    });
  }

  it('small capacities and the empty input; bad options', () => {
    const src = input('text', 2, 10_000);
    expect(zstdCompressDestSize(src, 5)).toEqual({ consumed: 0, data: new Uint8Array(0) });
    const empty = zstdCompressDestSize(new Uint8Array(0), 100);
    expect(empty.consumed).toBe(0);
    expect(zstdDecompress(empty.data, 10).length).toBe(0);
    expect(() => new ZstdEncoder(23)).toThrow(RangeError);
    expect(() => new ZstdEncoder(3, { windowLog: 21 })).toThrow(RangeError);
    expect(() => zstdDecompress(Uint8Array.of(1, 2, 3, 4, 5, 6), 100)).toThrow(ZstdError);
    const big = zstdCompressDestSize(input('zeros', 0, 100_000), 4096);
    expect(() => zstdDecompress(big.data, 1000)).toThrow(ZstdError);
  });

  it('level -1 is zstd level -1 (node:zlib takes -1 for the default level)', () => {
    const src = input('text', 3, 200_000);
    const fast = zstdCompressDestSize(src, 1 << 20, -1).data.length;
    expect(fast).toBeGreaterThan(zstdCompressDestSize(src, 1 << 20, 3).data.length);
    expect(fast).toBeLessThan(zstdCompressDestSize(src, 1 << 20, -5).data.length);
  });
});

describe.skipIf(!zstdAvailable)('zstd frames against the zstd CLI (zstd -d)', () => {
  const have = oracle('zstd', hasCommand('zstd'), 'zstd not installed (apt-get install zstd)');
  it.skipIf(!have)('decode to the consumed prefix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'codecs-zstd-'));
    try {
      const rnd = fc.sample(fc.tuple(kindArb, fc.integer(), sizeArb, capArb), { seed: 33, numRuns: 30 });
      let i = 0;
      for (const level of [-1, 3, 12]) {
        const enc = new ZstdEncoder(level, { windowLog: 16 });
        for (const [kind, seed, size, cap] of rnd) {
          const src = input(kind, seed, size);
          const { consumed, data } = enc.compressDestSize(src, cap);
          if (data.length === 0) continue;
          const file = join(dir, `f${i++}.zst`);
          writeFileSync(file, data);
          // The window the kernel's decoder allows: --memory caps it as the superblock's windowlog does.
          const r = spawnSync('zstd', ['-d', '-c', '-q', '--memory=64KB', file], { maxBuffer: 1 << 26 });
          expect(r.status, r.stderr.toString()).toBe(0);
          expect(sha256(r.stdout)).toBe(sha256(src.subarray(0, consumed)));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
