import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { diffManifests, manifest } from '@fstools/fstree';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErofsImage, fsck, Z_EROFS_COMPRESSION_LZ4, Z_EROFS_COMPRESSION_LZMA } from '../src/index.js';
import { isRoot, oracle } from '../../../test/helpers/oracles.js';
import { fsckOracle, has15, has18, hostManifest, makeSourceTree, mkfs, prng, scratch, text } from './helpers.js';

const run15 = oracle('mkfs.erofs 1.5', has15, 'apt-get install erofs-utils');
const run18 = oracle('mkfs.erofs 1.8', has18, 'needs root and the trixie chroot (tools/setup-trixie-chroot.sh)');
const canMount = oracle('kernel erofs mount', isRoot, 'loop mounts need root');

/** The manifest of the image as the running kernel mounts it. */
function kernelManifest(image: string): ReturnType<typeof hostManifest> {
  const mnt = mkdtempSync(join(tmpdir(), 'erofs-reader-mnt-'));
  const m = spawnSync('mount', ['-t', 'erofs', '-o', 'ro,loop', image, mnt], { encoding: 'utf8' });
  if (m.status !== 0) throw new Error(`mount ${image}: ${m.stderr}`);
  try {
    return hostManifest(mnt);
  } finally {
    spawnSync('umount', [mnt]);
    rmSync(mnt, { recursive: true, force: true });
  }
}

/** A source directory and its manifest. */
interface Source {
  src: string;
  expected: ReturnType<typeof hostManifest>;
}

let dir: ReturnType<typeof scratch>;
const sources = new Map<string, Source>();

beforeAll(() => {
  dir = scratch();
  for (const version of ['1.5', '1.8']) {
    const src = join(dir.host, `src-${version}`);
    // mkfs.erofs 1.5 mangles paths longer than 255 bytes, so its tree's long name is shorter.
    makeSourceTree(src, { longName: version === '1.5' ? 180 : 255 });
    sources.set(version, { src, expected: hostManifest(src) });
  }
});
afterAll(() => dir?.cleanup());

/**
 * Builds an image, checks the oracle accepts it, and compares our reader's manifest to the source.
 * fsck.erofs 1.8 rejects every -b1024 image ("invalid sb_extslots 0 (more than a fs block)"): a
 * tool bug, so those skip the oracle check.
 */
function roundTrip(version: '1.5' | '1.8', name: string, args: string[], source: Source = sources.get(version)!): ErofsImage {
  const { src, expected: fromHost } = source;
  // -T without --mkfs-time gives every inode that time (and lets them be compact).
  const fixed = /^-T(\d+)$/.exec(args.find((a) => a.startsWith('-T')) ?? '');
  const expected = fixed && !args.includes('--mkfs-time') ? fromHost.map((e) => ({ ...e, mtime: `${fixed[1]}000000000` })) : fromHost;
  const image = join(dir.host, `${name}.erofs`);
  rmSync(image, { force: true });
  mkfs(version, image, src, args);
  if (!args.includes('-b1024')) {
    const verdict = fsckOracle(version, image);
    expect(verdict.ok, verdict.out).toBe(true);
  }
  const report = fsck(image);
  expect(report.errors.map(String)).toEqual([]);
  const img = ErofsImage.open(image);
  try {
    const ours = manifest(img.toTree());
    const diff = diffManifests(expected, ours);
    expect(diff, diff.join('\n')).toEqual([]);
    // The kernel is the consumer that matters: it must see exactly what we read.
    if (canMount && version === '1.8') expect(diffManifests(kernelManifest(image), ours)).toEqual([]);
  } catch (err) {
    img.close();
    throw err;
  }
  return img;
}

const cases15: Array<[string, string[]]> = [
  ['plain', []],
  ['fixed-time', ['-T1234567890']],
  ['extended-inodes', ['-Eforce-inode-extended']],
  ['noinline', ['-Enoinline_data']],
  ['chunk-4k-blockmap', ['--chunksize=4096', '-Eforce-inode-blockmap']],
  ['chunk-64k-indexes', ['--chunksize=65536', '-Eforce-chunk-indexes']],
  ['lz4', ['-zlz4']],
  ['lz4hc', ['-zlz4hc']],
  ['lz4hc-bigpcluster', ['-zlz4hc', '-C65536']],
  ['lz4-legacy', ['-zlz4', '-Elegacy-compress']],
  ['lz4hc-ztailpacking', ['-zlz4hc', '-Eztailpacking']],
  ['lz4hc-big-ztail', ['-zlz4hc,9', '-C32768', '-Eztailpacking']],
];

describe.runIf(run15)('mkfs.erofs 1.5 images', () => {
  for (const [name, args] of cases15) {
    it(`${name} (${args.join(' ') || 'defaults'})`, () => {
      roundTrip('1.5', `v15-${name}`, args).close();
    });
  }
});

const cases18: Array<[string, string[]]> = [
  ['plain', []],
  ['b512', ['-b512']],
  ['b1024', ['-b1024']],
  ['fixed-time', ['-T1234567890']],
  ['mkfs-time', ['-T1000000000', '--mkfs-time']],
  ['extended-inodes', ['-Eforce-inode-extended']],
  ['chunk-b1024', ['-b1024', '--chunksize=4096']],
  ['chunk-indexes', ['--chunksize=8192', '-Eforce-chunk-indexes']],
  ['xattr-filter', ['-Exattr-name-filter']],
  ['long-prefix', ['--xattr-prefix=trusted.overlay.', '--xattr-prefix=user.comm']],
  ['lz4', ['-zlz4']],
  ['lz4hc-bigpcluster', ['-zlz4hc,level=12', '-C65536']],
  ['lz4-b512', ['-b512', '-zlz4hc']],
  ['ztailpacking', ['-zlz4hc', '-Eztailpacking']],
  ['fragments', ['-zlz4hc', '-Efragments']],
  ['fragments-b512', ['-b512', '-zlz4', '-Efragments']],
  ['fragments-b1024-big', ['-b1024', '-zlz4hc', '-C8192', '-Efragments,ztailpacking']],
  ['all-fragments', ['-zlz4', '-Eall-fragments']],
  ['fragments-prefix', ['-zlz4hc', '-Efragments', '--xattr-prefix=trusted.overlay.']],
  ['dedupe', ['-zlz4hc', '-Ededupe']],
  ['deflate', ['-zdeflate']],
  ['deflate-big', ['-zdeflate,level=9', '-C131072', '-Eztailpacking']],
  ['libdeflate', ['-zlibdeflate']],
  ['zstd', ['-zzstd']],
  ['zstd-big-frag', ['-zzstd,level=15', '-C65536', '-Efragments,ztailpacking']],
  ['multi-algorithm', ['-zlz4hc:zstd', '-Eztailpacking']],
  ['lzma', ['-zlzma']],
  ['lzma-level', ['-zlzma,9']],
  ['lzma-extreme-big', ['-zlzma,level=109', '-C65536']],
  ['lzma-small-dict', ['-zlzma,level=3,dictsize=16384', '-C131072']],
  ['lzma-ztailpacking', ['-zlzma', '-C16384', '-Eztailpacking']],
  ['lzma-fragments', ['-zlzma,6', '-C32768', '-Efragments,ztailpacking']],
  ['lzma-b512-fragments', ['-b512', '-zlzma', '-Efragments']],
];

/** The algorithms of a file's encoded extents, and whether any is a partial reference. */
function encodings(img: ErofsImage, path: string): { algorithms: Set<number>; partialref: boolean } {
  const algorithms = new Set<number>();
  let partialref = false;
  for (const e of img.fileExtents(img.lookup(path))) {
    if (e.kind !== 'compressed' || e.format.kind !== 'encoded') continue;
    algorithms.add(e.format.algorithm);
    partialref ||= e.partialref;
  }
  return { algorithms, partialref };
}

describe.runIf(run18)('mkfs.erofs 1.8 images', () => {
  for (const [name, args] of cases18) {
    it(`${name} (${args.join(' ') || 'defaults'})`, () => {
      roundTrip('1.8', `v18-${name}`, args).close();
    });
  }

  /**
   * Its own tree: duplicated content gives partial references (decoded without the exact-end
   * check), and mkfs.erofs 1.8.6 -zlzma -Ededupe spends ~40 s on the shared tree's sparse file.
   */
  it('lzma-dedupe (-zlzma -Ededupe): MicroLZMA pclusters, some only partly referenced', () => {
    const src = join(dir.host, 'src-dedupe');
    mkdirSync(src);
    const base = text(21, 100_000);
    writeFileSync(join(src, 'base.txt'), base);
    writeFileSync(join(src, 'part.txt'), base.subarray(30_000, 90_000));
    writeFileSync(join(src, 'mixed.bin'), Buffer.concat([prng(22, 20_000), base.subarray(0, 50_000), prng(23, 7000)]));
    const img = roundTrip('1.8', 'v18-lzma-dedupe', ['-zlzma', '-Ededupe'], { src, expected: hostManifest(src) });
    try {
      expect(img.superblock.u1).toBe(1 << Z_EROFS_COMPRESSION_LZMA);
      expect(encodings(img, 'base.txt').algorithms).toEqual(new Set([Z_EROFS_COMPRESSION_LZMA]));
      expect(encodings(img, 'mixed.bin').partialref).toBe(true);
    } finally {
      img.close();
    }
  });

  it('lzma as the second algorithm (compress hints): its configuration follows the LZ4 one', () => {
    const hints = join(dir.host, 'lzma-hints');
    writeFileSync(hints, '16384 1 (\\.txt|size-[0-9]+)$\n');
    const img = roundTrip('1.8', 'v18-lz4hc-lzma-hints', ['-zlz4hc:lzma', `--compress-hints=${hints}`, '-Eztailpacking']);
    try {
      expect(img.superblock.u1).toBe((1 << Z_EROFS_COMPRESSION_LZ4) | (1 << Z_EROFS_COMPRESSION_LZMA));
      expect(encodings(img, 'text.txt').algorithms).toEqual(new Set([Z_EROFS_COMPRESSION_LZMA]));
      expect(encodings(img, 'sub/deeper/deepest/leaf').algorithms).toEqual(new Set([Z_EROFS_COMPRESSION_LZ4]));
    } finally {
      img.close();
    }
  });
});
