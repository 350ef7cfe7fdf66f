#!/usr/bin/env node
// The quick start's main job on the bundled sample: mkerofs-ts turns fixtures/sample-rootfs.tar
// into out/sample.erofs, then erofs-reader checks it and reads every file back, and the result
// is compared with the tar's own tree. Run through `npm run demo` (which builds first).
import { spawnSync } from 'node:child_process';
import { createReadStream, mkdirSync } from 'node:fs';
import { resolve } from 'node:path';
import { diffManifests, fullMode, manifest, treeFromTar } from '@fstools/fstree';
import { ErofsImage, fsck } from '@fstools/erofs-reader';

const repo = resolve(import.meta.dirname, '..');
const tar = resolve(repo, 'fixtures/sample-rootfs.tar');
const image = resolve(repo, 'out/sample.erofs');
mkdirSync(resolve(repo, 'out'), { recursive: true });

console.log(`$ mkerofs-ts --tar ${image} ${tar}`);
const made = spawnSync(process.execPath, [resolve(repo, 'packages/erofs-writer/dist/cli.js'), '--tar', image, tar], { stdio: 'inherit' });
if (made.status !== 0) process.exit(made.status ?? 1);

const check = fsck(image);
console.log(`\nerofs-reader fsck: ${check.errors.length === 0 ? 'clean' : check.errors.join('\n')} (${check.inodes} inodes)`);
const img = ErofsImage.open(image);
try {
  const tree = img.toTree();
  console.log('\ncontents:');
  for (const { path, inode } of tree.walk()) {
    if (path === '') continue;
    const size = inode.type === 'file' ? inode.size : inode.type === 'symlink' ? `-> ${inode.target}` : '';
    console.log(`  ${fullMode(inode).toString(8).padStart(7, '0')} ${String(inode.uid).padStart(6)} ${Buffer.from(path, 'latin1').toString('utf8')} ${size}`);
  }
  const expected = manifest(await treeFromTar(createReadStream(tar), tar));
  const diff = diffManifests(expected, manifest(tree));
  console.log(diff.length === 0 ? `\nread back: all ${expected.length} entries identical to the tar (contents, modes, owners, ns mtimes, xattrs, hardlinks)` : `\nDIFFERENCES:\n${diff.join('\n')}`);
  process.exitCode = check.errors.length === 0 && diff.length === 0 ? 0 : 1;
} finally {
  img.close();
}
