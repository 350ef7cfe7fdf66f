// Our own compressed images, corrupted anywhere (the lcluster indexes, the map headers, the
// pclusters, the packed inode): the reader reads them or throws a typed ErofsError, promptly.
// erofs-reader's fuzz.test.ts does the same to mkfs.erofs 1.8's images.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, it } from 'vitest';
import type { CompressionOptions } from '@fstools/erofs-writer';
import { writeErofs } from '@fstools/erofs-writer';
import { treeFromDirectory } from '@fstools/fstree';
import { exercise, mutateAndRead, mutation } from '../packages/erofs-reader/test/mutate.js';
import { runs } from './helpers/arbitrary-tree.js';
import { compressionCorpus, writeCorpus } from './helpers/compressible.js';
import { scratchDir } from './helpers/erofs-oracles.js';

const dir = scratchDir('erofs-compressed-fuzz');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** One seed per kind of compressed layout the writer makes. */
const sets: Array<{ z: CompressionOptions; blockSize?: number }> = [
  { z: { algorithm: 'lz4' } },
  { z: { algorithm: 'lz4hc', pclusterSize: 16384, ztailpacking: true } },
  { z: { algorithm: 'lz4', fragments: true, ztailpacking: true }, blockSize: 2048 },
  { z: { algorithm: 'lz4', dedupe: true, pclusterSize: 8192 } },
  { z: { algorithm: 'deflate', fragments: 'all' } },
  { z: { algorithm: 'zstd', pclusterSize: 65536, fragments: true }, blockSize: 1024 },
];

const seeds: Buffer[] = [];
beforeAll(async () => {
  // The corpus's small and middle files: every layout appears, and a run reads it all quickly.
  const src = join(dir, 'src');
  writeCorpus(src, new Map([...compressionCorpus()].filter(([, b]) => b.length <= 70001)));
  for (const [i, { z, blockSize }] of sets.entries()) {
    const image = join(dir, `seed-${i}.erofs`);
    await writeErofs(treeFromDirectory(src), image, { compression: z, ...(blockSize && { blockSize }) });
    exercise(image); // the unmutated seed reads cleanly
    seeds.push(readFileSync(image));
  }
});

describe('fuzzing our compressed images', () => {
  it(`survives ${runs(150)} random mutations`, async () => {
    const target = join(dir, 'mutant.erofs');
    await fc.assert(
      fc.asyncProperty(fc.nat(sets.length - 1), fc.array(mutation, { minLength: 1, maxLength: 6 }), fc.boolean(), async (which, muts, fixChecksum) => {
        await new Promise(setImmediate);
        mutateAndRead(seeds[which]!, muts, fixChecksum, target, `seed ${which} (${JSON.stringify(sets[which])})`);
      }),
      { seed: Number(process.env.FC_SEED ?? 20261207), numRuns: runs(150), endOnFailure: true },
    );
  }, 600_000);
});
