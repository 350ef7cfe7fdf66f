import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { FsTree } from '@fstools/fstree';
import { treeFromDirectory, treeToTar, utf8 } from '@fstools/fstree';
import type { CompressionOptions, ErofsOptions } from '@fstools/erofs-writer';
import { writeErofs, writeErofsFromTar } from '@fstools/erofs-writer';
import { ErofsImage, EROFS_INODE_COMPRESSED_COMPACT, EROFS_INODE_FLAT_INLINE, EROFS_INODE_FLAT_PLAIN } from '@fstools/erofs-reader';
import type { TreeOptions } from './helpers/arbitrary-tree.js';
import { runs, treeArb } from './helpers/arbitrary-tree.js';
import { writeCorpus } from './helpers/compressible.js';
import { canFsck18, scratchDir } from './helpers/erofs-oracles.js';
import { judgeImage } from './helpers/erofs-judge.js';
import { trixieRoot } from './helpers/oracles.js';

const dir = scratchDir('erofs-compression');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const img = (): string => join(dir, `z${n++}.erofs`);

/** Option sets the properties draw from (each is also an mkfs.erofs 1.8 command line, for the size check). */
const variants: Array<{ z: CompressionOptions; mkfs: string[]; sizeBound?: number }> = [
  { z: { algorithm: 'lz4' }, mkfs: ['-zlz4'] },
  { z: { algorithm: 'lz4hc' }, mkfs: ['-zlz4hc'] },
  { z: { algorithm: 'lz4hc', level: 1 }, mkfs: ['-zlz4hc,1'] },
  { z: { algorithm: 'lz4hc', level: 12 }, mkfs: ['-zlz4hc,level=12'] },
  { z: { algorithm: 'lz4', pclusterSize: 65536 }, mkfs: ['-zlz4', '-C65536'] },
  { z: { algorithm: 'lz4hc', level: 6, pclusterSize: 16384 }, mkfs: ['-zlz4hc,6', '-C16384'] },
  { z: { algorithm: 'lz4', ztailpacking: true }, mkfs: ['-zlz4', '-Eztailpacking'] },
  { z: { algorithm: 'lz4hc', ztailpacking: true, pclusterSize: 32768 }, mkfs: ['-zlz4hc', '-C32768', '-Eztailpacking'] },
  { z: { algorithm: 'lz4', fragments: true }, mkfs: ['-zlz4', '-Efragments'] },
  { z: { algorithm: 'lz4', fragments: 'all' }, mkfs: ['-zlz4', '-Eall-fragments'] },
  { z: { algorithm: 'lz4', dedupe: true }, mkfs: ['-zlz4', '-Ededupe'] },
  { z: { algorithm: 'lz4hc', pclusterSize: 65536, ztailpacking: true, fragments: true, dedupe: true }, mkfs: ['-zlz4hc', '-C65536', '-Eztailpacking,fragments,dedupe'] },
  { z: { algorithm: 'deflate' }, mkfs: ['-zdeflate'] },
  { z: { algorithm: 'deflate', level: 9, pclusterSize: 65536, ztailpacking: true }, mkfs: ['-zdeflate,9', '-C65536', '-Eztailpacking'] },
  { z: { algorithm: 'zstd', ztailpacking: true }, mkfs: ['-zzstd', '-Eztailpacking'] },
  { z: { algorithm: 'zstd', level: 19, pclusterSize: 131072, fragments: true }, mkfs: ['-zzstd,level=19', '-C131072', '-Efragments'] },
  { z: { algorithm: 'lzma' }, mkfs: ['-zlzma'] },
  { z: { algorithm: 'lzma', level: 2, ztailpacking: true }, mkfs: ['-zlzma,2', '-Eztailpacking'] },
  // Big pclusters: @fstools/codecs' LZMA parse is weaker than liblzma's there, 1.022 on this
  // corpus (the goal, 1.01, is still open in issue 19); the bound keeps it from getting worse.
  { z: { algorithm: 'lzma', level: 7, pclusterSize: 65536, ztailpacking: true, fragments: true }, mkfs: ['-zlzma,7', '-C65536', '-Eztailpacking,fragments'], sizeBound: 1.03 },
];

/**
 * The properties leave out lz4hc's optimal-parse levels (10-12): @fstools/codecs' encoder there
 * runs at well under 1 MB/s, and trees hold files of several MiB (the corpus tests level 12).
 */
const quick = variants.filter((v) => !(v.z.algorithm === 'lz4hc' && (v.z.level ?? 9) >= 10));

/** fsck.erofs 1.5 knows LZ4 with one-block pclusters and 0padding, nothing later. */
const oldEnough = (z: CompressionOptions): boolean => z.algorithm.startsWith('lz4') && !z.pclusterSize && !z.ztailpacking && !z.fragments && !z.dedupe;

async function* chunks(tree: FsTree): AsyncGenerator<Uint8Array> {
  yield* treeToTar(tree);
}

/** Regular files of every kind compression meets, up to 6 MiB (more than one 4 MiB segment). */
const trees = (types?: TreeOptions['types']) => treeArb({ compressible: true, maxFileSize: 6 << 20, maxSparseSize: 3 << 20, ...(types && { types }) });

describe('compressed images against our reader, fsck.erofs 1.8 (--extract) and the kernel', () => {
  it('property: any tree, any compression option set, any block size of 2 KiB up', async () => {
    await fc.assert(
      fc.asyncProperty(trees(), fc.constantFrom(...quick), fc.constantFrom(4096, 2048), fc.constantFrom(0, 1, 2), async (tree, v, blockSize, workers) => {
        const out = img();
        await writeErofs(tree, out, { blockSize, compression: v.z, workers });
        await judgeImage(out, tree, { blockSize, scratch: dir, fsck15: oldEnough(v.z) });
        rmSync(out);
      }),
      { numRuns: runs(10) },
    );
  });

  it('property: the same trees streamed as tar', async () => {
    await fc.assert(
      fc.asyncProperty(trees(['dir', 'file', 'symlink', 'chr', 'blk', 'fifo']), fc.constantFrom(...quick), async (tree, v) => {
        const out = img();
        await writeErofsFromTar(chunks(tree), 'tree.tar', out, { compression: v.z, workers: 2 });
        await judgeImage(out, tree, { scratch: dir, fsck15: oldEnough(v.z) });
        rmSync(out);
      }),
      { numRuns: runs(4) },
    );
  });

  it('512 and 1024-byte blocks (the kernel and our reader judge: fsck.erofs 1.8 cannot)', async () => {
    const tree = fc.sample(trees(['dir', 'file']), { numRuns: 1, seed: 5 })[0]!;
    for (const blockSize of [512, 1024]) {
      const out = img();
      await writeErofs(tree, out, { blockSize, compression: { algorithm: 'lz4' } });
      await judgeImage(out, tree, { blockSize, scratch: dir });
    }
  });
});

describe('what gets compressed', () => {
  const src = join(dir, 'corpus');
  writeCorpus(src);

  for (const v of variants) {
    it(`a corpus of every kind of content, ${v.mkfs.join(' ')}, from a directory and as a tar`, async () => {
      const tree = treeFromDirectory(src);
      const out = img();
      await writeErofs(tree, out, { compression: v.z });
      await judgeImage(out, tree, { scratch: dir, fsck15: oldEnough(v.z) });
      const fromTar = img();
      await writeErofsFromTar(chunks(tree), 'corpus.tar', fromTar, { compression: v.z });
      await judgeImage(fromTar, tree, { scratch: dir, fsck15: oldEnough(v.z) });
    });
  }

  it('compressible files are compressed with compact indexes, files compression would not shrink are stored as they are', async () => {
    const out = img();
    await writeErofs(treeFromDirectory(src), out, { compression: { algorithm: 'lz4' } });
    await judgeImage(out, treeFromDirectory(src), { scratch: dir });
    const image = ErofsImage.open(out);
    try {
      const layout = (name: string) => image.inode(image.lookup(utf8('/' + name))).datalayout;
      for (const name of ['text-20000', 'text-300000', 'text-1.5M', 'mixed-2M', 'zeros-1M', 'repeated']) expect(layout(name), name).toBe(EROFS_INODE_COMPRESSED_COMPACT);
      // Not a block saved: uncompressed, as mkfs.erofs leaves them (tails inline).
      for (const name of ['random-300000', 'random-4097', 'text-100', 'text-4096']) expect([EROFS_INODE_FLAT_PLAIN, EROFS_INODE_FLAT_INLINE], name).toContain(layout(name));
      const sb = image.superblock;
      expect(sb.feature_incompat & 0x1).toBe(1); // ZERO_PADDING: pclusters end-aligned, as mkfs.erofs 1.8 writes them
      expect(sb.u1).toBe(65535); // lz4_max_distance (no COMPR_CFGS for LZ4 with one-block pclusters)
    } finally {
      image.close();
    }
  });

  it('the image is byte-identical for any number of workers, from a directory and from a tar', async () => {
    const tree = treeFromDirectory(src);
    const images: Buffer[] = [];
    for (const workers of [0, 1, 3]) {
      const out = img();
      await writeErofs(tree, out, { compression: { algorithm: 'lz4hc', level: 4 }, workers });
      images.push(readFileSync(out));
    }
    // Tails shared in the packed inode and pclusters shared across files are decided in commit order too.
    // zstd's encoder learns from its calls: each segment starts it afresh.
    for (const z of [
      { algorithm: 'lz4', fragments: true, ztailpacking: true },
      { algorithm: 'lz4', dedupe: true, pclusterSize: 16384 },
      { algorithm: 'zstd', ztailpacking: true },
      { algorithm: 'deflate', level: 6 },
      { algorithm: 'lzma', pclusterSize: 32768, fragments: true },
    ] as const) {
      const one = img();
      const three = img();
      await writeErofs(tree, one, { compression: z, workers: 1 });
      await writeErofs(tree, three, { compression: z, workers: 3 });
      expect(readFileSync(three).equals(readFileSync(one)), JSON.stringify(z)).toBe(true);
    }
    for (const workers of [0, 2]) {
      const out = img();
      const tarTree = fc.sample(trees(['dir', 'file', 'symlink']), { numRuns: 1, seed: 11 })[0]!;
      await writeErofsFromTar(chunks(tarTree), 't.tar', out, { compression: { algorithm: 'lz4' }, workers });
      images.push(readFileSync(out));
    }
    expect(images[1]!.equals(images[0]!)).toBe(true);
    expect(images[2]!.equals(images[0]!)).toBe(true);
    expect(images[4]!.equals(images[3]!)).toBe(true);
  });
});

/**
 * Left out: lz4hc levels 1 to 3, where @fstools/codecs' parses are a little weaker than liblz4
 * 1.10's ("lz4mid" levels 1-2, hash chain 3): 1.0103 and 1.020 on this corpus.
 */
const sizeVariants = variants.filter((v) => !(v.z.algorithm === 'lz4hc' && (v.z.level ?? 9) < 4));

describe('image size against mkfs.erofs 1.8 with the same options', () => {
  const src = join(dir, 'sizes');
  writeCorpus(src);
  for (const v of sizeVariants) {
    const bound = v.sizeBound ?? 1.01;
    it(`${v.mkfs.join(' ')}: no more than ${Math.round((bound - 1) * 100)}% larger`, async (ctx) => {
      if (!canFsck18()) return ctx.skip();
      const ours = img();
      const opts: ErofsOptions = { compression: v.z, timestamp: 0n };
      await writeErofs(treeFromDirectory(src), ours, opts);
      const theirs = img();
      const inChroot = (p: string) => '/' + relative(trixieRoot, p);
      const r = spawnSync('chroot', [trixieRoot, 'mkfs.erofs', '--quiet', '-T0', ...v.mkfs, inChroot(theirs), inChroot(src)], { encoding: 'utf8' });
      expect(r.status, r.stderr).toBe(0);
      expect(statSync(ours).size / statSync(theirs).size).toBeLessThanOrEqual(bound);
    });
  }
});
