import { appendFileSync, existsSync, linkSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { FsTree, makeDir, makeFile, utf8 } from '@fstools/fstree';
import { afterAll, describe, expect, it } from 'vitest';
import { canLoopMount, hasE2fsprogs, withMount } from '../../../test/helpers/ext4-oracles.js';
import { oracle } from '../../../test/helpers/oracles.js';
import type { Ext4Options } from '../src/index.js';
import { writeExt4 } from '../src/index.js';
import { expectClean, expectKernelSees, scratch } from './helpers.js';

/**
 * The kernel takes over an image we made: thousands of creates, writes, renames and deletes
 * through the journal, then e2fsck must still find nothing. Wrong bitmaps, free counts, group
 * flags, htree nodes or journal superblocks show up here as kernel errors or e2fsck complaints.
 */
const enabled = oracle('e2fsck', hasE2fsprogs, 'e2fsprogs not installed') && oracle('kernel ext4 loop mount', canLoopMount, 'needs root and loop devices');
const tmp = scratch('kernel-rw');
afterAll(tmp.cleanup);

function bytes(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (i * 131 + seed) & 0xff;
  return b;
}

function sourceTree(): FsTree {
  const tree = new FsTree(makeDir({ mode: 0o755 }));
  for (let i = 0; i < 5000; i++) tree.set(utf8(`big/orig-${i}-${'x'.repeat(i % 40)}`), makeFile(bytes(i % 300, i)), () => ({ mode: 0o755 }));
  for (let i = 0; i < 500; i++) tree.set(utf8(`src/d${i % 20}/f${i}`), makeFile(bytes((i * 977) % 70_000, i)), () => ({ mode: 0o755 }));
  return tree;
}

const geometries: Array<[string, Partial<Ext4Options>]> = [
  ['defaults', {}],
  ['1k blocks, no flex_bg, no metadata_csum', { blockSize: 1024, features: ['^flex_bg', '^metadata_csum'] }],
  ['block maps (no extent), 2k blocks', { blockSize: 2048, features: ['^extent'] }],
];

describe.skipIf(!enabled)('the kernel writes to our images', () => {
  for (const [name, geo] of geometries) {
    it(name, async () => {
      const img = tmp.path(`rw-${name.replace(/\W+/g, '-')}.img`);
      const tree = sourceTree();
      await writeExt4(tree, img, { size: 384 * 2 ** 20, ...geo });
      expectClean(img);
      await expectKernelSees(img, tree);
      await withMount(img, (m) => {
        mkdirSync(`${m}/w`);
        for (let i = 0; i < 200; i++) mkdirSync(`${m}/w/d${i}`);
        for (let i = 0; i < 3000; i++) writeFileSync(`${m}/big/new-${i}`, bytes((i * 37) % 9000, i));
        for (let i = 0; i < 1000; i++) renameSync(`${m}/big/new-${i}`, `${m}/w/d${i % 200}/moved-${i}`);
        for (let i = 0; i < 5000; i += 3) unlinkSync(`${m}/big/orig-${i}-${'x'.repeat(i % 40)}`);
        for (let i = 1000; i < 1500; i++) unlinkSync(`${m}/big/new-${i}`);
        for (let d = 0; d < 10; d++) rmSync(`${m}/src/d${d}`, { recursive: true });
        for (let i = 0; i < 100; i++) rmSync(`${m}/w/d${i}`, { recursive: true });
        for (let i = 0; i < 200; i++) linkSync(`${m}/big/new-${1500 + i}`, `${m}/w/d${150 + (i % 50)}/link-${i}`);
        writeFileSync(`${m}/w/large`, bytes(20 << 20, 7));
        for (let i = 10; i < 20; i++) for (const f of readdirSync(`${m}/src/d${i}`)) appendFileSync(`${m}/src/d${i}/${f}`, 'more');
        truncateSync(`${m}/w/large`, 3 << 20);
      });
      expectClean(img);
      await withMount(img, (m) => {
        expect(readdirSync(`${m}/big`).length).toBe(5000 - Math.ceil(5000 / 3) + 3000 - 1000 - 500);
        expect(readFileSync(`${m}/w/d150/moved-150`).equals(bytes((150 * 37) % 9000, 150))).toBe(true);
        expect(readFileSync(`${m}/w/large`).equals(bytes(20 << 20, 7).subarray(0, 3 << 20))).toBe(true);
        expect(readFileSync(`${m}/src/d12/f12`).equals(Buffer.concat([bytes((12 * 977) % 70_000, 12), Buffer.from('more')]))).toBe(true);
        expect(existsSync(`${m}/src/d3`)).toBe(false);
      }, { readonly: true });
    });
  }
});
