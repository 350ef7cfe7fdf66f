// Host xattrs: mkerofs-ts IMG DIR and mkext4-ts -d DIR read every entry's own xattrs (through
// fstree's optional @napi-rs/xattr addon) and keep them byte-exact. The source is a tmpfs (it holds
// every namespace and 64 KiB values), its xattrs set with setfattr; each image is judged by the
// kernel mount (getfattr of every entry against getfattr of the source: hostManifest), fsck.erofs
// 1.5 and 1.8, and e2fsck.
import { spawnSync } from 'node:child_process';
import { cpSync, linkSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ManifestEntry } from '@fstools/fstree';
import { diffManifests, endOfArchive, manifest, treeFromDirectory } from '@fstools/fstree';
import { ErofsImage, fsck } from '@fstools/erofs-reader';
import { writeExt4 } from '@fstools/ext4-writer';
import { runs, treeArb } from './helpers/arbitrary-tree.js';
import { cli, tarMember } from './helpers/cli.js';
import { canFsck15, canFsck18, fsck15, fsck18, hostManifest, scratchDir, withErofsMount } from './helpers/erofs-oracles.js';
import { e2fsckProblems, hasE2fsprogs, mountedManifest, withMount } from './helpers/ext4-oracles.js';
import { materialize, mountTmpfs, setXattrs } from './helpers/host-tree.js';
import { hasCommand, isRoot, oracle } from './helpers/oracles.js';
import { vfsAcl } from './helpers/vfs-acl.js';

const root = oracle('root', isRoot && hasCommand('setfattr') && hasCommand('getfattr'), 'tmpfs mounts, trusted.* xattrs, device nodes and loop mounts need root, setfattr and getfattr (apt-get install attr)');
const e2fsck = root && oracle('e2fsck', hasE2fsprogs, 'apt-get install e2fsprogs');

const out = scratchDir('host-xattrs');
afterAll(() => rmSync(out, { recursive: true, force: true }));
let n = 0;
const img = (ext: string): string => join(out, `img${n++}.${ext}`);

/** The tmpfs every source lives on (one for the file; each test makes its own folder in it). */
let fs = '';
let unmount: (() => void) | undefined;
beforeAll(() => {
  if (!root) return;
  ({ dir: fs, unmount } = mountTmpfs());
});
afterAll(() => unmount?.());

const b = (s: string): Buffer => Buffer.from(s);
const bytes = (n: number, seed: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 131 + seed + (i >> 8)) & 0xff);

// A named user keeps an ACL from folding into the mode.
const ACL = vfsAcl([[0x01, 7, -1], [0x02, 6, 1000], [0x04, 5, -1], [0x08, 4, 100], [0x10, 7, -1], [0x20, 4, -1]]);
/** security.capability, VFS_CAP_REVISION_2, cap_net_raw permitted and effective (what ping carries). */
const CAP_NET_RAW = Uint8Array.from([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
const SELINUX = b('system_u:object_r:bin_t:s0\0');

function run(cmd: string, args: string[]): void {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
}

/**
 * A source folder holding xattrs in every namespace (user., trusted., security., both POSIX ACLs)
 * on every kind of entry (directories, files, symlinks, char and block devices, a fifo,
 * hardlinked files), 100 xattrs on one file, empty and binary values, a name with "=", and a
 * directory whose name is not UTF-8 (read through /proc/self/fd). Every xattr fits one 4 KiB ext4
 * xattr block per inode.
 */
function everyNamespace(name: string): string {
  const src = join(fs, name);
  const p = (rel: string | Buffer): Buffer => Buffer.concat([b(src + '/'), typeof rel === 'string' ? b(rel) : rel]);
  for (const d of ['etc', 'bin', 'dev', 'run', 'links', 'upper/dir']) mkdirSync(join(src, d), { recursive: true });
  writeFileSync(join(src, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  writeFileSync(join(src, 'bin/busybox'), bytes(5000, 1));
  writeFileSync(join(src, 'bin/ping'), bytes(300, 2));
  symlinkSync('busybox', join(src, 'bin/sh'));
  run('mknod', [join(src, 'dev/null'), 'c', '1', '3']);
  run('mknod', [join(src, 'dev/loop0'), 'b', '7', '0']);
  run('mknod', [join(src, 'upper/gone'), 'c', '0', '0']);
  run('mkfifo', [join(src, 'run/fifo')]);
  writeFileSync(join(src, 'links/a'), 'linked');
  linkSync(join(src, 'links/a'), join(src, 'links/b'));
  writeFileSync(join(src, 'many'), 'many');
  writeFileSync(join(src, 'medium'), 'medium');
  const odd = Buffer.from([0xff, 0xfe, 0x2d, 0x64]); // "\xff\xfe-d": not UTF-8
  mkdirSync(p(odd));
  writeFileSync(p(Buffer.concat([odd, b('/inner')])), 'inner');
  symlinkSync('../etc', join(src, 'etc-link'));
  symlinkSync('inner', p(Buffer.concat([odd, b('/sl')])));
  const x = (entries: Array<[string, string | Uint8Array]>): Map<string, Uint8Array> => new Map(entries.map(([k, v]) => [k, typeof v === 'string' ? new Uint8Array(b(v)) : v]));
  setXattrs(
    [
      { path: p(''), xattrs: x([['trusted.overlay.opaque', 'y'], ['user.root', 'r']]) },
      { path: p('etc'), xattrs: x([['user.d', '1'], ['security.selinux', SELINUX], ['system.posix_acl_access', ACL], ['system.posix_acl_default', ACL]]) },
      { path: p('etc/passwd'), xattrs: x([['user.mime_type', 'text/plain'], ['trusted.empty', ''], ['security.selinux', SELINUX], ['system.posix_acl_access', ACL]]) },
      { path: p('bin/ping'), xattrs: x([['security.capability', CAP_NET_RAW], ['security.selinux', SELINUX]]) },
      { path: p('bin/sh'), xattrs: x([['trusted.sym', 'link'], ['security.selinux', SELINUX]]) },
      { path: p('etc-link'), xattrs: x([['trusted.overlay.redirect', '/etc']]) },
      { path: p('dev/null'), xattrs: x([['trusted.dev', 'c'], ['security.selinux', SELINUX]]) },
      { path: p('dev/loop0'), xattrs: x([['trusted.dev', 'b']]) },
      { path: p('run/fifo'), xattrs: x([['trusted.fifo', Uint8Array.of(0, 1, 0x3d, 0x0a, 0xff)]]) },
      { path: p('upper/dir'), xattrs: x([['trusted.overlay.opaque', 'y'], ['trusted.overlay.origin', bytes(29, 3)]]) },
      { path: p('links/a'), xattrs: x([['user.h', 'hard'], ['user.with=equals', '=']]) },
      { path: p('many'), xattrs: new Map(Array.from({ length: 100 }, (_, i) => [`user.x${String(i).padStart(3, '0')}`, bytes(i % 7, i)])) },
      { path: p('medium'), xattrs: x([['user.v', bytes(3000, 4)], ['trusted.v', bytes(500, 5)]]) },
      { path: p(odd), xattrs: x([['user.odd', 'dir'], ['trusted.odd', 'd']]) },
      { path: p(Buffer.concat([odd, b('/inner')])), xattrs: x([['user.inner', 'f']]) },
      { path: p(Buffer.concat([odd, b('/sl')])), xattrs: x([['trusted.sl', 's']]) },
    ],
    fs,
  );
  return src;
}

/** The source as getfattr shows it: the reference each image is judged against. */
function reference(src: string): ManifestEntry[] {
  const m = hostManifest(src);
  // The source really holds what the test set (a sanity check on the reference itself).
  const names = new Set(m.flatMap((e) => Object.keys(e.xattrs ?? {})));
  for (const x of ['user.d', 'trusted.overlay.opaque', 'security.capability', 'security.selinux', 'system.posix_acl_access', 'system.posix_acl_default', 'trusted.dev', 'trusted.sl']) expect(names).toContain(x);
  return m;
}

function expectSame(got: ManifestEntry[], want: ManifestEntry[], what: string): void {
  const diff = diffManifests(want, got);
  expect(diff, `${what}:\n${diff.join('\n')}`).toEqual([]);
}

/** Every EROFS oracle: our reader (fsck and tree), fsck.erofs 1.5 and 1.8, the kernel mount's getfattr. */
async function judgeErofs(image: string, want: ManifestEntry[]): Promise<void> {
  expect(fsck(image).errors.map(String)).toEqual([]);
  const read = ErofsImage.open(image);
  try {
    expectSame(manifest(read.toTree()), want, 'erofs-reader');
  } finally {
    read.close();
  }
  if (canFsck15()) fsck15(image);
  if (canFsck18()) fsck18(image);
  expectSame(await withErofsMount(image, (mnt) => hostManifest(mnt)), want, 'kernel mount');
}

/** e2fsck -fn, then the kernel mount's getfattr (lost+found aside). */
async function judgeExt4(image: string, want: ManifestEntry[]): Promise<void> {
  if (e2fsck) expect(e2fsckProblems(image)).toBeUndefined();
  expectSame(await withMount(image, (mnt) => mountedManifest(mnt), { readonly: true }), want, 'kernel mount');
}

const noXattrs = (m: ManifestEntry[]): ManifestEntry[] => m.map(({ xattrs: _, ...e }) => e);

/** The packages' bundles copied where no node_modules can be found: what `npm install --omit=optional` leaves. */
function bundleWithoutAddon(pkg: 'erofs-writer' | 'ext4-writer'): string {
  const dir = mkdtempSync(join(tmpdir(), 'no-addon-'));
  const from = fileURLToPath(new URL(`../packages/${pkg}/`, import.meta.url));
  cpSync(join(from, 'bundle'), join(dir, pkg, 'bundle'), { recursive: true });
  cpSync(join(from, 'package.json'), join(dir, pkg, 'package.json'));
  return join(dir, pkg, 'bundle', pkg === 'erofs-writer' ? 'bin.cjs' : 'cli.js');
}

function runBundle(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [script, ...args], { env: { PATH: process.env.PATH ?? '' }, encoding: 'utf8' });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe.runIf(root)('a host directory with xattrs in every namespace', () => {
  let src = '';
  let want: ManifestEntry[] = [];
  beforeAll(() => {
    src = everyNamespace('every');
    want = reference(src);
  });

  it('mkerofs-ts IMG DIR keeps every xattr byte-exact: kernel mount, fsck.erofs 1.5 and 1.8, our reader', async () => {
    const image = img('erofs');
    const r = cli('mkerofs-ts', ['--json', image, src]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ hostXattrs: 'read' });
    await judgeErofs(image, want);
  });

  it('mkext4-ts -d DIR keeps every xattr byte-exact: kernel mount, e2fsck', async () => {
    const image = img('ext4');
    const r = cli('mkext4-ts', ['--json', '-b', '4096', '-d', src, image, '64M']);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ hostXattrs: 'read' });
    await judgeExt4(image, want);
  });

  it('-x -1 leaves them out (mkfs.erofs\'s switch; mkext4-ts\'s own); other values are usage errors', async () => {
    const e = img('erofs');
    const r = cli('mkerofs-ts', ['--json', '-x', '-1', e, src]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(JSON.parse(r.stdout)).toMatchObject({ hostXattrs: 'off' });
    expect(await withErofsMount(e, (mnt) => hostManifest(mnt))).toEqual(noXattrs(want));
    const x = img('ext4');
    const r4 = cli('mkext4-ts', ['--json', '-x', '-1', '-b', '4096', '-d', src, x, '64M']);
    expect(r4.status, r4.stderr).toBe(0);
    expect(JSON.parse(r4.stdout)).toMatchObject({ hostXattrs: 'off' });
    await judgeExt4(x, noXattrs(want));
    for (const [name, args] of [['mkerofs-ts', ['-x', '2', img('erofs'), src]], ['mkext4-ts', ['-x', '0', '-d', src, img('ext4'), '64M']]] as const) {
      const bad = cli(name, [...args]);
      expect(bad.status).toBe(2);
      expect(bad.stderr.split('\n')[0]).toMatch(new RegExp(`^${name}: -x: '\\d' is not supported: only -x -1`));
    }
  });

  it('without the addon (the bundle where --omit=optional leaves it): one line on stderr, no host xattrs, --json says why', async () => {
    const erofs = bundleWithoutAddon('erofs-writer');
    const ext4 = bundleWithoutAddon('ext4-writer');
    try {
      const reason = '@napi-rs/xattr is not installed (an optional dependency of @fstools/fstree)';
      const e = img('erofs');
      const r = runBundle(erofs, ['--json', e, src]);
      expect(r.status, r.stderr).toBe(0);
      expect(r.stderr).toBe(`mkerofs-ts: host xattrs not read: ${reason}\n`);
      expect(JSON.parse(r.stdout)).toMatchObject({ hostXattrs: `unavailable: ${reason}` });
      expect(await withErofsMount(e, (mnt) => hostManifest(mnt))).toEqual(noXattrs(want));
      const x = img('ext4');
      const r4 = runBundle(ext4, ['-b', '4096', '-d', src, x, '64M']);
      expect(r4.status, r4.stderr).toBe(0);
      expect(r4.stderr).toBe(`mkext4-ts: host xattrs not read: ${reason}\n`);
      await judgeExt4(x, noXattrs(want));
      // Said once or not at all: -q and -x -1 keep quiet, as does a tar source (its xattrs are kept).
      expect(runBundle(erofs, ['-q', img('erofs'), src])).toMatchObject({ status: 0, stderr: '', stdout: '' });
      expect(runBundle(erofs, ['-x', '-1', img('erofs'), src])).toMatchObject({ status: 0, stderr: '' });
      const tar = join(out, 'x.tar');
      writeFileSync(tar, Buffer.concat([tarMember('f', { data: b('x'), xattrs: new Map([['user.t', Uint8Array.of(1)]]) }), endOfArchive()]));
      const t = img('erofs');
      expect(runBundle(erofs, ['--tar', t, tar])).toMatchObject({ status: 0, stderr: '' });
      expect((await withErofsMount(t, (mnt) => hostManifest(mnt))).find((en) => en.path === 'f')?.xattrs).toEqual({ 'user.t': '01' });
      const t4 = img('ext4');
      expect(runBundle(ext4, ['-d', tar, t4, '16M'])).toMatchObject({ status: 0, stderr: '' });
    } finally {
      for (const s of [erofs, ext4]) rmSync(join(s, '../../..'), { recursive: true, force: true });
    }
  });
});

describe.runIf(root)('values up to the 64 KiB Linux limit', () => {
  it('EROFS keeps 65535-byte values (its limit, e_value_size is 16 bits), inline and shared; ext4 says which file it cannot hold', async () => {
    const src = join(fs, 'large');
    mkdirSync(join(src, 'd'), { recursive: true });
    for (const f of ['a', 'd/s1', 'd/s2']) writeFileSync(join(src, f), f);
    const p = (rel: string): Buffer => b(join(src, rel));
    setXattrs(
      [
        { path: p('a'), xattrs: new Map([['user.max', bytes(65535, 1)], ['trusted.max', bytes(65535, 2)], ['security.big', bytes(60000, 3)]]) },
        { path: p('d'), xattrs: new Map([['user.dir', bytes(40000, 4)]]) },
        { path: p('d/s1'), xattrs: new Map([['user.same', bytes(50000, 5)]]) },
        { path: p('d/s2'), xattrs: new Map([['user.same', bytes(50000, 5)]]) },
      ],
      fs,
    );
    const want = hostManifest(src);
    expect(want.find((e) => e.path === 'a')?.xattrs?.['user.max']).toHaveLength(2 * 65535);
    const image = img('erofs');
    const r = cli('mkerofs-ts', [image, src]);
    expect(r.status, r.stderr).toBe(0);
    await judgeErofs(image, want);
    // mkext4-ts has no ea_inode: one xattr block per inode is what there is.
    const x = img('ext4');
    const r4 = cli('mkext4-ts', ['-b', '4096', '-d', src, x, '64M']);
    expect(r4.status).toBe(1);
    expect(r4.stderr).toMatch(/^mkext4-ts: (a|d|d\/s[12]): extended attributes do not fit in one 4096-byte block\n$/);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
  });

  it('a 65536-byte value (Linux allows it, EROFS cannot hold it) is an error naming the file and the attribute', () => {
    const src = join(fs, 'huge');
    mkdirSync(src);
    writeFileSync(join(src, 'f'), 'f');
    setXattrs([{ path: b(join(src, 'f')), xattrs: new Map([['user.huge', bytes(65536, 6)]]) }], fs);
    const r = cli('mkerofs-ts', [img('erofs'), src]);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('mkerofs-ts: f: xattr user.huge: value larger than 65535 bytes\n');
  });
});

describe.runIf(root)('names the addon cannot take', () => {
  it('a non-directory whose own name is not UTF-8 has no text path: a one-line error naming it and -x -1; with -x -1 it builds', async () => {
    const src = join(fs, 'raw');
    mkdirSync(src);
    const file = Buffer.concat([b(src + '/'), Buffer.from([0x66, 0xe9])]); // "f\xe9"
    writeFileSync(file, 'x');
    setXattrs([{ path: file, xattrs: new Map([['user.a', Uint8Array.of(1)]]) }], fs);
    const display = `b64:${file.toString('base64')}`;
    for (const [name, args] of [['mkerofs-ts', [img('erofs'), src]], ['mkext4-ts', ['-d', src, img('ext4'), '16M']]] as const) {
      const r = cli(name, [...args]);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe(`${name}: ${display}: xattrs cannot be read: the name is not UTF-8 and @napi-rs/xattr takes only text paths (-x -1 leaves host xattrs out)\n`);
    }
    const e = img('erofs');
    expect(cli('mkerofs-ts', ['-x', '-1', e, src]).status).toBe(0);
    expect(await withErofsMount(e, (mnt) => hostManifest(mnt))).toEqual(noXattrs(hostManifest(src)));
  });

  it('an xattr name that is not UTF-8 (the images keep names as text) is an error naming the file', () => {
    const src = join(fs, 'raw-name');
    mkdirSync(src);
    writeFileSync(join(src, 'f'), 'x');
    run('setfattr', ['-n', 'user.\\377', '-v', '1', join(src, 'f')]);
    const r = cli('mkerofs-ts', [img('erofs'), src]);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^mkerofs-ts: \S+\/raw-name\/f: cannot list xattrs: a name is not UTF-8, which the image's xattr names must be \(.*\)\n$/);
  });
});

describe.runIf(root)('property: random trees materialized on the host, xattrs set with setfattr', () => {
  it('mkext4-ts\'s writer, reading the directory itself, keeps what getfattr sees', async () => {
    await fc.assert(
      fc.asyncProperty(treeArb({ types: ['dir', 'file', 'symlink', 'chr', 'blk', 'fifo'], maxSparseSize: 1 << 20 }), async (tree) => {
        const src = join(fs, `prop${n++}`);
        mkdirSync(src);
        materialize(tree, src, { textNamesOnly: true, scratch: fs });
        const want = hostManifest(src);
        const image = img('ext4');
        await writeExt4(treeFromDirectory(src), image, { size: 256 << 20, blockSize: 4096 });
        await judgeExt4(image, want);
        rmSync(image);
        rmSync(src, { recursive: true, force: true });
      }),
      { numRuns: runs(5) },
    );
  });
});
