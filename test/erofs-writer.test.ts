import { mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import type { FsTree, ManifestOptions } from '@fstools/fstree';
import { treeFromDirectory, treeToTar } from '@fstools/fstree';
import { writeErofs, writeErofsFromTar } from '@fstools/erofs-writer';
import { runs, treeArb } from './helpers/arbitrary-tree.js';
import { canMount, scratchDir } from './helpers/erofs-oracles.js';
import { judgeImage } from './helpers/erofs-judge.js';
import { materialize, withTmpfs } from './helpers/host-tree.js';
import { hostTree } from './helpers/host-xattrs.js';
import { hasCommand, oracle } from './helpers/oracles.js';

const dir = scratchDir('erofs-writer');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const img = (): string => join(dir, `img${n++}.erofs`);

/** Every oracle this machine has: our reader, fsck.erofs 1.5, 1.8 (with --extract compared), kernel mount walked. */
function judge(image: string, tree: FsTree, opts: ManifestOptions = {}, blockSize = 4096): Promise<void> {
  return judgeImage(image, tree, { ...opts, blockSize, scratch: dir });
}

async function* chunks(tree: FsTree): AsyncGenerator<Uint8Array> {
  yield* treeToTar(tree);
}

describe('erofs-writer against fsck.erofs 1.5, 1.8 and the kernel', () => {
  it('property: any tree written from the tree API mounts and reads back identical', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb({ maxSparseSize: 3 << 20 }), fc.constantFrom(4096, 512, 1024, 2048), async (tree, blockSize) => {
        const out = img();
        await writeErofs(tree, out, { blockSize });
        await judge(out, tree, {}, blockSize);
        rmSync(out);
      }),
      { numRuns: runs(12) },
    );
  });

  it('property: the same trees streamed as tar (--tar) read back identical', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb({ types: ['dir', 'file', 'symlink', 'chr', 'blk', 'fifo'] }), async (tree) => {
        const out = img();
        await writeErofsFromTar(chunks(tree), 'tree.tar', out);
        await judge(out, tree);
        rmSync(out);
      }),
      { numRuns: runs(8) },
    );
  });

  it('property: trees made in a host directory (xattrs set with setfattr) and read back by treeFromDirectory itself', async () => {
    // The writer reads the directory (xattrs through fstree's addon); the reference is the
    // directory as lstat and getfattr see it. Root: device nodes, owners, trusted.*, tmpfs.
    if (!canMount() || !oracle('setfattr', hasCommand('setfattr'), 'apt-get install attr')) return;
    await withTmpfs(async (fs) => {
      await fc.assert(
        fc.asyncProperty(treeArb({ types: ['dir', 'file', 'symlink', 'chr', 'blk', 'fifo'], maxSparseSize: 1 << 20, hostXattrs: true }), fc.constantFrom(4096, 512, 1024, 2048), async (tree, blockSize) => {
          const src = `${fs}/t${n++}`;
          mkdirSync(src);
          // Only directories may have names that are not UTF-8 (the addon takes text paths; a
          // directory is read through an fd of it, its children through /proc/self/fd/N/name).
          materialize(tree, src, { textNamesOnly: true, scratch: fs });
          const out = img();
          await writeErofs(treeFromDirectory(src), out, { blockSize });
          await judge(out, hostTree(src), {}, blockSize);
          rmSync(out);
          rmSync(src, { recursive: true, force: true });
        }),
        { numRuns: runs(8) },
      );
    });
  });

  it('property: chunk-based files (--chunksize) keep holes and data', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb({ types: ['dir', 'file'], maxSparseSize: 8 << 20, maxFileSize: 200_000 }), fc.constantFrom(4096, 65536, 1 << 20), async (tree, chunkSize) => {
        const out = img();
        await writeErofs(tree, out, { chunkSize });
        await judge(out, tree);
        rmSync(out);
      }),
      { numRuns: runs(6) },
    );
  });
});

describe('determinism', () => {
  it('same input and options give byte-identical images, in tree and tar mode', async () => {
    const tree = fc.sample(treeArb({ maxSparseSize: 1 << 20 }), { numRuns: 1, seed: 42 })[0]!;
    const a = img();
    const b = img();
    await writeErofs(tree, a);
    await writeErofs(tree, b);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const c = img();
    const d = img();
    const tarTree = fc.sample(treeArb({ types: ['dir', 'file', 'symlink'] }), { numRuns: 1, seed: 7 })[0]!;
    await writeErofsFromTar(chunks(tarTree), 't', c);
    await writeErofsFromTar(chunks(tarTree), 't', d);
    expect(readFileSync(c).equals(readFileSync(d))).toBe(true);
    expect(statSync(c).size % 4096).toBe(0);
  });
});
