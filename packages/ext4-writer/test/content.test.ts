import { existsSync, readdirSync, readFileSync, truncateSync } from 'node:fs';
import fc from 'fast-check';
import type { DirInode, FsTree } from '@fstools/fstree';
import { FsTree as Tree, makeDevice, makeDir, makeFile, makeSpecial, makeSymlink, readAll, utf8 } from '@fstools/fstree';
import { afterAll, describe, expect, it } from 'vitest';
import { runs, treeArb } from '../../../test/helpers/arbitrary-tree.js';
import { canLoopMount, dumpe2fsHeader, hasE2fsprogs, run, withMount } from '../../../test/helpers/ext4-oracles.js';
import { oracle } from '../../../test/helpers/oracles.js';
import { TooSmallError, writeExt4 } from '../src/index.js';
import { expectClean, expectKernelSees, inodesOf, scratch, yieldToEventLoop } from './helpers.js';
import { vfsAcl } from '../../../test/helpers/vfs-acl.js';

const fsck = oracle('e2fsck', hasE2fsprogs, 'e2fsprogs not installed');
const kernel = oracle('kernel ext4 loop mount', canLoopMount, 'needs root and loop devices');
const tmp = scratch('content');
afterAll(tmp.cleanup);

const S = 1_000_000_000n;

/** Drops what a small block size cannot hold: long symlink targets, xattr sets over one block. */
function fitBlockSize(tree: FsTree, blockSize: number): void {
  for (const inode of inodesOf(tree)) {
    if (blockSize < 4096) inode.xattrs.delete('user.big');
    if (inode.type !== 'dir') continue;
    for (const [name, child] of inode.entries) if (child.type === 'symlink' && child.target.length >= blockSize) inode.entries.delete(name);
  }
}


/** A sparse file of `size` bytes with one byte at each offset. */
function sparse(size: number, offsets: number[], mtime: bigint): ReturnType<typeof makeFile> {
  return makeFile({ size, data: { kind: 'sparse', segments: offsets.map((offset, i) => ({ offset, bytes: Uint8Array.of(0x41 + (i % 26)) })) } }, { mtime });
}

const SWITCHABLE = ['dir_index', 'filetype', 'extent', '64bit', 'flex_bg', 'metadata_csum', 'metadata_csum_seed', 'has_journal', 'huge_file', 'large_file', 'dir_nlink', 'extra_isize', 'ext_attr', 'resize_inode'];

describe.skipIf(!fsck)('content', () => {
  it('random trees at random geometries (one group to multi-TiB): e2fsck clean, the kernel reads back the same tree', async () => {
    await fc.assert(
      fc.asyncProperty(
        treeArb({ maxSparseSize: 48 << 20 }),
        fc.oneof(
          fc.record({
            size: fc.constantFrom(4 << 20, 24 << 20, 512 << 20, 20 * 2 ** 30),
            blockSize: fc.constantFrom(undefined, 1024, 2048, 4096),
            off: fc.subarray([...SWITCHABLE, 'sparse_super'], { maxLength: 2 }),
          }),
          // Multi-TiB, sparse: without sparse_super each of 24576 groups would carry the 1.5 MiB descriptor
          // table, without metadata_csum every bitmap would be written (hundreds of MiB).
          fc.record({ size: fc.constant(3 * 2 ** 40), blockSize: fc.constantFrom(undefined, 4096), off: fc.subarray(SWITCHABLE.filter((f) => f !== 'metadata_csum'), { maxLength: 2 }) }),
        ),
        fc.constantFrom(256, 512),
        fc.option(fc.nat({ max: 300 })),
        async (tree, { size, blockSize, off }, inodeSize, lostFound) => {
          await yieldToEventLoop();
          // Sometimes the source brings its own lost+found, of any size.
          if (lostFound !== null) {
            const dir = makeDir({ mode: 0o700 });
            for (let i = 0; i < lostFound; i++) dir.entries.set(utf8(`#${i}${'-'.repeat(i % 40)}`), makeFile(new Uint8Array([i & 0xff])));
            tree.root.entries.set(utf8('lost+found'), dir);
          }
          fitBlockSize(tree, blockSize ?? (size < 512 << 20 ? 1024 : 4096));
          if (off.includes('ext_attr')) for (const inode of inodesOf(tree)) inode.xattrs.clear();
          const img = tmp.path('prop.img');
          const opts = { size, blockSize, inodeSize, features: off.map((f) => `^${f}`) };
          try {
            await writeExt4(tree, img, opts);
          } catch (err) {
            // Too small for this tree: the error states a minimum, and that size must work.
            if (!(err instanceof TooSmallError)) throw err;
            const min = Number(/minimum size is (\d+)K/.exec(err.message)?.[1]);
            expect(min * 1024, err.message).toBeGreaterThan(size);
            await writeExt4(tree, img, { ...opts, size: min * 1024 });
          }
          expectClean(img);
          if (kernel) await expectKernelSees(img, tree);
        },
      ),
      { numRuns: runs(10) },
    );
  });

  it('every kind of entry, holes, >4 GiB files, deep extent trees, xattrs in inode and block, ACLs, extreme times', async () => {
    const bs = 4096;
    const root = makeDir({ mode: 0o755, mtime: 1_700_000_000n * S });
    const tree = new Tree(root);
    const t2100 = 4_102_444_800n * S + 123_456_789n; // needs the epoch bits
    const t1950 = -631_152_000n * S + 5n;
    tree.set('empty', makeFile(new Uint8Array(0), { mtime: t2100 }));
    tree.set('small', makeFile(new TextEncoder().encode('hello, ext4\n'), { mtime: t1950, uid: 100_000, gid: 200_000, mode: 0o4755 }));
    tree.set('zeros', makeFile(new Uint8Array(65536)));
    tree.set('holes', sparse(1 << 20, [0, 900_000], 1n));
    tree.set('big', sparse(5 * 2 ** 30 + 17, [0, 2 ** 32 + 12345, 5 * 2 ** 30 + 16], 2n));
    tree.set('frag1', sparse(600 * 2 * bs, Array.from({ length: 600 }, (_, i) => i * 2 * bs), 3n)); // depth 1
    tree.set('frag2', sparse(2000 * 2 * bs, Array.from({ length: 2000 }, (_, i) => i * 2 * bs), 4n)); // depth 2
    tree.set('fast', makeSymlink(utf8('f'.repeat(59))));
    tree.set('slow', makeSymlink(utf8('s'.repeat(60))));
    tree.set('long', makeSymlink(utf8('l/'.repeat(2000))));
    tree.set('dev/null', makeDevice('chr', 1, 3), () => ({ mode: 0o755 }));
    tree.set('dev/sda', makeDevice('blk', 8, 0));
    tree.set('dev/wide', makeDevice('chr', 300, 70000));
    tree.set('dev/fifo', makeSpecial('fifo'));
    tree.set('dev/sock', makeSpecial('sock'));
    const linked = makeFile(new TextEncoder().encode('linked'));
    tree.set('hl/a', linked, () => ({ mode: 0o1777 }));
    tree.set('hl/b', linked);
    const bigValue = new Uint8Array(1500).map((_, i) => i & 0xff);
    for (const name of ['x1', 'x2', 'x3']) {
      tree.set(`xattrs/${name}`, makeFile(new Uint8Array(10), { xattrs: new Map([['user.big', bigValue], ['user.tag', new Uint8Array([1, 2, 3])]]) }), () => ({ mode: 0o755 }));
    }
    tree.set('xattrs/inline', makeFile(new Uint8Array(1), { xattrs: new Map([['user.a', new Uint8Array([0x61])], ['trusted.t', new Uint8Array(0)]]) }));
    tree.set('xattrs/cap', makeFile(new Uint8Array(1), { xattrs: new Map([['security.capability', new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])]]) }));
    const access = vfsAcl([[0x01, 6, -1], [0x02, 4, 1000], [0x04, 4, -1], [0x08, 6, 50], [0x10, 6, -1], [0x20, 4, -1]]);
    tree.set('acl/file', makeFile(new Uint8Array(3), { mode: 0o664, xattrs: new Map([['system.posix_acl_access', access]]) }), () => ({ mode: 0o755 }));
    (tree.lookup('acl') as DirInode).xattrs.set('system.posix_acl_default', vfsAcl([[0x01, 7, -1], [0x04, 5, -1], [0x20, 5, -1]]));
    (tree.lookup('xattrs') as DirInode).xattrs.set('trusted.overlay.opaque', new Uint8Array([0x79]));
    for (let i = 0; i < 300; i++) tree.set(`many/entry-${String(i).padStart(4, '0')}-${'n'.repeat(i % 50)}`, makeFile(new Uint8Array([i & 0xff])), () => ({ mode: 0o755 }));

    const img = tmp.path('kinds.img');
    await writeExt4(tree, img, { size: 8 * 2 ** 30, blockSize: bs });
    expectClean(img);

    const header = dumpe2fsHeader(img);
    expect(header.get('Filesystem features')!.split(' ').sort()).toEqual(
      ['has_journal', 'ext_attr', 'resize_inode', 'dir_index', 'filetype', 'extent', '64bit', 'flex_bg', 'metadata_csum_seed', 'sparse_super', 'large_file', 'huge_file', 'dir_nlink', 'extra_isize', 'metadata_csum'].sort(),
    );
    const debugfs = (req: string): string => run('debugfs', ['-R', req, img]).stdout;
    expect(debugfs('cat /small')).toBe('hello, ext4\n');
    // Holes stay holes: the 1 MiB file and the 5 GiB one hold two and three blocks.
    expect(debugfs('stat /holes')).toMatch(/Blockcount: 16\b/);
    expect(debugfs('stat /big')).toMatch(/Size: 5368709137\b/);
    expect(debugfs('stat /zeros')).toMatch(/Blockcount: 0\b/);
    // ex prints "Level Entries ...", then one line per node; depth = last level number.
    expect(debugfs('ex /frag1')).toMatch(/^ 1\/ 1 /m);
    expect(debugfs('ex /frag2')).toMatch(/^ 2\/ 2 /m);
    expect(debugfs('stat /xattrs/x1')).toMatch(/File ACL: [1-9]/);
    expect(debugfs('stat /fast')).toMatch(/Fast link dest: "f{59}"/);
    if (kernel) await expectKernelSees(img, tree);
  });

  it('a directory of 100,000 entries gets a two-level hash tree the kernel looks names up in quickly', async () => {
    const dir = makeDir({ mode: 0o755 });
    const names: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const name = `file-${i.toString(36).padStart(6, '0')}-with-a-longer-name-${i % 7}`;
      names.push(name);
      dir.entries.set(utf8(name), makeSpecial('fifo'));
    }
    const tree = new Tree(makeDir({ mode: 0o755 }));
    tree.set('big', dir);
    const img = tmp.path('bigdir.img');
    await writeExt4(tree, img, { size: 2 * 2 ** 30, timestamp: 1_700_000_000n });
    expectClean(img);
    const dump = run('debugfs', ['-R', 'htree_dump /big', img]).stdout;
    expect(dump).toMatch(/Indirect levels: 1/);
    if (!kernel) return;
    await withMount(img, async (mnt) => {
      expect(readdirSync(`${mnt}/big`).length).toBe(100_000);
      const started = performance.now();
      for (let i = 0; i < 3000; i++) {
        const k = (i * 7919) % names.length;
        expect(existsSync(`${mnt}/big/${names[k]}`)).toBe(true);
        expect(existsSync(`${mnt}/big/${names[k]}.missing`)).toBe(false);
      }
      // A linear scan of this 6 MiB directory per lookup would take minutes.
      expect(performance.now() - started).toBeLessThan(3000);
    }, { readonly: true });
  });

  it('dir_nlink: a directory with more than 65000 subdirectories stores a link count of 1', async () => {
    const tree = new Tree(makeDir({ mode: 0o755 }));
    const dir = makeDir();
    for (let i = 0; i < 65_010; i++) dir.entries.set(utf8(`d${i}`), makeDir());
    tree.set('wide', dir);
    const img = tmp.path('nlink.img');
    await writeExt4(tree, img, { size: 512 << 20, blockSize: 1024, inodeCount: 70_000, timestamp: 1_700_000_000n });
    expectClean(img);
    expect(run('debugfs', ['-R', 'stat /wide', img]).stdout).toMatch(/Links: 1\b/);
  });

  it('resize2fs grows our images past the reserved GDT blocks and shrinks them, the content intact', async () => {
    const tree = new Tree(makeDir({ mode: 0o755 }));
    for (let i = 0; i < 400; i++) tree.set(`d${i % 13}/f${i}`, makeFile(new Uint8Array(i * 37).fill(i & 0xff)), () => ({ mode: 0o755 }));
    const img = tmp.path('resize.img');
    await writeExt4(tree, img, { size: 2 ** 30 });
    for (const size of ['12G', '40G', '300M']) {
      if (size !== '300M') truncateSync(img, Number(size.slice(0, -1)) * 2 ** 30);
      const r = run('resize2fs', [img, size]);
      expect(r.status, r.stdout + r.stderr).toBe(0);
      expectClean(img);
    }
    if (kernel) await expectKernelSees(img, tree);
  });

  it('a lost+found in the source is used, however many entries it holds; a non-directory one is refused', async () => {
    for (const blockSize of [1024, 4096]) {
      const tree = new Tree(makeDir({ mode: 0o755 }));
      for (let i = 0; i < 400; i++) tree.set(`lost+found/#${i}-${'r'.repeat(i % 60)}`, makeFile(new Uint8Array([i & 0xff])), () => ({ mode: 0o700 }));
      const img = tmp.path(`lpf-${blockSize}.img`);
      await writeExt4(tree, img, { size: 64 << 20, blockSize });
      expectClean(img);
      if (kernel) await withMount(img, (m) => expect(readdirSync(`${m}/lost+found`).length).toBe(400), { readonly: true });
    }
    const bad = new Tree(makeDir({ mode: 0o755 }));
    bad.set('lost+found', makeFile(new Uint8Array(1)));
    await expect(writeExt4(bad, tmp.path('lpf-bad.img'), { size: 64 << 20 })).rejects.toThrow(/lost\+found: must be a directory/);
    expect(existsSync(tmp.path('lpf-bad.img'))).toBe(false);
  });

  it('file data matches through debugfs for files written from host paths', async () => {
    const src = readFileSync(new URL(import.meta.url));
    const tree = new Tree(makeDir({ mode: 0o755 }));
    tree.set('me.ts', makeFile({ size: src.length, data: { kind: 'host', path: new URL(import.meta.url).pathname, offset: 0 } }));
    const img = tmp.path('host.img');
    await writeExt4(tree, img, { size: 64 << 20 });
    expectClean(img);
    const dumped = tmp.path('dumped');
    run('debugfs', ['-R', `dump /me.ts ${dumped}`, img]);
    expect(readFileSync(dumped).equals(readAll(tree.lookup('me.ts') as never))).toBe(true);
  });
});
