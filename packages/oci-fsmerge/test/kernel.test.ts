import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { diffManifests, manifest } from '@fstools/fstree';
import { fsmerge } from '@fstools/oci-fsmerge';
import { canMount, scratchDir } from '../../../test/helpers/erofs-oracles.js';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';
// @ts-expect-error: plain JS tool
import { buildImage } from '../../../tools/oci-fixture.mjs';
import { layerStackArb } from './helpers/arbitrary.js';
import { expectMerged, overlayManifest } from './helpers/judge.js';
import type { Entry } from './helpers/model.js';
import { modelMerge } from './helpers/model.js';

const dir = scratchDir('fsmerge-kernel');
/** Random stacks per run; FC_RUNS widens local runs. */
const runs = Number(process.env.FC_RUNS ?? 25);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cap = '\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00';
const big = 'x'.repeat(3 * 4096 + 17);

// Upper layers list the directories they change, as image builders do: where a tar only implies
// a directory that a lower layer has, fsmerge keeps the lower's metadata (as extracting onto the
// lower tree does) while overlayfs over the layer images would show the implied one's.
const etcDir: Entry = { path: 'etc', type: 'dir', mode: 0o755, mtime: '1600000000123456789' };

/** Every merge rule at least once, across four layers of three compressions. */
const layers: Array<{ compression: string; entries: Entry[] }> = [
  {
    compression: 'gzip',
    entries: [
      { path: 'etc', type: 'dir', mode: 0o755, mtime: '1600000000123456789' },
      { path: 'etc/passwd', data: 'root:x:0:0\n', mtime: 1600000000 },
      { path: 'etc/old', data: 'old' },
      { path: 'opt/app/lib/a.so', data: big, mode: 0o755 },
      { path: 'opt/app/lib/b.so', data: 'b' },
      { path: 'usr/bin/ping', data: 'ELF', mode: 0o4755, xattrs: { 'security.capability': cap } },
      { path: 'usr/bin/ping6', type: 'hardlink', target: 'usr/bin/ping' },
      { path: 'usr/bin/sudo', data: 'S', mode: 0o4711, uid: 0, gid: 0 },
      { path: 'var/cache/x', data: 'cache' },
      { path: 'dev/null', type: 'chr', major: 1, minor: 3, mode: 0o666 },
      { path: 'dev/sda', type: 'blk', major: 8, minor: 0, mode: 0o660, gid: 6 },
      { path: 'run/initctl', type: 'fifo', mode: 0o600 },
      { path: 'lib', type: 'symlink', target: 'usr/lib' },
      { path: 'home/user', type: 'dir', mode: 0o700, uid: 1000, gid: 1000 },
      { path: 'home/user/notes', data: 'n', uid: 1000, gid: 1000 },
    ],
  },
  {
    compression: 'zstd',
    entries: [
      etcDir,
      { path: 'home/user', type: 'dir', mode: 0o700, uid: 1000, gid: 1000 },
      { path: 'etc/.wh.old' },
      { path: 'opt/app', type: 'dir', mode: 0o750, uid: 5 },
      { path: 'opt/app/.wh..wh..opq' },
      { path: 'opt/app/new', data: 'fresh', mtime: '1700000000000000001' },
      { path: 'usr/bin/.wh.ping' },
      { path: 'var/cache', data: 'now a file' },
      { path: 'home/user/more', data: 'm' },
    ],
  },
  {
    compression: 'none',
    entries: [
      etcDir,
      { path: 'etc/passwd', data: 'root:x:0:0\nuser:x:1000:1000\n', mtime: 1700000001 },
      { path: 'etc/hosts', data: '127.0.0.1 localhost\n' },
      { path: 'etc/hosts.allow', type: 'hardlink', target: 'etc/hosts' },
      { path: '.wh.run' },
      { path: 'srv', type: 'dir' },
      { path: 'srv/empty', data: '' },
    ],
  },
  {
    compression: 'gzip',
    entries: [etcDir, { path: 'etc/hosts.allow', data: 'replaced, link broken' }, { path: 'srv/.wh..wh..opq' }, { path: 'srv/www/index.html', data: '<html/>' }],
  },
];

describe('the kernel judges the merge three ways', () => {
  it('flat disk, -o device=, and overlayfs over the layer images all equal the reference model; fsck.erofs 1.8 and 1.5 pass', async () => {
    if (!canMount()) return;
    const image = join(dir, 'rich');
    await buildImage([{ ref: 'rich:latest', layers }], image, 'oci');
    const out = join(dir, 'out');
    const r = await fsmerge({ image }, { output: join(out, 'fsmeta.erofs'), raw: join(out, 'disk.img'), vmdk: join(out, 'disk.vmdk') });
    const blobs = r.layers.map((l) => l.path);
    const expected = manifest(modelMerge(layers.map((l) => l.entries)));
    await expectMerged(expected, r, blobs);
    expect(diffManifests(expected, await overlayManifest(blobs))).toEqual([]);
    if (oracle('qemu-img', hasCommand('qemu-img'), 'apt-get install qemu-utils')) {
      expect(spawnSync('qemu-img', ['info', r.vmdk!], { encoding: 'utf8' }).stdout).toMatch(/file format: vmdk/);
      const cmp = spawnSync('qemu-img', ['compare', '-f', 'vmdk', '-F', 'raw', r.vmdk!, r.raw!], { encoding: 'utf8' });
      expect(cmp.stdout + cmp.stderr).toMatch(/Images are identical/);
    }
  });

  it('hard links into lower layers keep inode identity in fsmeta (flat and -o device=)', async () => {
    if (!canMount()) return;
    const stack: Entry[][] = [
      [{ path: 'bin/busybox', data: 'BB', mode: 0o755 }, { path: 'bin/sh', type: 'hardlink', target: 'bin/busybox' }],
      [{ path: 'bin/ls', type: 'hardlink', target: 'bin/busybox' }, { path: 'bin/.wh.sh' }],
    ];
    const image = join(dir, 'links');
    await buildImage([{ layers: stack.map((entries) => ({ entries })) }], image, 'oci');
    const out = join(dir, 'links-out');
    const r = await fsmerge({ image }, { output: join(out, 'fsmeta.erofs'), raw: join(out, 'disk.img') });
    const expected = manifest(modelMerge(stack));
    expect(expected.find((e) => e.path === 'bin/ls')!.link).toBe('bin/busybox');
    await expectMerged(expected, r, r.layers.map((l) => l.path));
  });

  it('property: random layer stacks mount flat and with -o device= as the reference model merges them; fsck.erofs 1.8 and 1.5 pass', async () => {
    if (!canMount()) return;
    let n = 0;
    await fc.assert(
      fc.asyncProperty(layerStackArb, fc.array(fc.constantFrom('none', 'gzip'), { minLength: 4, maxLength: 4 }), async (stack, compressions) => {
        let expected;
        try {
          expected = manifest(modelMerge(stack));
        } catch {
          expected = undefined; // the model refuses the stack (a path through a symlink, a link to nothing): so must fsmerge
        }
        const image = join(dir, `random-${n}`);
        const out = join(dir, `random-out-${n++}`);
        await buildImage([{ layers: stack.map((entries, i) => ({ entries, compression: compressions[i] })) }], image, 'oci');
        const merged = fsmerge({ image }, { output: join(out, 'fsmeta.erofs'), raw: join(out, 'disk.img') });
        if (expected === undefined) {
          await expect(merged).rejects.toThrow();
          return;
        }
        const r = await merged;
        // Layers with one diff ID (empty ones, say) share one device.
        await expectMerged(expected, r, r.devices.slice(1));
        rmSync(image, { recursive: true, force: true });
        rmSync(out, { recursive: true, force: true });
      }),
      { numRuns: runs },
    );
  });
});
