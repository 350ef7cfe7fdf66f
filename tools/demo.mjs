#!/usr/bin/env node
// The quick start's main job on the bundled samples (run through `npm run demo`, which builds):
// 1. mkerofs-ts turns fixtures/sample-rootfs.tar into out/sample.erofs; erofs-reader checks it
//    and reads every entry back, compared with the tar's own tree;
// 2. fsmerge turns fixtures/sample-image.tar (three layers) into out/sample-image/fsmeta.erofs
//    over per-layer images, plus disk.vmdk and disk.img; erofs-reader reads the merged tree
//    through the one-disk (flat) layout and the OCI merge results are checked.
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync, rmSync } from 'node:fs';
import { resolve } from 'node:path';
import { diffManifests, displayName, fullMode, manifest, treeFromTar } from '@fstools/fstree';
import { ErofsImage, fsck } from '@fstools/erofs-reader';

const repo = resolve(import.meta.dirname, '..');
const out = resolve(repo, 'out');
mkdirSync(out, { recursive: true });
let failed = false;
const check = (ok, what) => {
  console.log(`  ${ok ? 'ok  ' : 'FAIL'} ${what}`);
  failed ||= !ok;
};
const run = (cli, args) => {
  console.log(`\n$ ${cli} ${args.map((a) => a.replace(repo + '/', '')).join(' ')}`);
  const r = spawnSync(process.execPath, [resolve(repo, cli === 'mkerofs-ts' ? 'packages/erofs-writer/bin/mkerofs-ts.cjs' : 'packages/oci-fsmerge/bin/fsmerge.cjs'), ...args], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
};
const list = (tree) => {
  for (const { path, inode } of tree.walk()) {
    if (path === '') continue;
    const what = inode.type === 'file' ? inode.size : inode.type === 'symlink' ? `-> ${displayName(inode.target)}` : '';
    console.log(`  ${fullMode(inode).toString(8).padStart(7, '0')} ${String(inode.uid).padStart(6)} ${displayName(path)} ${what}`);
  }
};

// 1. One tar -> one EROFS image.
const tar = resolve(repo, 'fixtures/sample-rootfs.tar');
const image = resolve(out, 'sample.erofs');
run('mkerofs-ts', ['--tar', image, tar]);
const checked = fsck(image);
const img = ErofsImage.open(image);
try {
  const tree = img.toTree();
  list(tree);
  check(checked.errors.length === 0, `erofs-reader fsck: ${checked.errors.length === 0 ? 'clean' : checked.errors.join('; ')}`);
  const diff = diffManifests(manifest(await treeFromTar(createReadStream(tar), tar)), manifest(tree));
  check(diff.length === 0, 'every entry reads back identical to the tar (contents, modes, owners, ns mtimes, xattrs, hardlinks)');
  if (diff.length) console.log(diff.join('\n'));
} finally {
  img.close();
}

// 2. An OCI image -> per-layer EROFS + metadata-only fsmeta + one disk.
const oci = resolve(repo, 'fixtures/sample-image.tar');
const dir = resolve(out, 'sample-image');
rmSync(dir, { recursive: true, force: true });
run('fsmerge', [oci, '-o', resolve(dir, 'fsmeta.erofs'), '--vmdk', resolve(dir, 'disk.vmdk'), '--raw', resolve(dir, 'disk.img')]);
const disk = ErofsImage.open(resolve(dir, 'disk.img')); // fsmeta + layers on one device ("flat")
try {
  const merged = disk.toTree();
  console.log('\nmerged tree, read through disk.img:');
  list(merged);
  const read = (p) => merged.lookup(p);
  check(read('usr/share/doc/readme') === undefined && read('usr/share/doc/Readme') !== undefined, 'layer 3 whiteout removed usr/share/doc/readme (and not Readme)');
  check([...read('etc').entries.keys()].sort().join(',') === 'os-release', 'layer 3 made /etc opaque: only its own os-release remains');
  check(read('usr/bin/hello')?.type === 'symlink' && read('usr/bin/tool')?.type === 'file', 'layer 3 replaced usr/bin/hello by a symlink to layer 2\'s tool');
  check(read('usr/share/doc/LICENSE') === read('usr/share/doc/COPYING'), 'hardlinks from layer 1 keep one inode');
  check(fsck(resolve(dir, 'disk.img')).errors.length === 0, 'erofs-reader fsck of the one-disk layout: clean');
} finally {
  disk.close();
}
console.log(failed ? '\ndemo: FAILED' : `\ndemo: ok. Outputs in ${out.replace(repo + '/', '')}/ (mount with: mount -t erofs -o ro,loop ${dir.replace(repo + '/', '')}/disk.img /mnt)`);
process.exitCode = failed ? 1 : 0;
