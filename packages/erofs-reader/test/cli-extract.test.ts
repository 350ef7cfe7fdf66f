import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { diffManifests, manifest, manifestText } from '@fstools/fstree';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EROFS_SUPER_OFFSET, ErofsImage, extract, superblockChecksum } from '../src/index.js';
import { hasCommand, isRoot, oracle } from '../../../test/helpers/oracles.js';
import { fsckOracle, has18, hostManifest, makeSourceTree, mkfs, scratch } from './helpers.js';

const bin = fileURLToPath(new URL('../bin/erofs-ts.cjs', import.meta.url));
const run18 = oracle('mkfs.erofs 1.8', has18, 'needs root and the trixie chroot');
const canXattr = oracle('setfattr', hasCommand('setfattr'), 'apt-get install attr');

function cli(...args: string[]): { status: number; stdout: string; stderr: string } {
  if (!existsSync(bin)) throw new Error(`${bin} missing: build first (npx tsc -b packages/erofs-reader)`);
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', maxBuffer: 1 << 26 });
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('erofs-ts conventions: --help, --version, exit codes', () => {
  it('--version prints the package version, --help the commands; both exit 0', () => {
    const { version } = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(cli('--version')).toMatchObject({ status: 0, stdout: `${version}\n`, stderr: '' });
    const help = cli('--help');
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/^erofs-ts <command> IMAGE \[PATH\]/);
    for (const c of ['info', 'ls', 'stat', 'cat', 'extract', 'fsck', 'manifest']) expect(help.stdout).toContain(`erofs-ts ${c} <image>`);
    expect(help.stdout).toMatch(/--device/);
  });

  it('usage errors exit 2 with the problem and a pointer to --help', () => {
    for (const args of [[], ['frobnicate', 'x.erofs'], ['info'], ['stat', 'x.erofs'], ['info', '--bogus', 'x.erofs']]) {
      const r = cli(...args);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/^erofs-ts: .+\nTry 'erofs-ts --help'\.\n$/);
    }
  });

  it('an image that cannot be opened: exit 1, one line naming it', () => {
    const here = fileURLToPath(new URL('.', import.meta.url));
    const absent = join(here, 'absent.erofs');
    expect(cli('info', absent)).toMatchObject({ status: 1, stdout: '', stderr: `erofs-ts: ${absent}: cannot open: no such file or directory (ENOENT)\n` });
    expect(cli('ls', here)).toMatchObject({ status: 1, stdout: '', stderr: `erofs-ts: ${here}: is a directory, not an image\n` });
  });
});

describe.runIf(run18)('extract and the erofs-ts CLI', () => {
  let dir: ReturnType<typeof scratch>;
  let src: string;
  let image: string;
  let expected: ReturnType<typeof hostManifest>;

  beforeAll(() => {
    dir = scratch();
    src = join(dir.host, 'src');
    makeSourceTree(src, { bigDir: 30 });
    expected = hostManifest(src);
    image = join(dir.host, 'img.erofs');
    mkfs('1.8', image, src, ['-zlz4hc', '-Eztailpacking']);
  });
  afterAll(() => dir?.cleanup());

  it.runIf(isRoot && canXattr)('extract reproduces the tree: types, modes, owners, mtimes, xattrs, hardlinks, holes', () => {
    const dest = join(dir.host, 'out');
    const img = ErofsImage.open(image);
    try {
      const r = extract(img, dest);
      expect(r.warnings).toEqual([]);
    } finally {
      img.close();
    }
    // Node's utimes takes float seconds: mtimes survive to about a microsecond, not to the ns.
    const got = hostManifest(dest);
    const strip = (m: ReturnType<typeof hostManifest>) => m.map(({ mtime: _, ...e }) => e);
    const diff = diffManifests(strip(expected), strip(got));
    expect(diff, diff.join('\n')).toEqual([]);
    for (const [i, e] of expected.entries()) expect(Math.abs(Number(BigInt(e.mtime!) - BigInt(got[i]!.mtime!))), e.path).toBeLessThan(2000);
    const sparse = spawnSync('du', ['-k', join(dest, 'sparse.img')], { encoding: 'utf8' }).stdout;
    expect(Number(sparse.split('\t')[0])).toBeLessThan(1024);
  });

  it('extract refuses what fsck rejects in a directory: a second ".." hides no entry', () => {
    // An image whose root holds ".a", then that name turned into a second "..": the walk used to
    // skip both ".." entries and extract without the file, exit 0.
    const s = join(dir.host, 'dotdot-src');
    mkdirSync(s);
    writeFileSync(join(s, '.a'), 'hidden\n');
    writeFileSync(join(s, 'b'), 'b\n');
    const good = join(dir.host, 'dotdot-good.erofs');
    mkfs('1.8', good, s);
    const img = ErofsImage.open(good);
    const nid = img.lookup('.a');
    const [ext] = img.fileExtents(img.rootNid);
    const names = img.dirents(img.rootNid).map((d) => d.name);
    img.close();
    expect(names).toEqual(['.', '..', '.a', 'b']);
    const b = readFileSync(good);
    if (ext?.kind !== 'data' && ext?.kind !== 'inline') throw new Error('test setup: the root directory is not one block');
    const at = ext.physical; // the root's dirents: ".", "..", ".a" (12 bytes each), then the names
    const nameoff = b.readUInt16LE(at + 2 * 12 + 8);
    expect(b.toString('latin1', at + nameoff, at + nameoff + 2)).toBe('.a');
    expect(Number(b.readBigUInt64LE(at + 2 * 12))).toBe(nid);
    b[at + nameoff + 1] = 0x2e;
    b.writeUInt32LE(superblockChecksum(b.subarray(EROFS_SUPER_OFFSET, 4096)), EROFS_SUPER_OFFSET + 4);
    const bad = join(dir.host, 'dotdot-bad.erofs');
    writeFileSync(bad, b);
    expect(fsckOracle('1.8', bad).ok).toBe(false);
    const checked = cli('fsck', bad);
    expect(checked.status).toBe(1);
    expect(checked.stdout + checked.stderr).toMatch(/BAD_DOT|"\." and 2 "\.\." entries|not in byte order/);
    const dest = join(dir.host, 'dotdot-out');
    const r = cli('extract', bad, dest);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/dotdot-bad\.erofs: .*(byte order|"\.\." entries)/);
  });

  it('extract never replaces or follows what is already in DEST', () => {
    const dest = join(dir.host, 'taken');
    const victim = join(dir.host, 'victim');
    writeFileSync(victim, 'untouched');
    mkdirSync(dest);
    symlinkSync(victim, join(dest, 'sparse.img'));
    const r = cli('extract', image, dest);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(new RegExp(`^erofs-ts: ${dest}/sparse\\.img: .*\\(EEXIST\\)\n$`));
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
  });

  it('manifest prints the canonical manifest', () => {
    const r = cli('manifest', image);
    expect(r.status).toBe(0);
    expect(r.stdout).toBe(manifestText(expected));
  });

  it('info, ls, stat, cat (text and --json)', () => {
    const info = JSON.parse(cli('info', '--json', image).stdout);
    expect(info).toMatchObject({ blockSize: 4096, checksum: 'ok', features: { incompat: expect.arrayContaining(['ztailpacking']) } });
    expect(cli('info', image).stdout).toContain('blockSize: 4096');
    const ls = cli('ls', image, '/sub');
    expect(ls.status).toBe(0);
    expect(ls.stdout).toMatch(/^dir +0755 +70000 +65534 +\d+ deeper$/m);
    expect(JSON.parse(cli('ls', '--json', image, '/').stdout).map((e: { name: string }) => e.name)).toContain('ünïcødé-名前.txt');
    const st = JSON.parse(cli('stat', '--json', image, '/suid').stdout);
    expect(st).toMatchObject({ type: 'file', mode: '4755', xattrs: { 'security.capability': '0000000200200000000000000000000000000000' } });
    expect(cli('stat', image, '/link').stdout).toContain('target: small.txt');
    const cat = spawnSync(process.execPath, [bin, 'cat', image, '/text.txt']);
    expect(Buffer.compare(cat.stdout, readFileSync(join(src, 'text.txt')))).toBe(0);
    expect(cli('cat', image, 'b64:' + Buffer.from([0x72, 0x61, 0x77, 0x2d, 0xff, 0xfe, 0x80]).toString('base64')).stdout).toBe('not utf-8');
  });

  it('fsck: exit 0 when clean, 1 with one line per problem, --json', () => {
    expect(cli('fsck', image)).toMatchObject({ status: 0, stdout: expect.stringMatching(/^ok: /) });
    const bad = join(dir.host, 'bad.erofs');
    const b = readFileSync(image);
    b[1024 + 4]! ^= 0xff;
    writeFileSync(bad, b);
    const r = cli('fsck', bad);
    expect(r.status).toBe(1);
    expect(r.stdout.split('\n')[0]).toMatch(new RegExp(`^${bad}: superblock checksum`));
    const j = JSON.parse(cli('fsck', '--json', bad).stdout);
    expect(j).toMatchObject({ ok: false, errors: [{ code: 'BAD_CHECKSUM' }] });
  });

  it('exit codes: 1 for errors (one line "<file>: <problem>"), 2 for usage', () => {
    const missing = cli('ls', image, '/no/such');
    expect(missing.status).toBe(1);
    expect(missing.stderr).toBe(`erofs-ts: ${image}: no such file or directory (path /no)\n`);
    expect(cli('cat', image, '/sub')).toMatchObject({ status: 1, stderr: `erofs-ts: ${image}: not a regular file (path /sub)\n` });
    expect(cli('frobnicate', image).status).toBe(2);
    expect(cli('stat', image).status).toBe(2);
  });

  it('toTree matches the source for the image under test', () => {
    const img = ErofsImage.open(image);
    try {
      expect(diffManifests(expected, manifest(img.toTree()))).toEqual([]);
    } finally {
      img.close();
    }
  });
});
