// mkerofs-ts --tar=i: an EROFS index (512-byte blocks) whose files point into the tar appended
// after it. Judged by the kernel (the file mounts with -o loop and holds the source tree), by
// mkfs.erofs 1.8's own --tar=i index + tar mounted beside it (same tree), and by our reader.
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { cli } from './helpers/cli.js';
import { randomBytes, textBytes } from './helpers/compressible.js';
import { canFsck18, canMount, hostManifest, scratchDir, withErofsMount } from './helpers/erofs-oracles.js';
import { trixieRoot } from './helpers/oracles.js';

const dir = scratchDir('tar-index');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A source tree with files of every size class around the 512-byte block, links, a fifo, a device and xattrs. */
function sourceTree(): string {
  const src = join(dir, 'src');
  mkdirSync(join(src, 'etc/deep/er/still'), { recursive: true });
  writeFileSync(join(src, 'empty'), '');
  for (const size of [1, 511, 512, 513, 4097, 70_000]) writeFileSync(join(src, `text-${size}`), textBytes(size, size));
  writeFileSync(join(src, 'etc/deep/er/still/random'), randomBytes(1 << 20, 7));
  writeFileSync(join(src, 'x'.repeat(150)), 'a long name\n');
  symlinkSync('../text-1', join(src, 'etc/link'));
  linkSync(join(src, 'text-513'), join(src, 'etc/hard'));
  chmodSync(join(src, 'text-511'), 0o4755);
  spawnSync('mkfifo', [join(src, 'fifo')]);
  spawnSync('mknod', [join(src, 'null'), 'c', '1', '3']);
  spawnSync('setfattr', ['-n', 'user.note', '-v', 'kept', join(src, 'text-4097')]);
  return src;
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

describe('mkerofs-ts --tar=i', () => {
  it('the index plus the appended tar mounts as the source tree, as mkfs.erofs 1.8 --tar=i + cat does', async () => {
    if (!canMount() || !canFsck18()) return;
    const src = sourceTree();
    const tar = join(dir, 'src.tar');
    run('tar', ['--xattrs', '--xattrs-include=*', '--numeric-owner', '-C', src, '-cf', tar, '.']);
    const ours = join(dir, 'ours.erofs');
    const r = cli('mkerofs-ts', ['--tar=i', '--json', ours, tar]);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    // The tar follows the index unchanged, whole blocks.
    const tarBytes = readFileSync(tar);
    const image = readFileSync(ours);
    expect(image.length % 512).toBe(0);
    expect(image.subarray(image.length - tarBytes.length).equals(tarBytes)).toBe(true);
    expect(JSON.parse(r.stdout).bytes).toBe(image.length);

    // mkfs.erofs 1.8's index, with the tar cat behind it as containerd does.
    const theirsIndex = join(dir, 'theirs.idx');
    const inChroot = (p: string): string => p.slice(trixieRoot.length);
    run('chroot', [trixieRoot, 'mkfs.erofs', '--tar=i', inChroot(theirsIndex), inChroot(tar)]);
    const theirs = join(dir, 'theirs.erofs');
    writeFileSync(theirs, Buffer.concat([readFileSync(theirsIndex), tarBytes]));

    const want = hostManifest(src).filter((e) => e.path !== '');
    const fromOurs = await withErofsMount(ours, (m) => hostManifest(m).filter((e) => e.path !== ''));
    const fromTheirs = await withErofsMount(theirs, (m) => hostManifest(m).filter((e) => e.path !== ''));
    expect(fromOurs).toEqual(want);
    expect(fromOurs).toEqual(fromTheirs);
    // Our reader follows the device table's flat mapping too.
    const f = cli('erofs-ts', ['fsck', ours]);
    expect(f.stdout + f.stderr).toMatch(/0 problems/);
    expect(f.status).toBe(0);
  });

  it('gzip input: the decompressed tar is appended; the same input gives the same bytes', async () => {
    if (!canMount()) return;
    const src = join(dir, 'src');
    const tar = join(dir, 'src.tar');
    if (!statSync(tar, { throwIfNoEntry: false })) return expect.fail('the first test makes src.tar');
    const gz = join(dir, 'src.tar.gz');
    writeFileSync(gz, gzipSync(readFileSync(tar)));
    const a = join(dir, 'gz-a.erofs');
    const b = join(dir, 'gz-b.erofs');
    for (const out of [a, b]) expect(cli('mkerofs-ts', ['-q', '--tar=i', out, gz]).status).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    const image = readFileSync(a);
    expect(image.subarray(image.length - statSync(tar).size).equals(readFileSync(tar))).toBe(true);
    const got = await withErofsMount(a, (m) => hostManifest(m).filter((e) => e.path !== ''));
    expect(got).toEqual(hostManifest(src).filter((e) => e.path !== ''));
  });

  it('options --tar=i cannot honour, and unknown modes, are usage errors that leave nothing', () => {
    const tar = join(dir, 'src.tar');
    const out = join(dir, 'bad.erofs');
    for (const [args, message] of [
      [['--tar=x', out, tar], /--tar=x: the mode is f .* or i/],
      [['--tar=i', '-zlz4', out, tar], /-z: --tar=i keeps file data in the tar/],
      [['--tar=i', '-b', '4096', out, tar], /-b: --tar=i images have 512-byte blocks, not 4096/],
      [['--tar=i', '--chunksize', '4096', out, tar], /--chunksize: --tar=i/],
    ] as const) {
      const r = cli('mkerofs-ts', [...args]);
      expect(r.status, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(message);
      expect(statSync(out, { throwIfNoEntry: false })).toBeUndefined();
    }
    // --tar=f is today's --tar.
    const f = join(dir, 'full.erofs');
    const g = join(dir, 'full2.erofs');
    expect(cli('mkerofs-ts', ['-q', '--tar=f', f, tar]).status).toBe(0);
    expect(cli('mkerofs-ts', ['-q', '--tar', g, tar]).status).toBe(0);
    expect(readFileSync(f).equals(readFileSync(g))).toBe(true);
  });
});
