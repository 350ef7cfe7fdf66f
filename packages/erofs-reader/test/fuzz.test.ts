import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErofsError, ErofsImage, EROFS_SUPER_OFFSET, fsck, superblockChecksum } from '../src/index.js';
import { oracle } from '../../../test/helpers/oracles.js';
import { has15, has18, makeSourceTree, mkfs, scratch } from './helpers.js';

// FC_RUNS and FC_SEED widen local runs; CI keeps the modest default.
const runs = Number(process.env.FC_RUNS ?? 120);
const ready = oracle('mkfs.erofs 1.8', has18, 'needs root and the trixie chroot') && oracle('mkfs.erofs 1.5', has15, 'apt-get install erofs-utils');

/** Seed images: small trees in the layouts the reader parses. */
const variants: Array<['1.5' | '1.8', string[]]> = [
  ['1.5', []],
  ['1.5', ['-zlz4hc', '-Eztailpacking']],
  ['1.8', ['--chunksize=4096', '-Eforce-chunk-indexes', '-Exattr-name-filter']],
  ['1.8', ['-b512', '-zlz4', '-C4096']],
  ['1.8', ['-zlz4hc', '-Efragments,ztailpacking', '--xattr-prefix=user.comm']],
  ['1.8', ['-zzstd', '-C16384']],
  ['1.8', ['-zdeflate', '-Ededupe']],
  ['1.8', ['-zlzma', '-C16384', '-Eztailpacking']],
  ['1.8', ['-b512', '-zlzma,9', '-Efragments']],
];

type Mutation = { pos: number; bytes: readonly number[] };

/** Byte edits biased to the metadata-heavy start, and whole little-endian fields of odd values. */
const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ pos: fc.nat(8191), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 4 }) }),
  fc.record({ pos: fc.nat(), bytes: fc.array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 2 }) }),
  fc.record({
    pos: fc.nat(4095).map((p) => p & ~3),
    bytes: fc.constantFrom([0xff, 0xff, 0xff, 0xff], [0, 0, 0, 0], [1, 0, 0, 0], [0xff, 0xff, 0xff, 0x7f], [0, 0, 0, 0x80], [0xff, 0xff], [12, 0]),
  }),
);

/** Everything a consumer might do with an image; returns normally or throws. */
function exercise(path: string): void {
  const img = ErofsImage.open(path, { verifyChecksum: false });
  try {
    const tree = img.toTree();
    const buf = new Uint8Array(65536);
    for (const { inode } of tree.walk()) {
      if (inode.type !== 'file') continue;
      const r = inode.data.kind === 'reader' ? inode.data.open() : undefined;
      r?.read(buf.subarray(0, Math.min(buf.length, inode.size)), 0);
      if (inode.size > buf.length) r?.read(buf, inode.size - buf.length);
    }
  } finally {
    img.close();
  }
  fsck(path);
}

describe.runIf(ready)('fuzzing: corrupt images give typed errors, promptly', () => {
  let dir: ReturnType<typeof scratch>;
  const seeds: Buffer[] = [];

  beforeAll(() => {
    dir = scratch();
    for (const version of ['1.5', '1.8'] as const) makeSourceTree(join(dir.host, `src-${version}`), { bigDir: 40, sizes: [1, 4097, 20000], longName: version === '1.5' ? 150 : 255 });
    for (const [i, [version, args]] of variants.entries()) {
      const image = join(dir.host, `seed-${i}.erofs`);
      mkfs(version, image, join(dir.host, `src-${version}`), args);
      seeds.push(readFileSync(image));
      exercise(image); // the unmutated seed must read cleanly
    }
  });
  afterAll(() => dir?.cleanup());

  it(`survives ${runs} random mutations`, async () => {
    const target = join(dir.host, 'mutant.erofs');
    await fc.assert(
      fc.asyncProperty(fc.nat(variants.length - 1), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), async (which, muts, fixChecksum) => {
        // Yield to the event loop between runs: long local runs must not starve vitest's RPC.
        await new Promise(setImmediate);
        const img = Buffer.from(seeds[which]!);
        for (const m of muts) for (const [i, b] of m.bytes.entries()) img[(m.pos + i) % img.length] = b;
        if (fixChecksum) {
          const bs = 1 << (img[EROFS_SUPER_OFFSET + 12]! & 31);
          const end = Math.min(img.length, bs > EROFS_SUPER_OFFSET ? bs : EROFS_SUPER_OFFSET + bs);
          if (end > EROFS_SUPER_OFFSET + 8) img.writeUInt32LE(superblockChecksum(img.subarray(EROFS_SUPER_OFFSET, end)), EROFS_SUPER_OFFSET + 4);
        }
        writeFileSync(target, img);
        const started = Date.now();
        try {
          exercise(target);
        } catch (err) {
          if (!(err instanceof ErofsError)) throw new Error(`untyped failure on seed ${which}: ${err instanceof Error ? err.stack : String(err)}`);
        }
        expect(Date.now() - started).toBeLessThan(5000);
        // No corrupt size may turn into a huge allocation (a coarse guard; reads are bounded by design).
        expect(process.memoryUsage().rss).toBeLessThan(2 ** 31);
      }),
      { seed: Number(process.env.FC_SEED ?? 20240917), numRuns: runs, endOnFailure: true },
    );
  }, 60_000 + runs * 200);
});
