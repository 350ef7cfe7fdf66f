#!/usr/bin/env node
// Writes the bundled samples, deterministically (rerunning gives the same bytes); run after
// `npm run build`:
// - fixtures/sample-rootfs.tar: a small root filesystem exercising every entry type the
//   toolchain handles (files inline and multi-block, symlinks, a hardlink, a char device, a fifo,
//   a setuid binary with security.capability, unicode and long names, ns mtimes, big ids);
// - fixtures/sample-image.tar: a Docker 25-style save (OCI layout + manifest.json) of three gzip
//   layers: that rootfs, a layer "installing" a tool, and a layer that deletes (whiteout),
//   replaces a directory (opaque) and turns a file into a symlink.
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { FsTree, makeDevice, makeDir, makeFile, makeSpecial, makeSymlink, treeToTar, utf8 } from '@fstools/fstree';
import { buildImage } from './oci-fixture.mjs';

const T = 1_700_000_000_123_456_789n;
const dir = (mode = 0o755) => makeDir({ mode, mtime: T });
const file = (text, meta = {}) => makeFile(Buffer.from(text), { mtime: T, ...meta });
const tree = new FsTree(dir());
for (const d of ['bin', 'etc', 'usr', 'usr/bin', 'usr/share', 'usr/share/doc', 'var', 'var/log', 'tmp', 'dev']) tree.set(d, dir());
tree.set('tmp', dir(0o1777));
tree.set('etc/os-release', file('NAME="fstools sample"\nID=sample\nVERSION_ID=1\n'));
tree.set('etc/hostname', file('sandbox\n'));
tree.set('usr/bin/hello', file('#!/bin/sh\necho "hello from the sample image"\n', { mode: 0o755 }));
const caps = new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
tree.set('usr/bin/ping', file('not really ping\n', { mode: 0o4755, xattrs: new Map([['security.capability', caps]]) }));
tree.set('bin/sh', makeSymlink(utf8('../usr/bin/hello'), { mtime: T }));
const license = file('Sample text.\n'.repeat(900), { mode: 0o644 });
tree.set('usr/share/doc/LICENSE', license);
tree.set('usr/share/doc/COPYING', license); // a hardlink
tree.set(utf8('usr/share/doc/ünïcødé-名前.txt'), file('unicode name\n'));
tree.set(utf8(`usr/share/doc/${'long-name-'.repeat(25)}end`), file('a 255-byte name\n'));
tree.set('usr/share/doc/Readme', file('upper\n'));
tree.set('usr/share/doc/readme', file('lower: names differing only by case\n'));
const big = Buffer.alloc(200_000);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 10)) & 0xff;
tree.set('usr/share/data.bin', makeFile(big, { mtime: T, uid: 100_000, gid: 100_000 }));
tree.set('dev/null', makeDevice('chr', 1, 3, { mode: 0o666, mtime: T }));
tree.set('var/log/pipe', makeSpecial('fifo', { mode: 0o600, mtime: T }));
const chunks = [];
for await (const c of treeToTar(tree)) chunks.push(c);
const rootfs = resolve(import.meta.dirname, '../fixtures/sample-rootfs.tar');
writeFileSync(rootfs, Buffer.concat(chunks));
console.log(`wrote ${rootfs}`);

const later = 1_700_000_100_000_000_000n;
const install = [
  { path: 'usr/bin/tool', data: '#!/bin/sh\necho tool 1.0\n', mode: 0o755, mtime: later },
  { path: 'usr/share/tool/README', data: 'a tool\n'.repeat(2000), mtime: later },
  { path: 'etc/tool.conf', data: 'verbose=1\n', mtime: later },
];
const patch = [
  { path: 'usr/share/doc/.wh.readme', mtime: later },
  { path: 'etc/.wh..wh..opq', mtime: later },
  { path: 'etc/os-release', data: 'NAME="fstools sample"\nID=sample\nVERSION_ID=2\n', mtime: later },
  { path: 'usr/bin/hello', type: 'symlink', target: 'tool', mtime: later },
];
const image = resolve(import.meta.dirname, '../fixtures/sample-image.tar');
await buildImage(
  [{ ref: 'fstools/sample:1', platform: 'linux/amd64', layers: [{ tar: rootfs, compression: 'gzip' }, { entries: install, compression: 'gzip' }, { entries: patch, compression: 'gzip' }] }],
  image,
  'docker25',
);
console.log(`wrote ${image}`);
