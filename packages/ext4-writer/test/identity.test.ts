import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import type { FsTree } from '@fstools/fstree';
import { FsTree as Tree, makeDir, makeFile, makeSymlink } from '@fstools/fstree';
import { writeExt4 } from '../src/index.js';
import { hasE2fsprogs, run } from '../../../test/helpers/ext4-oracles.js';
import { oracle } from '../../../test/helpers/oracles.js';
import { expectClean, scratch } from './helpers.js';

// The derived UUID and directory hash seed follow what the image stores, not the source's raw
// metadata: Deno's node:fs reports mtimes cut to milliseconds, and a build clamped with
// `timestamp` must not depend on that.

const tmp = scratch('identity');
afterAll(() => tmp.cleanup());
const fsck = oracle('e2fsprogs', hasE2fsprogs, 'apt-get install e2fsprogs');

const SEC = 1_000_000_000n;
const T = 1_700_000_000n;

/** A small tree whose every inode gets mtime base + i seconds + sub(i) ns. */
function treeWith(base: bigint, sub: (i: number) => bigint): FsTree {
  let i = 0;
  const t = (): bigint => base + BigInt(i) * SEC + sub(i++);
  const shared = makeFile(new Uint8Array(Buffer.from('linked\n')), { mtime: t() });
  const sub1 = makeDir({ mode: 0o755, mtime: t() });
  sub1.entries.set('big', makeFile(new Uint8Array(70_000).fill(7), { mtime: t() }));
  sub1.entries.set('hard', shared);
  const many = makeDir({ mode: 0o755, mtime: t() });
  // Enough names for an htree directory: its layout follows the hash seed.
  for (let n = 0; n < 200; n++) many.entries.set(`entry-${n}-${'x'.repeat(40)}`, makeFile(new Uint8Array(0), { mtime: t() }));
  const root = makeDir({ mode: 0o755, mtime: t() });
  root.entries.set('a.txt', shared);
  root.entries.set('empty', makeFile(new Uint8Array(0), { mtime: t() }));
  root.entries.set('link', makeSymlink('a.txt', { mtime: t() }));
  root.entries.set('sub', sub1);
  root.entries.set('many', many);
  return new Tree(root);
}

/** Sub-millisecond parts, and the same times as Deno reports them (cut to milliseconds). */
const fine = (i: number): bigint => 123_456_789n + BigInt(i * 1013);
const cut = (i: number): bigint => (fine(i) / 1_000_000n) * 1_000_000n;

interface Written {
  bytes: Buffer;
  uuid: string;
  hashSeed: string;
  path: string;
}

async function write(name: string, tree: FsTree, opts: { timestamp: bigint; inodeSize?: number }): Promise<Written> {
  const path = tmp.path(name);
  const r = await writeExt4(tree, path, { size: 8 * 2 ** 20, ...opts });
  const bytes = readFileSync(path);
  // struct ext4_super_block at 1024: s_uuid at 0x68, s_hash_seed at 0xec.
  return { bytes, uuid: r.uuid, hashSeed: bytes.subarray(1024 + 0xec, 1024 + 0xfc).toString('hex'), path };
}

/** The nanoseconds of a path's mtime as the image stores them (debugfs stat: "mtime: 0xSEC:EXTRA"). */
function storedNsec(img: string, path: string): number {
  const r = run('debugfs', ['-R', `stat ${path}`, img]);
  const m = /\bmtime: 0x[0-9a-f]+:([0-9a-f]+)/.exec(r.stdout);
  if (!m) throw new Error(`debugfs stat ${path} ${img}: no mtime in\n${r.stdout}${r.stderr}`);
  return parseInt(m[1]!, 16) >>> 2;
}

describe('content-derived UUID and hash seed', () => {
  it('a clamping timestamp makes sub-millisecond source mtimes irrelevant: identical images', async () => {
    // Every mtime lies after T, so every inode stores T: the sources differ in nothing written.
    const a = await write('clamped-ns.img', treeWith(T * SEC + 5n * SEC, fine), { timestamp: T });
    const b = await write('clamped-ms.img', treeWith(T * SEC + 5n * SEC, cut), { timestamp: T });
    expect(b.uuid).toBe(a.uuid);
    expect(b.hashSeed).toBe(a.hashSeed);
    expect(b.bytes.equals(a.bytes)).toBe(true);
    if (fsck) expectClean(a.path);
  });

  it('sub-millisecond mtimes that are stored (ns in the extra fields) change the identity', async () => {
    // Every mtime lies before T: nothing is clamped, 256-byte inodes keep the nanoseconds.
    const a = await write('kept-ns.img', treeWith(1_600_000_000n * SEC, fine), { timestamp: T });
    const b = await write('kept-ms.img', treeWith(1_600_000_000n * SEC, cut), { timestamp: T });
    expect(b.uuid).not.toBe(a.uuid);
    expect(b.hashSeed).not.toBe(a.hashSeed);
    expect(b.bytes.equals(a.bytes)).toBe(false);
    if (fsck) {
      expectClean(a.path);
      expectClean(b.path);
      // debugfs shows the nanoseconds each image stores for /empty: sub-millisecond in one only.
      const a1 = storedNsec(a.path, '/empty');
      const b1 = storedNsec(b.path, '/empty');
      expect(a1 % 1_000_000).not.toBe(0);
      expect(b1).toBe(a1 - (a1 % 1_000_000));
    }
  });

  it('128-byte inodes store no nanoseconds: sub-second differences leave the image unchanged', async () => {
    const a = await write('small-ns.img', treeWith(1_600_000_000n * SEC, fine), { timestamp: T, inodeSize: 128 });
    const b = await write('small-ms.img', treeWith(1_600_000_000n * SEC, cut), { timestamp: T, inodeSize: 128 });
    expect(b.uuid).toBe(a.uuid);
    expect(b.bytes.equals(a.bytes)).toBe(true);
    if (fsck) expectClean(a.path);
  });

  it('a partly clamped tree: the clamped times stop mattering, the kept ones still count', async () => {
    // Every other inode lies before T (kept; whole milliseconds, as Deno reports them too), the
    // rest after T (clamped; sub-millisecond parts that Deno would cut).
    const mixed = (sub: (i: number) => bigint): FsTree => {
      const tree = treeWith(0n, () => 0n);
      const seen = new Set<object>();
      let i = 0;
      for (const { inode } of tree.walk()) {
        if (seen.has(inode)) continue;
        seen.add(inode);
        inode.mtime = i % 2 === 0 ? (T - 100n + BigInt(i)) * SEC + cut(i) : (T + 100n + BigInt(i)) * SEC + sub(i);
        i++;
      }
      return tree;
    };
    const a = await write('mixed-ns.img', mixed(fine), { timestamp: T });
    const b = await write('mixed-ms.img', mixed(cut), { timestamp: T });
    expect(b.uuid).toBe(a.uuid);
    expect(b.bytes.equals(a.bytes)).toBe(true);
    // A kept time moved by a microsecond is a different image.
    const c = mixed(fine);
    c.root.mtime += 1000n;
    expect((await write('mixed-moved.img', c, { timestamp: T })).uuid).not.toBe(a.uuid);
  });
});
