import { appendFileSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { DirInode, Inode } from '@fstools/fstree';
import { FsTree, makeDir, makeFile, makeSymlink, manifest, treeToTar } from '@fstools/fstree';
import { writeErofs } from '@fstools/erofs-writer';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from '../../../test/helpers/cli.js';
import { canLoopMount, hasE2fsprogs, mountedManifest, run } from '../../../test/helpers/ext4-oracles.js';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';
import { expectClean, expectSameManifest, scratch } from './helpers.js';

/**
 * The sandbox stack: an EROFS lower (from our EROFS writer) and an upper made by mkext4-ts
 * --overlay-upper with --patch layers baked in, mounted as overlayfs by the kernel. The merged
 * view must be what OCI layer semantics say; writes through the overlay must persist and leave
 * the upper filesystem clean for e2fsck.
 */
const enabled =
  oracle('e2fsck', hasE2fsprogs, 'e2fsprogs not installed') &&
  oracle('kernel overlayfs over ext4 and erofs', canLoopMount && hasCommand('mount'), 'needs root, loop devices, erofs and overlayfs');
const tmp = scratch('overlay');
afterAll(tmp.cleanup);

const T = 1_700_000_000n * 1_000_000_000n;
const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const file = (s: string, mode = 0o644): Inode => makeFile(text(s), { mode, mtime: T });
const dir = (): DirInode => makeDir({ mode: 0o755, mtime: T });
const WH = '.wh.';
const OPQ = '.wh..wh..opq';

function build(entries: Record<string, Inode>): FsTree {
  const tree = new FsTree(dir());
  for (const [path, inode] of Object.entries(entries)) tree.set(path, inode, () => ({ mode: 0o755, mtime: T }));
  return tree;
}

/**
 * OCI layer semantics, written independently of the writer: whiteouts and opaque markers delete
 * from what is below, then the layer's entries are added (directories merge, the layer's
 * metadata winning; anything else replaces).
 */
function applyOci(target: DirInode, layer: DirInode): void {
  if (layer.entries.has(OPQ)) target.entries.clear();
  for (const name of layer.entries.keys()) if (name.startsWith(WH) && name !== OPQ) target.entries.delete(name.slice(WH.length));
  Object.assign(target, { mode: layer.mode, uid: layer.uid, gid: layer.gid, mtime: layer.mtime, xattrs: new Map(layer.xattrs) });
  for (const [name, child] of layer.entries) {
    if (name.startsWith(WH)) continue;
    const old = target.entries.get(name);
    if (child.type === 'dir') {
      const into = old?.type === 'dir' ? old : makeDir();
      if (into !== old) target.entries.set(name, into);
      applyOci(into, child);
    } else target.entries.set(name, child);
  }
}

async function writeTar(tree: FsTree, path: string): Promise<void> {
  const out = createWriteStream(path);
  for await (const chunk of treeToTar(tree)) if (!out.write(chunk)) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

function mount(args: string[]): void {
  const r = run('mount', args);
  if (r.status !== 0) throw new Error(`mount ${args.join(' ')}: ${r.stderr}`);
}

function umount(dir: string): void {
  const r = run('umount', [dir]);
  if (r.status !== 0) throw new Error(`umount ${dir}: ${r.stderr}`);
}

describe.skipIf(!enabled)('overlayfs: EROFS lower + mkext4-ts --overlay-upper', () => {
  it('baked patches show through as the layers would; writes through the overlay persist and stay e2fsck-clean', async () => {
    const lower = build({
      'etc/passwd': file('root:x:0:0\n'),
      'etc/hosts': file('127.0.0.1 localhost\n'),
      'etc/conf.d/a': file('a'),
      'etc/conf.d/b': file('b'),
      'usr/bin/tool': file('#!/bin/sh\necho v1\n', 0o755),
      'usr/lib/libx.so.1': file('ELF1'),
      'usr/lib/libx.so': makeSymlink('libx.so.1', { mtime: T }),
      'opt/app/bin': file('app v1', 0o755),
      'opt/app/data/x': file('x'),
      'srv': file('srv was a file'),
      'data/keep': file('keep'),
    });
    for (let i = 0; i < 50; i++) lower.set(`var/cache/big/${i}`, file(`cached ${i}`), () => ({ mode: 0o755, mtime: T }));
    const layer1 = build({
      'etc/hosts': file('127.0.0.1 localhost sandbox\n'),
      [`etc/${WH}passwd`]: file(''),
      [`var/cache/big/${OPQ}`]: file(''),
      'var/cache/big/new': file('new cache'),
      [`opt/${WH}app`]: file(''),
      'srv/index.html': file('<h1>hi</h1>'),
      'usr/lib/libx.so.2': file('ELF2'),
      'home/user/.profile': file('export A=1\n'),
    });
    const layer2 = build({
      'opt/app/new-binary': file('app v2', 0o755),
      [`etc/conf.d/${WH}a`]: file(''),
      'usr/bin/tool': file('#!/bin/sh\necho v2\n', 0o755),
      [`opt/app/${WH}old`]: file(''),
      'var/cache/big/new2': file('newer cache'),
      'data/keep/inner': file('a directory now'),
    });
    const expected = new FsTree(structuredCloneTree(lower.root));
    applyOci(expected.root, layer1.root);
    applyOci(expected.root, layer2.root);

    const lowerImg = tmp.path('lower.erofs');
    await writeErofs(lower, lowerImg);
    const p1 = tmp.path('layer1.tar');
    const p2 = tmp.path('layer2.tar');
    await writeTar(layer1, p1);
    await writeTar(layer2, p2);
    const upperImg = tmp.path('upper.ext4');
    const r = cli('mkext4-ts', ['-q', '--overlay-upper', '--patch', p1, '--patch', p2, upperImg, '1G']);
    expect(r.status, r.stderr).toBe(0);
    expectClean(upperImg);

    const base = mkdtempSync(join(tmpdir(), 'ext4-ovl-'));
    const [lo, up, merged] = ['lower', 'upper', 'merged'].map((d) => join(base, d)) as [string, string, string];
    for (const d of [lo, up, merged]) mkdirSync(d);
    const mountAll = (): void => {
      mount(['-t', 'erofs', '-o', 'loop,ro', lowerImg, lo]);
      mount(['-t', 'ext4', '-o', 'loop', upperImg, up]);
      mount(['-t', 'overlay', 'overlay', '-o', `lowerdir=${lo},upperdir=${up}/upper,workdir=${up}/work`, merged]);
    };
    const umountAll = (): void => {
      for (const d of [merged, up, lo]) umount(d);
    };
    const view = (): ReturnType<typeof mountedManifest> => mountedManifest(merged, { root: false, keepLostFound: true });
    let before: ReturnType<typeof mountedManifest>;
    mountAll();
    try {
      expectSameManifest(view(), manifest(expected, { root: false }), 'overlay with baked patches vs OCI semantics');
      // Write through the overlay: new files, copy-up of a lower file, a deleted lower file, a rename.
      writeFileSync(`${merged}/etc/new-file`, 'written through the overlay');
      appendFileSync(`${merged}/etc/conf.d/b`, ' and more');
      unlinkSync(`${merged}/usr/lib/libx.so.1`);
      renameSync(`${merged}/srv/index.html`, `${merged}/srv/home.html`);
      mkdirSync(`${merged}/var/new-dir`);
      for (let i = 0; i < 500; i++) writeFileSync(`${merged}/var/new-dir/f${i}`, `f${i}`);
      rmSync(`${merged}/var/cache/big`, { recursive: true });
      before = view();
    } finally {
      umountAll();
    }
    expectClean(upperImg);
    mountAll();
    try {
      expectSameManifest(view(), before, 'overlay after remount');
      expect(readFileSync(`${merged}/etc/conf.d/b`, 'utf8')).toBe('b and more');
      expect(readFileSync(`${merged}/srv/home.html`, 'utf8')).toBe('<h1>hi</h1>');
    } finally {
      umountAll();
      rmSync(base, { recursive: true, force: true });
    }
  });
});

/** A deep copy of a directory tree (inodes shared by hardlinks stay shared). */
function structuredCloneTree(root: DirInode): DirInode {
  const copies = new Map<Inode, Inode>();
  const copy = (inode: Inode): Inode => {
    const seen = copies.get(inode);
    if (seen) return seen;
    const c = { ...inode, xattrs: new Map(inode.xattrs) } as Inode;
    copies.set(inode, c);
    if (c.type === 'dir' && inode.type === 'dir') c.entries = new Map([...inode.entries].map(([n, child]) => [n, copy(child)]));
    return c;
  };
  return copy(root) as DirInode;
}
