import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import { oracle } from '../../../test/helpers/oracles.js';
import { has15, has18, makeSourceTree, mkfs, scratch } from './helpers.js';
import { exercise, mutateAndRead, mutation } from './mutate.js';

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
        mutateAndRead(seeds[which]!, muts, fixChecksum, target, `seed ${which}`);
      }),
      { seed: Number(process.env.FC_SEED ?? 20240917), numRuns: runs, endOnFailure: true },
    );
  }, 60_000 + runs * 200);
});
