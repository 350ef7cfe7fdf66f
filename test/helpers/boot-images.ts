import { existsSync, mkdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { FsmergeInput } from '@fstools/oci-fsmerge';
import { fsmerge } from '@fstools/oci-fsmerge';
import { cli } from './cli.js';
import { hasCommand, oracle } from './oracles.js';
// @ts-expect-error: plain JS tool
import { buildImage } from '../../tools/oci-fixture.mjs';

/** A disk made by fsmerge: fsmeta + layer images, as a VMDK descriptor and as one raw file. */
export interface BootDisk {
  fsmeta: string;
  vmdk: string;
  raw: string;
  devices: string[];
}

const repoRoot = resolve(import.meta.dirname, '../..');
const cap = '\x01\x00\x00\x02\x00\x20\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00';

/**
 * The layered sample boot tests run on: three layers that use every merge rule a guest must see
 * right (whiteouts, an opaque directory, hardlinks within and across layers, xattrs incl.
 * security.capability, setuid and sticky modes, devices, a fifo, ns mtimes, owners, odd names,
 * files spanning several blocks) plus a small directory tree persist can delete.
 */
export const SAMPLE_LAYERS = [
  {
    compression: 'gzip',
    entries: [
      { path: 'etc', type: 'dir', mode: 0o755, mtime: '1600000000123456789' },
      { path: 'etc/passwd', data: 'root:x:0:0:root:/root:/bin/sh\n', mtime: 1600000000 },
      { path: 'etc/hostname', data: 'sandbox\n' },
      { path: 'etc/old.conf', data: 'to be whited out\n' },
      { path: 'usr/bin/ping', data: 'ELF ping', mode: 0o4755, xattrs: { 'security.capability': cap } },
      { path: 'usr/bin/ping6', type: 'hardlink', target: 'usr/bin/ping' },
      { path: 'usr/lib/libbig.so', data: 'L'.repeat(5 * 4096 + 123), mode: 0o755, mtime: '1500000000999999999' },
      { path: 'usr/share/doc/readme.txt', data: 'docs\n', uid: 1000, gid: 1000 },
      { path: 'var/cache/app/a.bin', data: 'cache a' },
      { path: 'var/cache/app/b.bin', data: 'cache b' },
      { path: 'var/cache/app/sub/c.bin', data: 'cache c' },
      { path: 'opt/replaced', type: 'dir', mode: 0o755 },
      { path: 'opt/replaced/old', data: 'hidden by the opaque dir' },
      { path: 'dev/null', type: 'chr', major: 1, minor: 3, mode: 0o666 },
      { path: 'dev/loop0', type: 'blk', major: 7, minor: 0, mode: 0o660, gid: 6 },
    ],
  },
  {
    compression: 'none',
    entries: [
      { path: 'etc', type: 'dir', mode: 0o755, mtime: '1600000000123456789' },
      { path: 'etc/.wh.old.conf' },
      { path: 'etc/motd', data: 'welcome\n', xattrs: { 'user.origin': 'layer 2', 'user.empty': '' } },
      { path: 'opt/replaced', type: 'dir', mode: 0o750 },
      { path: 'opt/replaced/.wh..wh..opq' },
      { path: 'opt/replaced/new', data: 'only this one' },
      { path: 'tmp', type: 'dir', mode: 0o1777 },
      { path: 'run/fifo', type: 'fifo', mode: 0o600 },
      { path: 'bin', type: 'symlink', target: 'usr/bin' },
      { path: 'usr/bin/pong', type: 'hardlink', target: 'usr/bin/ping' },
      { path: 'home/user/file with spaces\nand newline', data: 'odd name', uid: 1000, gid: 100 },
      { path: 'home/user/caf\u00e9', data: 'utf-8 name' },
      { path: 'home/user/dangling', type: 'symlink', target: '/nowhere/at/all' },
      { path: 'home/user/' + 'n'.repeat(255), data: 'longest name' },
      { path: 'srv/old-mtime', data: 'before 1970', mtime: '-1000000001' },
    ],
  },
  {
    compression: 'gzip',
    entries: [
      { path: 'usr/lib/libbig.so', data: 'M'.repeat(3 * 4096), mode: 0o755 },
      { path: 'usr/share/doc/readme.txt', data: 'docs, updated\n', uid: 1000, gid: 1000 },
      { path: 'var/empty', type: 'dir', mode: 0o700 },
    ],
  },
];

/** Builds the layered sample as an OCI image and runs fsmerge on it into `dir`. */
export async function layeredSample(dir: string): Promise<BootDisk> {
  mkdirSync(dir, { recursive: true });
  const oci = join(dir, 'oci');
  await buildImage([{ ref: 'boot-sample:1', platform: 'linux/amd64', layers: SAMPLE_LAYERS }], oci, 'oci', { tmp: dir });
  return merge({ image: oci }, dir);
}

/** The repository's bundled sample (fixtures/sample-rootfs.tar) as a one-layer fsmerge disk. */
export async function bundledSample(dir: string): Promise<BootDisk> {
  return merge({ layers: [join(repoRoot, 'fixtures/sample-rootfs.tar')] }, dir);
}

async function merge(input: FsmergeInput, dir: string): Promise<BootDisk> {
  mkdirSync(dir, { recursive: true });
  const r = await fsmerge(input, { output: join(dir, 'fsmeta.erofs'), vmdk: join(dir, 'disk.vmdk'), raw: join(dir, 'disk.raw') });
  return { fsmeta: r.fsmeta.path, vmdk: r.vmdk!, raw: r.raw!, devices: r.devices };
}

/** The Debian image tools/make-debian-oci.sh builds for fsmerge's tests (3 layers, a few hundred MB). */
export const debianOci = join(process.env.FSTOOLS_CACHE ?? '/var/cache/fstools', 'debian-oci');

/** Whether that image is there; required under CI. */
export function haveDebianImage(): boolean {
  return oracle('Debian test image', existsSync(join(debianOci, '.complete')), `run tools/make-debian-oci.sh (expected at ${debianOci})`);
}

/** The Debian image merged by fsmerge into `dir`. */
export async function debianDisk(dir: string): Promise<BootDisk> {
  return merge({ image: join(debianOci, 'oci-gzip') }, dir);
}

/** A fresh, sparse ext4 upper image in the sandbox layout (/upper, /work), made by our mkext4-ts. */
export function freshUpper(path: string, mib = 256): string {
  const r = cli('mkext4-ts', ['-q', '--overlay-upper', path, `${mib}M`]);
  if (r.status !== 0) throw new Error(`mkext4-ts failed: ${r.stderr}`);
  return path;
}

/** The guest kit tools/fetch-guest-kernel.sh makes; boot tests need it (required under CI). */
export function haveKit(kitDir: string): boolean {
  return oracle('guest kit', existsSync(join(kitDir, 'kit.json')) && hasCommand('qemu-system-x86_64'), `run tools/fetch-guest-kernel.sh (kit expected at ${kitDir}) and apt-get install qemu-system-x86`);
}
