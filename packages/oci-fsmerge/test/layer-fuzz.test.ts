import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { ErofsImage } from '@fstools/erofs-reader';
import { InputError } from '@fstools/fstree';
import { fsmerge } from '@fstools/oci-fsmerge';
import { runs } from '../../../test/helpers/arbitrary-tree.js';
import { scratchDir } from '../../../test/helpers/erofs-oracles.js';
import { damageArb, damaged, headerBlocks } from '../../../test/helpers/tar-damage.js';
// @ts-expect-error: plain JS tool
import { layerTar } from '../../../tools/oci-fixture.mjs';
import { fsckMerged } from './helpers/judge.js';
import type { Entry } from './helpers/model.js';

// Damaged layer tars through fsmerge's own layer path (the whiteout and hard-link normalizer,
// then the layer image writer, then the merge): fsmeta that fsck.erofs 1.5 accepts over layer
// images that open, or a one-line InputError naming the layer, with no fsmeta written and only
// complete layer images in the blob dir.

const dir = scratchDir('fsmerge-layer-fuzz');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const lower: Entry[] = [
  { path: 'etc/os-release', data: 'ID=test\n' },
  { path: 'etc/conf.d/a', data: 'a' },
  { path: 'usr/bin/tool', data: 'x'.repeat(6000), mode: 0o755, xattrs: { 'security.capability': '\x01\x00\x00\x02' } },
  { path: 'usr/bin/alias', type: 'hardlink', target: 'usr/bin/tool' },
  { path: 'var/lib/state', type: 'dir', mode: 0o700 },
  { path: 'var/lib/state/db', data: 'db' },
];
// The layer that is damaged: every kind of member and marker the normalizer handles.
const upper: Entry[] = [
  { path: 'etc/.wh.os-release' },
  { path: 'etc/conf.d/.wh..wh..opq' },
  { path: 'etc/conf.d/b', data: 'b' },
  { path: 'usr/bin/tool', data: 'new tool', mode: 0o4755 },
  { path: 'usr/bin/tool2', type: 'hardlink', target: 'usr/bin/alias' },
  { path: 'var/lib/state', type: 'symlink', target: '../../tmp/state' },
  { path: 'deep/er/and/deeper/' + 'n'.repeat(150), data: 'long name' },
  { path: 'dev/null', type: 'chr', major: 1, minor: 3 },
  { path: 'run/fifo', type: 'fifo' },
  { path: 'opt/.wh..wh.plnk' },
];

describe('damaged layer tars', () => {
  it('merge into fsmeta fsck.erofs accepts, or give a one-line InputError naming the layer and write nothing', async () => {
    const l0 = join(dir, 'L0.tar');
    writeFileSync(l0, layerTar(lower));
    const base = layerTar(upper) as Buffer;
    const headers = headerBlocks(base);
    let merged = 0;
    await fc.assert(
      fc.asyncProperty(damageArb(base.length), async (d) => {
        const at = join(dir, `run-${n++}`);
        const l1 = join(dir, `L1-${n}.tar`);
        writeFileSync(l1, damaged(base, headers, d));
        const blobs = join(at, 'blobs');
        const output = join(at, 'fsmeta.erofs');
        try {
          const r = await fsmerge({ layers: [l0, l1] }, { output, blobDir: blobs, parallel: 1 });
          fsckMerged(r.fsmeta.path, r.devices.slice(1));
          merged++;
        } catch (err) {
          if (!(err instanceof InputError)) throw err;
          expect(err.message).not.toContain('\n');
          // The layer is named: by its file (a tar that does not parse) or its place in the stack.
          expect(err.message.includes(l1) || /: layer 1 /.test(err.message), err.message).toBe(true);
          expect(existsSync(output)).toBe(false);
          for (const f of existsSync(blobs) ? readdirSync(blobs) : []) {
            expect(f).toMatch(/^sha256-[0-9a-f]{64}\.erofs$/);
            ErofsImage.open(join(blobs, f)).close();
          }
        } finally {
          rmSync(at, { recursive: true, force: true });
          rmSync(l1, { force: true });
        }
      }),
      { numRuns: runs(100) },
    );
    expect(merged).toBeGreaterThan(0);
  });
});
