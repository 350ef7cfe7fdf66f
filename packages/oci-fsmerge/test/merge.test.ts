import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { diffManifests, manifest } from '@fstools/fstree';
import type { FsTree } from '@fstools/fstree';
import { layerStackArb } from './helpers/arbitrary.js';
import type { Entry } from './helpers/model.js';
import { modelMerge } from './helpers/model.js';
import { mergeEntries } from './helpers/layers.js';

const runs = Number(process.env.FC_RUNS ?? 200);

function paths(t: FsTree): string[] {
  return manifest(t).map((e) => e.path);
}
function entry(t: FsTree, p: string) {
  return manifest(t).find((e) => e.path === p);
}

async function expectModel(layers: Entry[][]): Promise<FsTree> {
  const got = await mergeEntries(layers);
  const want = modelMerge(layers);
  expect(diffManifests(manifest(want), manifest(got))).toEqual([]);
  return got;
}

describe('merge rules', () => {
  it('whiteouts delete lower paths and never appear', async () => {
    const t = await expectModel([
      [{ path: 'a/foo', data: 'x' }, { path: 'a/keep', data: 'k' }, { path: 'b', type: 'dir' }],
      [{ path: 'a/.wh.foo' }, { path: '.wh.b' }],
    ]);
    expect(paths(t)).toEqual(['.', 'a', 'a/keep']);
  });

  it('opaque directories hide lower children wherever the marker sits in the tar', async () => {
    for (const order of ['first', 'last']) {
      const own = [{ path: 'd/new', data: 'n' }];
      const marker = { path: 'd/.wh..wh..opq' };
      const t = await expectModel([
        [{ path: 'd/old', data: 'o' }, { path: 'd/sub/deep', data: 'z' }],
        [{ path: 'd', type: 'dir', mode: 0o700 }, ...(order === 'first' ? [marker, ...own] : [...own, marker])],
      ]);
      expect(paths(t)).toEqual(['.', 'd', 'd/new']);
      expect(entry(t, 'd')!.mode).toBe('0700');
    }
  });

  it('a non-directory over a directory removes the whole subtree', async () => {
    const t = await expectModel([[{ path: 'x/y/z', data: '1' }], [{ path: 'x', type: 'symlink', target: '/etc' }]]);
    expect(paths(t)).toEqual(['.', 'x']);
    expect(entry(t, 'x')!.type).toBe('symlink');
  });

  it('a directory over a directory merges and takes the upper metadata; implied parents keep the lower', async () => {
    const t = await expectModel([
      [{ path: 'd', type: 'dir', mode: 0o700, uid: 7, mtime: 5 }, { path: 'd/a', data: 'a' }, { path: 'e', type: 'dir', mode: 0o711, uid: 9 }],
      [{ path: 'd', type: 'dir', mode: 0o750, uid: 8, mtime: 6 }, { path: 'd/b', data: 'b' }, { path: 'e/c', data: 'c' }, { path: 'new/deep/f', data: 'f' }],
    ]);
    expect(paths(t)).toEqual(['.', 'd', 'd/a', 'd/b', 'e', 'e/c', 'new', 'new/deep', 'new/deep/f']);
    expect(entry(t, 'd')).toMatchObject({ mode: '0750', uid: 8, mtime: '6000000000' });
    expect(entry(t, 'e')).toMatchObject({ mode: '0711', uid: 9 });
    expect(entry(t, 'new')).toMatchObject({ mode: '0755', uid: 0, gid: 0, mtime: '0' });
  });

  it('hard links within a layer and to lower layers share the inode; link counts follow removals', async () => {
    const t = await expectModel([
      [{ path: 'bin/a', data: 'same', mode: 0o755 }, { path: 'bin/b', type: 'hardlink', target: 'bin/a' }],
      [{ path: 'bin/c', type: 'hardlink', target: 'bin/a' }, { path: 'bin/.wh.a' }],
    ]);
    expect(paths(t)).toEqual(['.', 'bin', 'bin/b', 'bin/c']);
    expect(entry(t, 'bin/c')!.link).toBe('bin/b');
    expect(t.linkCounts().get(t.lookup('bin/b')!)).toBe(2);
  });

  it('keeps PAX xattrs, ns mtimes, setuid bits, devices and fifos', async () => {
    const cap = '\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00';
    const t = await expectModel([
      [
        { path: 'usr/bin/ping', data: 'elf', mode: 0o4755, mtime: '1700000000123456789', xattrs: { 'security.capability': cap } },
        { path: 'dev/null', type: 'chr', major: 1, minor: 3, mode: 0o666 },
        { path: 'dev/sda', type: 'blk', major: 8, minor: 0 },
        { path: 'run/fifo', type: 'fifo' },
      ],
    ]);
    expect(entry(t, 'usr/bin/ping')).toMatchObject({ mode: '4755', mtime: '1700000000123456789' });
    expect(entry(t, 'usr/bin/ping')!.xattrs!['security.capability']).toBe(Buffer.from(cap, 'latin1').toString('hex'));
    expect(entry(t, 'dev/null')!.rdev).toBe('1:3');
    expect(entry(t, 'run/fifo')!.type).toBe('fifo');
  });

  it('a whiteout and a new directory of the same name in one layer replace the lower directory', async () => {
    const t = await expectModel([[{ path: 'w/old', data: 'o' }], [{ path: '.wh.w' }, { path: 'w/new', data: 'n' }]]);
    expect(paths(t)).toEqual(['.', 'w', 'w/new']);
  });

  it('refuses paths through a lower symlink, hard links to missing targets, and traversal', async () => {
    await expect(mergeEntries([[{ path: 'lib', type: 'symlink', target: 'usr/lib' }], [{ path: 'lib/evil', data: 'x' }]])).rejects.toThrow(/lib.*symlink in a lower layer/);
    await expect(mergeEntries([[{ path: 'a', data: '1' }], [{ path: 'b', type: 'hardlink', target: 'nope' }]])).rejects.toThrow(/hard link to missing target nope/);
    await expect(mergeEntries([[{ path: '../escape', data: '1' }]])).rejects.toThrow(/'\.\.'/);
    await expect(mergeEntries([[{ path: '/../abs', data: '1' }]])).rejects.toThrow(/'\.\.'/);
    await expect(mergeEntries([[{ path: 'l', type: 'symlink', target: '/etc' }, { path: 'l/passwd', data: 'x' }]])).rejects.toThrow(/not a directory/);
  });
});

describe('merge equals the reference model on random layer stacks', () => {
  it('property', async () => {
    await fc.assert(
      fc.asyncProperty(layerStackArb, async (layers) => {
        let want: FsTree | Error;
        try {
          want = modelMerge(layers);
        } catch (err) {
          want = err as Error;
        }
        let got: FsTree | Error;
        try {
          got = await mergeEntries(layers);
        } catch (err) {
          got = err as Error;
        }
        if (want instanceof Error || got instanceof Error) {
          expect({ model: want instanceof Error ? 'error' : 'ok', fsmerge: got instanceof Error ? `error: ${got.message}` : 'ok' }).toEqual({ model: 'error', fsmerge: expect.stringMatching(/^error/) });
          return;
        }
        expect(diffManifests(manifest(want), manifest(got))).toEqual([]);
      }),
      { numRuns: runs },
    );
  });
});
