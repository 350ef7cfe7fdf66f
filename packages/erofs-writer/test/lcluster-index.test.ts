import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ErofsImage, EROFS_INODE_COMPRESSED_COMPACT, EROFS_INODE_COMPRESSED_FULL } from '@fstools/erofs-reader';
import type { FileExtent } from '@fstools/erofs-reader';
import { utf8 } from '@fstools/fstree';
import { comprSuperblock } from '../src/compr-cfgs.js';
import { Z_EROFS_ADVISE_BIG_PCLUSTER_1, Z_EROFS_ADVISE_COMPACTED_2B, Z_EROFS_COMPRESSION_LZ4, Z_EROFS_COMPRESSION_ZSTD } from '../src/constants.js';
import type { ZExtent } from '../src/lcluster-index.js';
import { compactIndexSize, encodeCompactIndexes, encodeFullIndexes, fullIndexSize } from '../src/lcluster-index.js';
import { compressionCorpus, writeCorpus } from '../../../test/helpers/compressible.js';
import { canFsck18, scratchDir } from '../../../test/helpers/erofs-oracles.js';
import { trixieRoot } from '../../../test/helpers/oracles.js';

const work = scratchDir('lcluster-index');
afterAll(() => rmSync(work, { recursive: true, force: true }));

const BS = 4096;

describe('full lcluster indexes (struct z_erofs_lcluster_index)', () => {
  it('heads, NONHEAD distances, CBLKCNT and the final PLAIN entry, as z_erofs_write_full_indexes lays them out', () => {
    // 5000 bytes from one block, 3096 raw (ends on the 8192 boundary), 9000 from two blocks, 100 raw.
    const extents: ZExtent[] = [
      { length: 5000, plen: BS, raw: false, blkaddr: 10, partial: false },
      { length: 3192, plen: BS, raw: true, blkaddr: 11, partial: false },
      { length: 9000, plen: 2 * BS, raw: false, blkaddr: 12, partial: true },
      { length: 100, plen: BS, raw: true, blkaddr: 14, partial: false },
    ];
    const total = 5000 + 3192 + 9000 + 100; // 17292: 5 lclusters
    const entries = (b: Buffer) => Array.from({ length: b.length / 8 }, (_, i) => [b.readUInt16LE(i * 8), b.readUInt16LE(i * 8 + 2), b.readUInt16LE(i * 8 + 4), b.readUInt16LE(i * 8 + 6)]);
    const small = encodeFullIndexes(extents, { blkszbits: 12, bigPcluster: false, fragmentoffHigh: 0 });
    expect(small.length).toBe(Math.ceil(total / BS) * 8);
    expect(entries(small)).toEqual([
      [1, 0, 10, 0], // HEAD1 at 0, block 10
      [0, 904, 11, 0], // PLAIN from 5000 (clusterofs 904), block 11
      [1 | 0x8000, 0, 12, 0], // HEAD1 at 8192, partial
      [2, 0, 1, 1], // NONHEAD: 1 back to its head, 1 on to the next
      [0, 808, 14, 0], // PLAIN at 17192 - 16384
    ]);
    const big = encodeFullIndexes(extents, { blkszbits: 12, bigPcluster: true, fragmentoffHigh: 0 });
    // With big pclusters the first NONHEAD holds the block count instead of the distance back.
    expect(entries(big)[3]).toEqual([2, 0, 2 | 0x800, 1]);
    expect(fullIndexSize(5)).toBe(16 + 40);
  });

  it('a file ending inside an lcluster after a crossing extent gets a PLAIN entry at its end offset', () => {
    const full = encodeFullIndexes([{ length: 6000, plen: BS, raw: false, blkaddr: 3, partial: false }], { blkszbits: 12, bigPcluster: false, fragmentoffHigh: 0 });
    expect(full.length).toBe(16);
    expect([full.readUInt16LE(8), full.readUInt16LE(10), full.readUInt32LE(12)]).toEqual([0, 6000 - BS, 0]);
  });
});

describe('superblock compression fields', () => {
  it('LZ4 with one-block pclusters needs no configuration records; anything else does', () => {
    expect(comprSuperblock({ algorithm: Z_EROFS_COMPRESSION_LZ4, dictSize: 65536, maxPclusterBlocks: 1 })).toEqual({ u1: 65535, feature_incompat: 1, cfgs: Buffer.alloc(0) });
    const big = comprSuperblock({ algorithm: Z_EROFS_COMPRESSION_LZ4, dictSize: 65536, maxPclusterBlocks: 16 });
    expect(big.feature_incompat).toBe(0x3); // ZERO_PADDING | COMPR_CFGS (= BIG_PCLUSTER)
    expect(big.u1).toBe(1);
    expect([...big.cfgs]).toEqual([14, 0, 0xff, 0xff, 16, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    const zstd = comprSuperblock({ algorithm: Z_EROFS_COMPRESSION_ZSTD, dictSize: 32768, maxPclusterBlocks: 1 });
    expect(zstd.u1).toBe(8);
    expect([...zstd.cfgs]).toEqual([6, 0, 0, 5, 0, 0, 0, 0]);
  });
});

/**
 * The strongest check of the encoders: mkfs.erofs 1.8 images of a corpus, each compressed file's
 * extents read back by our reader (an independent decoder), encoded again here, and compared
 * byte for byte with the index mkfs.erofs wrote.
 */
describe('index bytes equal mkfs.erofs 1.8 for the extents it chose', () => {
  const src = join(work, 'corpus');
  writeCorpus(src, compressionCorpus());
  const cases: Array<[string, string[]]> = [
    ['lz4 (compact, 2-byte entries)', ['-zlz4']],
    ['lz4hc with 64 KiB pclusters (big pcluster CBLKCNT)', ['-zlz4hc', '-C65536']],
    ['ztailpacking', ['-zlz4', '-Eztailpacking']],
    ['ztailpacking with big pclusters', ['-zlz4hc', '-C16384', '-Eztailpacking']],
    ['legacy-compress (full indexes)', ['-zlz4', '-Elegacy-compress']],
    ['dedupe (full indexes, partial references)', ['-zlz4', '-C32768', '-Ededupe']],
  ];
  for (const [name, args] of cases) {
    it(name, (ctx) => {
      if (!canFsck18()) return ctx.skip();
      const image = join(work, `${args.join('')}.img`);
      const inChroot = (p: string) => '/' + relative(trixieRoot, p);
      const r = spawnSync('chroot', [trixieRoot, 'mkfs.erofs', '--quiet', '-T0', ...args, inChroot(image), inChroot(src)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      const img = ErofsImage.open(image);
      let checked = 0;
      try {
        for (const name of compressionCorpus().keys()) {
          const nid = img.lookup(utf8('/' + name));
          const ino = img.inode(nid);
          if (ino.datalayout !== EROFS_INODE_COMPRESSED_FULL && ino.datalayout !== EROFS_INODE_COMPRESSED_COMPACT) continue;
          const hpos = Math.ceil((ino.iloc + ino.inode_isize + ino.xattr_isize) / 8) * 8;
          const header = img.meta(hpos, 8);
          const advise = header[4]! | (header[5]! << 8);
          const extents = zExtents(img.fileExtents(nid));
          const bigPcluster = (advise & Z_EROFS_ADVISE_BIG_PCLUSTER_1) !== 0;
          const full = encodeFullIndexes(extents, { blkszbits: 12, bigPcluster, fragmentoffHigh: 0 });
          const n = full.length / 8;
          if (ino.datalayout === EROFS_INODE_COMPRESSED_FULL) {
            expect(full, name).toEqual(Buffer.from(img.meta(hpos + 16, n * 8)));
          } else {
            const ebase = hpos + 8 - ino.iloc;
            const c2b = (advise & Z_EROFS_ADVISE_COMPACTED_2B) !== 0;
            const size = compactIndexSize(n, ebase, c2b) - 8;
            const out = Buffer.alloc(size);
            // A file wholly inline has no pcluster: its base is wherever mkfs.erofs was allocating.
            let blkaddr = extents[0]!.blkaddr;
            if (extents.every((e) => e.blkaddr === 0 && e.plen <= BS)) blkaddr = firstPackBase(img, hpos + 8, n, ebase, c2b) + (bigPcluster ? 0 : 1);
            encodeCompactIndexes(full, { lclusterbits: 12, bigPcluster, c2b, blkaddr, ebase }, out, 0);
            expect(out, name).toEqual(Buffer.from(img.meta(hpos + 8, size)));
          }
          checked++;
        }
      } finally {
        img.close();
      }
      expect(checked).toBeGreaterThan(10);
    });
  }
});

/** The block address the first compact pack of a file ends with. */
function firstPackBase(img: ErofsImage, at: number, n: number, ebase: number, c2b: boolean): number {
  const initial = ((32 - (ebase % 32)) / 4) % 8;
  const twoByteFirst = c2b && initial === 0 && n >= 16;
  const b = img.meta(at + (twoByteFirst ? 28 : 4), 4);
  return (b[0]! | (b[1]! << 8) | (b[2]! << 16) | (b[3]! << 24)) >>> 0;
}

/** The extents mkfs.erofs chose, as the encoders take them (inline pclusters count one block past the last). */
function zExtents(fx: FileExtent[]): ZExtent[] {
  let next = 0;
  return fx.map((e) => {
    if (e.kind === 'fragment') return { length: e.length, plen: 0, raw: false, blkaddr: next, partial: false };
    if (e.kind !== 'compressed') throw new Error(`unexpected ${e.kind} extent`);
    const raw = e.format.kind !== 'encoded';
    if (e.inline) return { length: e.length, plen: BS, raw, blkaddr: next, partial: false };
    next = e.physical / BS + e.physicalLength / BS;
    return { length: e.length, plen: e.physicalLength, raw, blkaddr: e.physical / BS, partial: e.partialref };
  });
}
