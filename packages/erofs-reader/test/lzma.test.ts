import { describe, expect, it } from 'vitest';
import { lzmaDictSize } from '../src/compr-cfgs.js';
import { EROFS_FEATURE_INCOMPAT_COMPR_CFGS, EROFS_SUPER_OFFSET, Z_EROFS_COMPRESSION_LZMA } from '../src/constants.js';
import { decodePcluster } from '../src/decompress.js';
import { failer } from '../src/errors.js';
import { errorCode as code } from './helpers.js';
import { plain, STREAM } from '../../codecs/test/lzma-stream.js';
import type { Superblock } from '../src/superblock.js';

const fail = failer('test.img');



describe('LZMA pclusters', () => {
  const ctx = { blockSize: 4096, lz4ZeroPadding: true, lzmaDictSize: () => 32768 };
  const ext = (length: number, partialref = false) => ({
    kind: 'compressed' as const,
    offset: 0,
    length,
    physical: 8192,
    physicalLength: 4096,
    format: { kind: 'encoded' as const, algorithm: Z_EROFS_COMPRESSION_LZMA },
    inline: false,
    partialref,
  });
  // The stream sits at the end of its block, after zero padding.
  const block = Buffer.concat([Buffer.alloc(4096 - STREAM.length), STREAM]);

  it('padding stripped, decoded exactly, or a prefix for a partial reference', () => {
    expect(Buffer.from(decodePcluster(ext(2500), block, ctx, fail, {})).equals(plain())).toBe(true);
    expect(Buffer.from(decodePcluster(ext(100, true), block, ctx, fail, {})).equals(plain().subarray(0, 100))).toBe(true);
    expect(code(() => decodePcluster(ext(100), block, ctx, fail, {}))).toBe('BAD_COMPRESSION');
  });

  it('corrupt data and a bad configuration are typed errors', () => {
    const bad = Buffer.from(block);
    bad[4096 - STREAM.length + 200] ^= 0x55;
    expect(code(() => decodePcluster(ext(2500), bad, ctx, fail, {}))).toBe('BAD_COMPRESSION');
    const noConfig = { ...ctx, lzmaDictSize: () => fail('BAD_SUPERBLOCK', 'no config') };
    expect(code(() => decodePcluster(ext(2500), block, noConfig, fail, {}))).toBe('BAD_SUPERBLOCK');
  });
});

describe('compression configurations', () => {
  const sb = (algs: number, extslots = 0) => ({ feature_incompat: EROFS_FEATURE_INCOMPAT_COMPR_CFGS, u1: algs, sb_extslots: extslots }) as Superblock;
  /** An image head holding the given records (length-prefixed, 4-byte aligned) after a 128-byte superblock. */
  const image = (...records: Buffer[]) => {
    const buf = Buffer.alloc(8192);
    let pos = EROFS_SUPER_OFFSET + 128;
    for (const r of records) {
      pos = Math.ceil(pos / 4) * 4;
      buf.writeUInt16LE(r.length, pos);
      r.copy(buf, pos + 2);
      pos += 2 + r.length;
    }
    return (p: number, l: number) => (p + l <= buf.length ? buf.subarray(p, p + l) : fail('IO', 'past the end'));
  };
  const lzma = (dictSize: number, format = 0, size = 14) => {
    const r = Buffer.alloc(size);
    r.writeUInt32LE(dictSize, 0);
    r.writeUInt16LE(format, 4);
    return r;
  };
  const LZ4 = 1 << 0;
  const LZMA = 1 << Z_EROFS_COMPRESSION_LZMA;

  it('finds the LZMA record, after the LZ4 one when both are declared', () => {
    expect(lzmaDictSize(sb(LZMA), image(lzma(32768)), fail)).toBe(32768);
    // A 13-byte LZ4 record: the next one starts at the following 4-byte boundary.
    expect(lzmaDictSize(sb(LZ4 | LZMA), image(Buffer.alloc(13, 0xee), lzma(8 << 20)), fail)).toBe(8 << 20);
  });

  it('refuses what the kernel refuses', () => {
    expect(code(() => lzmaDictSize(sb(LZ4), image(lzma(32768)), fail))).toBe('BAD_SUPERBLOCK');
    expect(code(() => lzmaDictSize(sb(LZMA), image(lzma(32768, 1)), fail))).toBe('UNSUPPORTED');
    expect(code(() => lzmaDictSize(sb(LZMA), image(lzma(2048)), fail))).toBe('BAD_SUPERBLOCK');
    expect(code(() => lzmaDictSize(sb(LZMA), image(lzma((8 << 20) + 1)), fail))).toBe('BAD_SUPERBLOCK');
    expect(code(() => lzmaDictSize(sb(LZMA), image(lzma(32768, 0, 10)), fail))).toBe('BAD_SUPERBLOCK');
  });
});
