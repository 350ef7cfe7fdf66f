// A real Debian image of a few hundred MB (tools/make-debian-oci.sh: debootstrap, a layer that
// installs packages, one that deletes and replaces things) through the whole pipeline, judged by
// the kernel three ways and by fsck.erofs 1.8 and 1.5 (Debian bookworm's, which users have).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsmerge } from '@fstools/oci-fsmerge';
import type { ManifestEntry } from '@fstools/fstree';
import { diffManifests } from '@fstools/fstree';
import { fsck } from '@fstools/erofs-reader';
import { canFsck18, canMount, fsck18, hostManifest, scratchDir, withErofsMount } from '../../../test/helpers/erofs-oracles.js';
import { oracle } from '../../../test/helpers/oracles.js';
import { expectMerged, overlayManifest } from './helpers/judge.js';

const image = join(process.env.FSTOOLS_CACHE ?? '/var/cache/fstools', 'debian-oci');
const have = oracle('Debian test image', existsSync(join(image, '.complete')), `run tools/make-debian-oci.sh (expected at ${image})`);
let dir: string;
/** The kernel's overlay of the layer images, from the first test (the later ones compare against it). */
let merged: ManifestEntry[] | undefined;
beforeAll(() => void (dir = scratchDir('fsmerge-debian')));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe.runIf(have && canMount())('Debian image (debootstrap + install + delete/replace layers)', () => {
  it('merges; flat disk, -o device= and overlayfs agree; fsck.erofs 1.8 and 1.5 and qemu-img accept it; cache and docker-save give the same fsmeta', async () => {
    const out = join(dir, 'out');
    const blobs = join(dir, 'blobs');
    const r = await fsmerge({ image: join(image, 'oci-gzip') }, { output: join(out, 'fsmeta.erofs'), blobDir: blobs, raw: join(out, 'disk.img'), vmdk: join(out, 'disk.vmdk') });
    expect(r.layers).toHaveLength(3);
    const layerImages = r.layers.map((l) => l.path);
    // The kernel's own overlay of the layer images is the expected tree.
    const expected = (merged = await overlayManifest(layerImages));
    expect(expected.length).toBeGreaterThan(5000);
    const paths = new Set(expected.map((e) => e.path));
    expect(paths.has('usr/bin/gcc-12') && paths.has('usr/bin/python3') && paths.has('usr/share/locale/C/README')).toBe(true);
    expect(paths.has('usr/bin/curl') || [...paths].some((p) => p.startsWith('usr/share/doc/'))).toBe(false);
    expect(expected.some((e) => e.xattrs?.['security.capability'] !== undefined || e.mode.startsWith('4'))).toBe(true);
    await expectMerged(expected, r, layerImages);
    const cmp = spawnSync('qemu-img', ['compare', '-f', 'vmdk', '-F', 'raw', r.vmdk!, r.raw!], { encoding: 'utf8' });
    expect(cmp.stdout).toMatch(/Images are identical/);

    const again = await fsmerge({ image: join(image, 'docker-save.tar') }, { output: join(out, 'again.erofs'), blobDir: blobs });
    expect(again.layers.every((l) => l.reused)).toBe(true);
    expect(readFileSync(again.fsmeta.path).equals(readFileSync(r.fsmeta.path))).toBe(true);
    const plain = await fsmerge({ image: join(image, 'oci-plain') }, { output: join(out, 'plain.erofs'), blobDir: blobs });
    expect(readFileSync(plain.fsmeta.path).equals(readFileSync(r.fsmeta.path))).toBe(true);
  });

  it('fsmerge --standalone -zlz4hc -Eztailpacking (the command line, its compression workers) mounts as the merged tree; fsck.erofs 1.8 and our fsck pass', async () => {
    expect(merged, 'the first test made the expected tree').toBeDefined();
    const out = join(dir, 'standalone.erofs');
    const cli = spawnSync(process.execPath, [fileURLToPath(new URL('../bin/fsmerge.cjs', import.meta.url)), '--standalone', '-zlz4hc', '-Eztailpacking', '--workers=2', join(image, 'oci-gzip'), '-o', out, '--json'], { encoding: 'utf8' });
    expect(cli.stderr).toBe('');
    expect(cli.status).toBe(0);
    expect(JSON.parse(cli.stdout).standalone).toBe(true);
    const walked = await withErofsMount(out, (mnt) => hostManifest(mnt, { dropXattr: (n) => n.startsWith('trusted.fsmerge.') }));
    expect(diffManifests(merged!, walked)).toEqual([]);
    // Compressed: the image is well under the uncompressed data it holds.
    const data = merged!.reduce((n, e) => n + (e.type === 'file' ? e.size! : 0), 0);
    expect(statSync(out).size).toBeLessThan(data * 0.7);
    expect(fsck(out).errors.map(String)).toEqual([]);
    if (canFsck18()) fsck18(out);
  });
});
