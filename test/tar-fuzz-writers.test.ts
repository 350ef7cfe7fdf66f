import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { writeErofsFromTar } from '@fstools/erofs-writer';
import { TooSmallError, writeExt4FromTar } from '@fstools/ext4-writer';
import { InputError } from '@fstools/fstree';
import { runs } from './helpers/arbitrary-tree.js';
import { canFsck15, fsck15, scratchDir } from './helpers/erofs-oracles.js';
import { e2fsckProblems, hasE2fsprogs } from './helpers/ext4-oracles.js';
import { hasCommand, oracle } from './helpers/oracles.js';
import { chunks } from './helpers/streams.js';
import { damageArb, damaged, damageSources, headerBlocks } from './helpers/tar-damage.js';

// Damaged archives through the writers' own data paths (erofs-writer's block sink, ext4-writer's
// data store, not the in-memory tree the fstree fuzz test uses): an image the oracle accepts, or
// a one-line InputError naming the archive with nothing left at the output or beside it.

const dir = scratchDir('tar-fuzz-writers');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const writers = {
  erofs: {
    ready: () => canFsck15(),
    write: (bytes: Buffer, chunk: number, out: string) => writeErofsFromTar(chunks(bytes, chunk), 'fuzz.tar', out),
    judge: (out: string) => fsck15(out),
  },
  ext4: {
    ready: () => oracle('e2fsprogs', hasE2fsprogs, 'apt-get install e2fsprogs'),
    write: (bytes: Buffer, chunk: number, out: string) => writeExt4FromTar({ name: 'fuzz.tar', open: () => chunks(bytes, chunk) }, out, { size: 8 << 20 }),
    judge: (out: string) => expect(e2fsckProblems(out)).toBeUndefined(),
  },
};

for (const [kind, w] of Object.entries(writers)) {
  describe.runIf(oracle('GNU tar', hasCommand('tar'), 'apt-get install tar') && w.ready())(`damaged tar archives through the ${kind} writer`, () => {
    for (const [name, make] of damageSources) {
      it(`${name}: an image the oracle accepts, or a one-line InputError and no output`, async () => {
        const base = await make();
        const headers = headerBlocks(base);
        let written = 0;
        await fc.assert(
          fc.asyncProperty(damageArb(base.length), async (d) => {
            const at = join(dir, `${kind}-${n++}`);
            const out = join(at, 'image');
            mkdirSync(at);
            try {
              await w.write(damaged(base, headers, d), d.chunk, out);
              w.judge(out);
              written++;
            } catch (err) {
              // A damaged size may ask for more than the 8 MiB ext4 image holds.
              if (err instanceof TooSmallError) return;
              if (!(err instanceof InputError)) throw err;
              expect(err.message).toMatch(/^fuzz\.tar: /);
              expect(err.message).not.toContain('\n');
              expect(readdirSync(at)).toEqual([]);
            } finally {
              rmSync(at, { recursive: true, force: true });
            }
          }),
          { numRuns: runs(100) },
        );
        // Some damage is harmless (a flipped data byte, a cut in the trailing zeros).
        expect(written).toBeGreaterThan(0);
      });
    }
  });
}
