import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, lstatSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { FsTree } from '@fstools/fstree';
import { diffManifests, encodeHeader, endOfArchive, FsTree as Tree, makeDir, makeFile, manifest, padding, utf8 } from '@fstools/fstree';
import { writeErofs } from '@fstools/erofs-writer';
import { cli } from './helpers/cli.js';
import { canFsck15, canFsck18, canMount, dumpPath, dumpSuper, fsck15, fsck18, hostManifest, scratchDir, withErofsMount } from './helpers/erofs-oracles.js';

const dir = scratchDir('erofs-features');
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const img = (): string => join(dir, `f${n++}.erofs`);

/** fsck.erofs 1.5 and 1.8; 1.5 only where the image uses no feature newer than it (`modern`). */
/**
 * Both fsck.erofs versions on an image. Each runs synchronously (seconds on the huge sparse
 * files): the event loop turns between them so the vitest worker answers its runner's RPC,
 * which gives up after 60 s of silence.
 */
async function fscks(image: string, modern = false): Promise<void> {
  if (!modern && canFsck15()) fsck15(image);
  await new Promise((resolve) => setImmediate(resolve));
  if (canFsck18()) fsck18(image);
  await new Promise((resolve) => setImmediate(resolve));
}

async function mountedEqualsTree(image: string, tree: FsTree): Promise<void> {
  if (!canMount()) return;
  const walked = await withErofsMount(image, (mnt) => hostManifest(mnt));
  expect(diffManifests(manifest(tree), walked)).toEqual([]);
}

describe('directories', () => {
  for (const blockSize of [4096, 512]) {
    it(`a directory of 10,000 entries spans blocks, stays byte-sorted and every name resolves (${blockSize}-byte blocks)`, async () => {
      const tree = new Tree(makeDir());
      const big = makeDir();
      tree.set('big', big);
      for (let i = 0; i < 10_000; i++) {
        const name = utf8(`${(i * 7919) % 10_007}-${'x'.repeat(i % 40)}${i % 3 ? 'É' : 'e'}`);
        big.entries.set(name, makeFile(Buffer.from(String(i))));
      }
      big.entries.set(utf8('!first'), makeFile(Buffer.from('sorts before "."')));
      const out = img();
      await writeErofs(tree, out, { blockSize });
      if (blockSize >= 2048) await fscks(out);
      expect(dumpPath(out, '/big').size).toBeGreaterThan(blockSize * 10);
      if (!canMount()) return;
      await withErofsMount(out, (mnt) => {
        const listed = readdirSync(join(mnt, 'big'));
        expect(listed.length).toBe(10_001);
        for (const name of listed) expect(statSync(join(mnt, 'big', name)).isFile()).toBe(true);
        // Names that are absent must not resolve (the kernel binary-searches each block).
        expect(existsSync(join(mnt, 'big', '5000-zz'))).toBe(false);
      });
      await mountedEqualsTree(out, tree);
    });
  }
});

describe('hardlinks, xattrs and inode forms', () => {
  it('hardlinks share one inode with the right nlink; repeated xattrs are stored once; long prefixes work', async () => {
    const tree = new Tree(makeDir({ mtime: 1_600_000_000_000_000_000n }));
    const shared = new Map([['trusted.overlay.opaque', new Uint8Array([0x79])], ['user.same', new Uint8Array(Buffer.from('same value for all'))]]);
    const f = makeFile(Buffer.from('linked'), { xattrs: new Map(shared), mtime: 1_600_000_000_000_000_000n });
    for (const name of ['a', 'b', 'c']) tree.set(name, f);
    for (let i = 0; i < 20; i++) tree.set(`d${i}`, makeDir({ xattrs: new Map(shared), mtime: 1_600_000_000_000_000_000n }));
    const out = img();
    await writeErofs(tree, out, { xattrPrefixes: ['trusted.overlay.'] });
    await fscks(out, true); // long xattr prefixes came with erofs-utils 1.7
    const sb = dumpSuper(out);
    expect(Number(sb['shared xattr metadata start block'])).toBeGreaterThan(0);
    const a = dumpPath(out, '/a');
    expect(a.links).toBe(3);
    // 12-byte header + two 4-byte shared ids: nothing stored inline.
    expect(a.xattrSize).toBe(20);
    expect(a.inodeSize).toBe(32); // common mtime and small ids: compact
    await mountedEqualsTree(out, tree);
    if (canMount()) await withErofsMount(out, (mnt) => expect(statSync(join(mnt, 'b')).nlink).toBe(3));
  });

  it('an image whose last inode ends at a block end still has the bytes fsck.erofs before 1.8 reads after every inode', async () => {
    // 49 empty files: the metadata fills its last block exactly. fsck.erofs 1.5 (Debian bookworm's)
    // reads an xattr ibody header after each inode, xattrs or not, and called this image corrupt.
    const root = makeDir({ mode: 0o755 });
    for (let i = 0; i < 49; i++) root.entries.set(`f${String(i).padStart(4, '0')}`, makeFile(new Uint8Array(0), { mode: 0o644 }));
    const tree = new Tree(root);
    const a = img();
    const r = await writeErofs(tree, a, { timestamp: 1700000000n });
    expect(r.blocks).toBe(3);
    await fscks(a);
    await mountedEqualsTree(a, tree);
  });

  it('uses extended inodes exactly where compact ones would lose information', async () => {
    const tree = new Tree(makeDir({ mtime: 5_000_000_000n }));
    tree.set('compact', makeFile(Buffer.from('x'), { mtime: 5_000_000_000n }));
    tree.set('ns', makeFile(Buffer.from('x'), { mtime: 5_000_000_001n }));
    tree.set('bigid', makeFile(Buffer.from('x'), { mtime: 5_000_000_000n, uid: 65536 }));
    tree.set('neg', makeFile(Buffer.from('x'), { mtime: -1_500_000_000n }));
    const out = img();
    await writeErofs(tree, out);
    await fscks(out);
    expect(dumpPath(out, '/compact').inodeSize).toBe(32);
    for (const p of ['/ns', '/bigid', '/neg']) expect(dumpPath(out, p).inodeSize).toBe(64);
    await mountedEqualsTree(out, tree);
  });

  it('refuses xattr namespaces EROFS cannot store, naming the file', async () => {
    const tree = new Tree(makeDir());
    tree.set('odd', makeFile(Buffer.from('x'), { xattrs: new Map([['system.nfs4_acl', new Uint8Array([1])]]) }));
    await expect(writeErofs(tree, img())).rejects.toThrow('odd: xattr system.nfs4_acl: EROFS stores only user., trusted., security. and POSIX ACL xattrs');
  });
});

describe('data layouts', () => {
  it('tails are inlined by default and never with -E noinline_data', async () => {
    const src = join(dir, 'tails');
    mkdirSync(src);
    writeFileSync(join(src, 'small'), 'tiny');
    writeFileSync(join(src, 'mixed'), Buffer.alloc(10_000, 3));
    writeFileSync(join(src, 'exact'), Buffer.alloc(8192, 4));
    const a = img();
    const b = img();
    expect(cli('mkerofs-ts', ['-q', a, src]).status).toBe(0);
    expect(cli('mkerofs-ts', ['-q', '-E', 'noinline_data', b, src]).status).toBe(0);
    await fscks(a);
    await fscks(b);
    expect(dumpPath(a, '/small').layout).toBe(2);
    expect(dumpPath(a, '/mixed').layout).toBe(2);
    expect(dumpPath(a, '/exact').layout).toBe(0);
    for (const p of ['/small', '/mixed', '/exact']) expect(dumpPath(b, p).layout).toBe(0);
    for (const image of [a, b]) await mountedEqualsTree(image, (await import('@fstools/fstree')).treeFromDirectory(src));
  });

  it('a sparse 4.5 GiB file: extended size, holes as chunks or as host holes, reads back exactly', async () => {
    const size = 4.5 * 1024 ** 3;
    const tree = new Tree(makeDir());
    const segments = [
      { offset: 0, bytes: new Uint8Array(Buffer.from('head')) },
      { offset: 2 ** 32 + 5, bytes: new Uint8Array(Buffer.alloc(9000, 0xab)) },
      { offset: size - 3, bytes: new Uint8Array(Buffer.from('end')) },
    ];
    tree.set('huge', { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0n, xattrs: new Map(), size, data: { kind: 'sparse', segments } });
    for (const chunkSize of [undefined, 1 << 20]) {
      const out = img();
      await writeErofs(tree, out, { chunkSize });
      expect(statSync(out).blocks * 512).toBeLessThan(64 << 20); // holes cost nothing on the host
      expect(dumpPath(out, '/huge').layout).toBe(chunkSize ? 4 : 0);
      await fscks(out);
      await mountedEqualsTree(out, tree);
      rmSync(out);
    }
  });
});

describe('mkerofs-ts options', () => {
  const src = join(dir, 'opts');
  mkdirSync(join(src, 'sub'), { recursive: true });
  writeFileSync(join(src, 'old'), 'old');
  writeFileSync(join(src, 'new'), 'new');
  writeFileSync(join(src, 'sub', 'skip.log'), 'skip');
  writeFileSync(join(src, 'sub', 'keep'), 'keep');
  utimesSync(join(src, 'old'), 1000, 1000);
  utimesSync(join(src, 'new'), 2_000_000_000, 2_000_000_000);
  spawnSync('chown', ['1234:5678', join(src, 'old')]);

  it('-T and SOURCE_DATE_EPOCH clamp later mtimes and set the build time; -U and -L are stored', async () => {
    const a = img();
    const r = cli('mkerofs-ts', ['--json', '-T', '1500000000', '-U', '01234567-89ab-cdef-0123-456789abcdef', '-L', 'sandbox', a, src]);
    expect(r.status, r.stderr).toBe(0);
    const info = JSON.parse(r.stdout) as { inodes: number; uuid: string };
    expect(info.uuid).toBe('01234567-89ab-cdef-0123-456789abcdef');
    expect(info.inodes).toBe(6);
    await fscks(a);
    expect(dumpSuper(a).UUID).toBe('01234567-89ab-cdef-0123-456789abcdef');
    expect(readFileSync(a).subarray(1024 + 64, 1024 + 71).toString()).toBe('sandbox');
    const b = img();
    expect(cli('mkerofs-ts', ['-q', b, src], { env: { SOURCE_DATE_EPOCH: '1500000000' } }).status).toBe(0);
    if (!canMount()) return;
    for (const image of [a, b]) {
      await withErofsMount(image, (mnt) => {
        expect(lstatSync(join(mnt, 'old')).mtimeMs).toBe(1_000_000);
        expect(lstatSync(join(mnt, 'new')).mtimeMs).toBe(1_500_000_000_000);
      });
    }
  });

  it('takes IMAGE and SOURCE names that look like numbers as the names they are (erofs-ts too)', async () => {
    const cwd = join(dir, 'numeric');
    mkdirSync(join(cwd, '1.0'), { recursive: true });
    writeFileSync(join(cwd, '1.0', '0x10'), 'in 1.0');
    const r = cli('mkerofs-ts', ['-q', '007', '1.0'], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(cwd).sort()).toEqual(['007', '1.0']);
    await fscks(join(cwd, '007'));
    expect(cli('erofs-ts', ['cat', '007', '0x10'], { cwd }).stdout).toBe('in 1.0');
  });

  it('SOURCE may be a symlink to the directory, followed as mkfs.erofs does; links inside stay links', async () => {
    const root = join(dir, 'via-link');
    mkdirSync(join(root, 'real'), { recursive: true });
    writeFileSync(join(root, 'real', 'f'), 'data');
    symlinkSync('f', join(root, 'real', 'inner'));
    symlinkSync('real', join(root, 'current'));
    const a = img();
    const r = cli('mkerofs-ts', ['-q', a, join(root, 'current')]);
    expect(r.status, r.stderr).toBe(0);
    await fscks(a);
    if (!canMount()) return;
    await withErofsMount(a, (mnt) => {
      expect(readFileSync(join(mnt, 'f'), 'utf8')).toBe('data');
      expect(lstatSync(join(mnt, 'inner')).isSymbolicLink()).toBe(true);
    });
  });

  it('ownership and exclusion flags do what mkfs.erofs does', async () => {
    const cases: Array<[string[], (mnt: string) => void]> = [
      [['--all-root'], (m) => expect([lstatSync(join(m, 'old')).uid, lstatSync(join(m, 'old')).gid]).toEqual([0, 0])],
      [['--force-uid=7', '--force-gid=8'], (m) => expect([lstatSync(join(m, 'new')).uid, lstatSync(join(m, 'new')).gid]).toEqual([7, 8])],
      [['--uid-offset=10', '--gid-offset=20'], (m) => expect([lstatSync(join(m, 'old')).uid, lstatSync(join(m, 'old')).gid]).toEqual([1244, 5698])],
      [['--exclude-path=sub/skip.log', '--exclude-path=/new'], (m) => expect([existsSync(join(m, 'sub/skip.log')), existsSync(join(m, 'new')), existsSync(join(m, 'sub/keep'))]).toEqual([false, false, true])],
      [['--exclude-regex=\\.log$'], (m) => expect(readdirSync(join(m, 'sub'))).toEqual(['keep'])],
    ];
    for (const [flags, check] of cases) {
      const out = img();
      const r = cli('mkerofs-ts', ['-q', ...flags, out, src]);
      expect(r.status, r.stderr).toBe(0);
      await fscks(out);
      if (canMount()) await withErofsMount(out, check);
    }
  });
});

describe('streaming', () => {
  it('reads a tar from stdin, gzip or zstd, and keeps memory flat', async () => {
    const tarFile = join(dir, 'in.tar');
    spawnSync('tar', ['-C', join(dir, 'opts'), '-cf', tarFile, '.']);
    for (const compressor of ['gzip', 'zstd']) {
      const packed = spawnSync(compressor, ['-c', tarFile]).stdout;
      expect(packed.length).toBeGreaterThan(0);
      const out = img();
      const r = cli('mkerofs-ts', ['--tar', '-q', out, '-'], { input: packed });
      expect(r.status, r.stderr).toBe(0);
      await fscks(out);
      if (canMount()) await withErofsMount(out, (m) => expect(readFileSync(join(m, 'sub/keep'), 'utf8')).toBe('keep'));
    }
    const big = join(dir, 'big.bin');
    const fd = openSync(big, 'w');
    const chunk = Buffer.alloc(1 << 20);
    for (let i = 0; i < 300; i++) {
      chunk.fill(i & 0xff);
      writeSync(fd, chunk);
    }
    closeSync(fd);
    const bigTar = join(dir, 'big.tar');
    spawnSync('tar', ['-C', dir, '-cf', bigTar, 'big.bin']);
    const out2 = img();
    const time = spawnSync('/usr/bin/time', ['-f', '%M', process.execPath, 'packages/erofs-writer/bin/mkerofs-ts.cjs', '--tar', '-q', out2, bigTar], { encoding: 'utf8' });
    expect(time.status, time.stderr).toBe(0);
    const peakKiB = Number(time.stderr.trim().split('\n').pop());
    // 300 MiB of file data through the writer: peak RSS stays far below the data size.
    expect(peakKiB).toBeLessThan(150 * 1024);
    await fscks(out2);
    rmSync(big);
    rmSync(bigTar);
  });
});

describe('OCI whiteouts (--ovl-whiteouts / --aufs)', () => {
  it('become overlayfs whiteouts and opaque dirs that the kernel overlay honours', async () => {
    const member = (path: string, type: 'file' | 'dir' = 'file', data = ''): Buffer =>
      Buffer.concat([
        encodeHeader({ path: utf8(path), type, mode: type === 'dir' ? 0o755 : 0o644, uid: 0, gid: 0, mtime: 0n, size: data.length, linkname: '', major: 0, minor: 0, xattrs: new Map() }),
        Buffer.from(data),
        padding(data.length),
      ]);
    const lowerTar = join(dir, 'lower.tar');
    const upperTar = join(dir, 'upper.tar');
    writeFileSync(lowerTar, Buffer.concat([member('gone', 'file', 'x'), member('keep', 'file', 'k'), member('opq', 'dir'), member('opq/old', 'file', 'o'), endOfArchive()]));
    writeFileSync(upperTar, Buffer.concat([member('.wh.gone'), member('opq/.wh..wh..opq'), member('opq/new', 'file', 'n'), endOfArchive()]));
    const lower = img();
    const upper = img();
    expect(cli('mkerofs-ts', ['-q', '--tar', lower, lowerTar]).status).toBe(0);
    const r = cli('mkerofs-ts', ['-q', '--tar', '--aufs', upper, upperTar]);
    expect(r.status, r.stderr).toBe(0);
    await fscks(upper);
    if (!canMount()) return;
    await withErofsMount(upper, (m) => {
      const wh = lstatSync(join(m, 'gone'));
      expect(wh.isCharacterDevice() && wh.rdev === 0).toBe(true);
      expect(existsSync(join(m, '.wh.gone'))).toBe(false);
      expect(hostManifest(m).find((e) => e.path === 'opq')?.xattrs).toEqual({ 'trusted.overlay.opaque': '79' });
    });
    await withErofsMount(lower, (lo) =>
      withErofsMount(upper, (up) => {
        const merged = join(dir, 'merged');
        mkdirSync(merged, { recursive: true });
        expect(spawnSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${up}:${lo}`, merged]).status).toBe(0);
        try {
          expect(readdirSync(merged).sort()).toEqual(['keep', 'opq']);
          expect(readdirSync(join(merged, 'opq'))).toEqual(['new']);
        } finally {
          spawnSync('umount', [merged]);
        }
      }),
    );
  });
});
