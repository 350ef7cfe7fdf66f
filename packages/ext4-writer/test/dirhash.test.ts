import fc from 'fast-check';
import { writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { runs } from '../../../test/helpers/arbitrary-tree.js';
import { hasE2fsprogs, run } from '../../../test/helpers/ext4-oracles.js';
import { oracle } from '../../../test/helpers/oracles.js';
import { halfMd4Hash, hashSeedWords } from '../src/dirhash.js';
import { formatUuid } from '@fstools/fstree';
import { scratch } from './helpers.js';

const enabled = oracle('debugfs', hasE2fsprogs, 'e2fsprogs not installed');
const tmp = scratch('dirhash');
const cmds = tmp.path('commands');
afterAll(tmp.cleanup);

describe.skipIf(!enabled)('directory name hash', () => {
  it('matches debugfs dx_hash (half_md4, signed chars) for names of every length and byte', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        fc.array(fc.oneof(fc.string({ minLength: 1, maxLength: 80 }), fc.constantFrom('é', 'ßüñ日本語', 'x'.repeat(255))), { minLength: 1, maxLength: 8 }),
        (seed, names) => {
          const uuid = formatUuid(seed);
          const words = hashSeedWords(seed);
          // debugfs splits its commands on blanks and takes a leading '-' for an option.
          const clean = names.map((n) => n.replace(/[\s"\\]/g, '_').replace(/^-/, '_'));
          writeFileSync(cmds, clean.map((n) => `dx_hash -h half_md4 -s ${uuid} ${n}\n`).join(''));
          const out = run('debugfs', ['-f', cmds, '/dev/null']);
          const hashes = [...out.stdout.matchAll(/Hash of (.*) is 0x([0-9a-f]+) \(minor 0x([0-9a-f]+)\)/g)];
          expect(hashes.length).toBe(clean.length);
          clean.forEach((n, i) => {
            const mine = halfMd4Hash(new Uint8Array(Buffer.from(n, 'utf8')), words);
            expect([mine.hash, mine.minor], n).toEqual([parseInt(hashes[i]![2]!, 16), parseInt(hashes[i]![3]!, 16)]);
          });
        },
      ),
      { numRuns: runs(30) },
    );
  });
});
