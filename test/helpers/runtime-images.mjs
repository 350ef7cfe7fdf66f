// Writes images with the writers imported as libraries from the workspace build
// (packages/*/dist, through the node_modules/@fstools/* links), then prints a JSON object
// mapping each output file (relative to OUT) to its sha256. Plain ESM that runs unchanged
// under Node, Bun and Deno:
//   node test/helpers/runtime-images.mjs SRC OUT
//   bun test/helpers/runtime-images.mjs SRC OUT
//   deno run -A test/helpers/runtime-images.mjs SRC OUT
// (Deno resolves the bare @fstools/* specifiers from the repository's node_modules, as it does
// whenever a package.json and node_modules sit above the script.)
// Outputs: rootfs.erofs and rootfs.ext4 from the host directory SRC (host xattrs not read), and
// fsmeta.erofs plus blobs/*.erofs layer images from fixtures/sample-image.tar. Times are fixed
// with `timestamp` where the API takes one, so the bytes depend only on the input.
// With --tree it also prints, under "tree", the mtimes the runtime's node:fs reported for SRC.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { closeSync, mkdirSync, openSync, readdirSync, readSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { treeFromDirectory } from '@fstools/fstree';
import { writeErofs } from '@fstools/erofs-writer';
import { writeExt4 } from '@fstools/ext4-writer';
import { fsmerge } from '@fstools/oci-fsmerge';

const TIMESTAMP = 1700000000n;
const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');

const args = process.argv.slice(2);
const wantTree = args.includes('--tree');
const [src, out] = args.filter((a) => a !== '--tree');
if (!src || !out) {
  console.error('usage: runtime-images.mjs [--tree] SRC OUT');
  process.exit(2);
}
mkdirSync(out, { recursive: true });

// No host xattrs (`xattrs: false`): whether fstree's optional native xattr addon loads differs
// between runtimes, and the images must not depend on it.
const fromSource = () => treeFromDirectory(src, { xattrs: false });
await writeErofs(fromSource(), join(out, 'rootfs.erofs'), { blockSize: 4096, timestamp: TIMESTAMP });
await writeExt4(fromSource(), join(out, 'rootfs.ext4'), { size: 16 * 2 ** 20, label: 'runtimes', timestamp: TIMESTAMP });
await fsmerge({ image: join(repo, 'fixtures', 'sample-image.tar') }, { output: join(out, 'fsmeta.erofs'), blobDir: join(out, 'blobs') });

function sha256(path) {
  const h = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(1 << 20);
    for (let n; (n = readSync(fd, buf, 0, buf.length, null)) > 0; ) h.update(buf.subarray(0, n));
  } finally {
    closeSync(fd);
  }
  return h.digest('hex');
}

function files(dir) {
  const found = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) found.push(...files(p));
    else found.push(p);
  }
  return found;
}

const hashes = {};
for (const p of files(out).sort()) hashes[relative(out, p)] = sha256(p);
const report = { runtime: runtimeName(), hashes };
if (wantTree) {
  report.tree = {};
  for (const { path, inode } of fromSource().walk()) report.tree[path] = String(inode.mtime);
}
console.log(JSON.stringify(report));

function runtimeName() {
  if (typeof globalThis.Deno !== 'undefined') return `deno ${globalThis.Deno.version.deno}`;
  if (typeof globalThis.Bun !== 'undefined') return `bun ${globalThis.Bun.version}`;
  return `node ${process.versions.node}`;
}
