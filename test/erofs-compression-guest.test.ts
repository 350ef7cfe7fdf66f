// The boot package's guest kernel (Debian trixie's 6.12, built with EROFS lz4, lzma, deflate and
// zstd) reads our compressed images: it walks the mounted root and every file's bytes, owners,
// modes and xattrs must be the source directory's, judged without our reader.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultKitDir, Guest, verify } from '@fstools/boot';
import type { CompressionOptions } from '@fstools/erofs-writer';
import { writeErofs } from '@fstools/erofs-writer';
import { treeFromDirectory } from '@fstools/fstree';
import { freshUpper, haveKit } from './helpers/boot-images.js';
import { writeCorpus } from './helpers/compressible.js';

const kitDir = defaultKitDir();
const ready = haveKit(kitDir);
let work: string;
let guest: Guest;
beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'z-guest-'));
  if (ready) guest = await Guest.create({ kitDir, consoleDir: work });
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

const sets: CompressionOptions[] = [
  { algorithm: 'lz4hc', pclusterSize: 16384, ztailpacking: true },
  { algorithm: 'zstd', pclusterSize: 65536, fragments: true, dedupe: true },
  { algorithm: 'deflate', ztailpacking: true, fragments: 'all' },
  { algorithm: 'lzma', pclusterSize: 65536, ztailpacking: true },
];

describe.runIf(ready)('the guest kernel reads compressed images', () => {
  for (const z of sets) {
    it(`${JSON.stringify(z)}: the guest's walk of the mounted image equals the source directory`, async () => {
      const src = join(work, 'corpus');
      writeCorpus(src);
      const image = join(work, `${z.algorithm}.erofs`);
      await writeErofs(treeFromDirectory(src), image, { compression: z });
      const r = await verify(guest, { disk: image, upper: freshUpper(join(work, `u-${z.algorithm}.ext4`)), expected: treeFromDirectory(src) });
      expect(r.problems).toEqual([]);
      expect(r.ok).toBe(true);
    });
  }
});
