import { spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { endOfArchive } from '@fstools/fstree';
import { cli, expectCleanInterrupt, sparseFile, tarMember, zeroFileTar } from '../../../test/helpers/cli.js';
import { dumpe2fsHeader, hasE2fsprogs, run } from '../../../test/helpers/ext4-oracles.js';
import { oracle } from '../../../test/helpers/oracles.js';
import { expectClean, scratch } from './helpers.js';

const fsck = oracle('e2fsck', hasE2fsprogs, 'e2fsprogs not installed');
const tmp = scratch('cli');
afterAll(tmp.cleanup);

/** One line on stderr, naming the program. */
function expectOneLineError(r: { status: number | null; stderr: string; stdout: string }, status: number, pattern: RegExp): void {
  expect(r.status, r.stderr).toBe(status);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trimEnd().split('\n');
  expect(lines[0]).toMatch(/^mkext4-ts: /);
  expect(lines[0]).toMatch(pattern);
  if (status === 1) expect(lines.length).toBe(1);
}

/** Files left in a folder other than the expected ones (e.g. temporary images). */
function leftovers(dir: string, expected: string[] = []): string[] {
  return readdirSync(dir).filter((f) => !expected.includes(f));
}

function source(name: string, files: number, size: number): string {
  const dir = tmp.path(name);
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < files; i++) writeFileSync(`${dir}/f${i}`, Buffer.alloc(size, (i % 250) + 1));
  return dir;
}

describe('mkext4-ts', () => {
  it('makes an empty 16 GiB image in a fraction of a second, well under 1 MiB on disk', () => {
    const out = tmp.path('empty16');
    mkdirSync(out);
    const img = `${out}/img`;
    const r = cli('mkext4-ts', ['--json', img, '16G']);
    expect(r.status, r.stderr).toBe(0);
    const res = JSON.parse(r.stdout) as { seconds: number; bytes: number; blockSize: number; features: string[] };
    expect(res.bytes).toBe(16 * 2 ** 30);
    expect(res.seconds).toBeLessThan(0.5);
    const st = statSync(img);
    expect(st.size).toBe(16 * 2 ** 30);
    expect(st.blocks * 512).toBeLessThan(2 ** 20);
    expect(leftovers(out, ['img'])).toEqual([]);
    if (!fsck) return;
    expectClean(img);
    const features = dumpe2fsHeader(img).get('Filesystem features')!.split(' ');
    for (const f of ['has_journal', 'ext_attr', 'resize_inode', 'dir_index', 'filetype', 'extent', '64bit', 'flex_bg', 'sparse_super', 'large_file', 'huge_file', 'dir_nlink', 'extra_isize', 'metadata_csum', 'metadata_csum_seed']) {
      expect(features).toContain(f);
    }
  });

  it('follows mke2fs for SIZE: suffixes, KiB by default, blocks with -b, an existing file keeps its size', () => {
    const img = tmp.path('sizes.img');
    expect(cli('mkext4-ts', ['-q', img, '65536']).status).toBe(0);
    expect(statSync(img).size).toBe(64 * 2 ** 20);
    if (fsck) expectClean(img);
    expect(cli('mkext4-ts', ['-q', '-F', '-b', '2048', img, '65536']).status).toBe(0);
    expect(statSync(img).size).toBe(128 * 2 ** 20);
    if (fsck) expectClean(img);
    // -b takes a K suffix, as mke2fs's does.
    expect(cli('mkext4-ts', ['-q', '-F', '-b', '4k', img, '65536']).status).toBe(0);
    expect(statSync(img).size).toBe(256 * 2 ** 20);
    if (fsck) {
      expectClean(img);
      expect(dumpe2fsHeader(img).get('Block size')).toBe('4096');
    }
    truncateSync(img, 3 * 2 ** 30 + 5000);
    const r = cli('mkext4-ts', ['--json', img]);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(img).size).toBe(3 * 2 ** 30 + 5000);
    expect((JSON.parse(r.stdout) as { blocks: number }).blocks).toBe(3 * 2 ** 18);
    if (fsck) expectClean(img);
  });

  it('takes IMAGE and -d names that look like numbers as the names they are', () => {
    const cwd = tmp.path('numeric');
    mkdirSync(`${cwd}/1.0`, { recursive: true });
    writeFileSync(`${cwd}/1.0/a`, 'in 1.0');
    const r = cli('mkext4-ts', ['-q', '-d', '1.0', '1e3', '64M'], { cwd });
    expect(r.status, r.stderr).toBe(0);
    expect(readdirSync(cwd).sort()).toEqual(['1.0', '1e3']);
    if (!fsck) return;
    expectClean(`${cwd}/1e3`);
    expect(run('debugfs', ['-R', 'cat /a', `${cwd}/1e3`]).stdout).toBe('in 1.0');
  });

  it('-d may name a symlink to the directory, followed as mke2fs follows it', () => {
    const cwd = tmp.path('via-link');
    mkdirSync(`${cwd}/real`, { recursive: true });
    writeFileSync(`${cwd}/real/f`, 'data');
    symlinkSync('real', `${cwd}/current`);
    const r = cli('mkext4-ts', ['-q', '-d', `${cwd}/current`, `${cwd}/img`, '8M']);
    expect(r.status, r.stderr).toBe(0);
    if (!fsck) return;
    expectClean(`${cwd}/img`);
    expect(run('debugfs', ['-R', 'cat /f', `${cwd}/img`]).stdout).toBe('data');
  });

  it('refuses to grow an existing file without -F, and leaves it alone', () => {
    const img = tmp.path('grow.img');
    writeFileSync(img, 'precious');
    truncateSync(img, 2 ** 20);
    expectOneLineError(cli('mkext4-ts', [img, '2M']), 1, /-F/);
    expect(readFileSync(img).subarray(0, 8).toString()).toBe('precious');
    expect(statSync(img).size).toBe(2 ** 20);
    expect(cli('mkext4-ts', ['-q', '-F', img, '2M']).status).toBe(0);
    expect(statSync(img).size).toBe(2 * 2 ** 20);
    if (fsck) expectClean(img);
  });

  it('refuses an IMAGE that is a directory or a tar being read, and leaves it alone', () => {
    const dir = tmp.path('clash');
    mkdirSync(dir);
    const tar = `${dir}/layer.tar`;
    writeFileSync(tar, Buffer.alloc(10240));
    expectOneLineError(cli('mkext4-ts', ['-d', tar, tar]), 1, new RegExp(`${tar}: is an input too \\(-d\\): the output would replace it$`));
    expectOneLineError(cli('mkext4-ts', ['--overlay-upper', '--patch', tar, tar]), 1, new RegExp(`${tar}: is an input too \\(--patch\\)`));
    expectOneLineError(cli('mkext4-ts', [dir, '64M']), 1, new RegExp(`${dir}: is a directory$`));
    expect(readFileSync(tar)).toEqual(Buffer.alloc(10240));
    expect(readdirSync(dir)).toEqual(['layer.tar']);
  });

  it('bad input: one-line errors, exit 1, no image left behind', () => {
    const dir = tmp.path('bad');
    mkdirSync(dir);
    const img = `${dir}/x.img`;
    expectOneLineError(cli('mkext4-ts', [img, '12Q']), 1, /SIZE: '12Q' is not a size/);
    expectOneLineError(cli('mkext4-ts', [img, '0']), 1, /SIZE: '0' is not a size/);
    expectOneLineError(cli('mkext4-ts', [img]), 1, /does not exist and no SIZE/);
    expectOneLineError(cli('mkext4-ts', [`${dir}/missing/x.img`, '1G']), 1, /missing\/x\.img: cannot create: no such file or directory/);
    expectOneLineError(cli('mkext4-ts', ['-O', 'metadata_csum_seed,^metadata_csum', img, '1G']), 1, /contradictory features/);
    expectOneLineError(cli('mkext4-ts', ['-O', '64bit,^extent', img, '1G']), 1, /contradictory features: 64bit requires extent/);
    expectOneLineError(cli('mkext4-ts', ['-O', 'resize_inode', '-O', '^sparse_super', img, '1G']), 1, /contradictory/);
    expectOneLineError(cli('mkext4-ts', ['-J', 'size=64', '-O', '^has_journal', img, '1G']), 1, /contradictory/);
    expectOneLineError(cli('mkext4-ts', ['-O', 'frobnicate', img, '1G']), 1, /unknown filesystem feature 'frobnicate'/);
    expectOneLineError(cli('mkext4-ts', ['-O', 'inline_data', img, '1G']), 1, /not supported/);
    expectOneLineError(cli('mkext4-ts', ['-b', '8192', img, '1G']), 1, /invalid block size/);
    expectOneLineError(cli('mkext4-ts', ['-I', '100', img, '1G']), 1, /invalid inode size/);
    expectOneLineError(cli('mkext4-ts', ['-N', 'many', img, '1G']), 1, /-N: 'many' is not a whole number$/);
    expectOneLineError(cli('mkext4-ts', ['-b', '4kb', img, '1G']), 1, /-b: '4kb' is not a size \(a positive number with an optional K, M, G, T, P or s suffix\)$/);
    expectOneLineError(cli('mkext4-ts', ['-m', '60', img, '1G']), 1, /reserved blocks percent/);
    expectOneLineError(cli('mkext4-ts', ['-m', 'lots', img, '1G']), 1, /-m: 'lots' is not a percentage$/);
    expectOneLineError(cli('mkext4-ts', ['-L', 'a-label-longer-than-16', img, '1G']), 1, /longer than 16 bytes/);
    expectOneLineError(cli('mkext4-ts', ['-U', 'not-a-uuid', img, '1G']), 1, /not a UUID/);
    expectOneLineError(cli('mkext4-ts', ['-E', 'bogus=1', img, '1G']), 1, /unknown extended option/);
    expectOneLineError(cli('mkext4-ts', ['-T', 'nonsense', img, '1G']), 1, /usage type/);
    expectOneLineError(cli('mkext4-ts', ['-T', '', img, '1G']), 1, /usage type/);
    expectOneLineError(cli('mkext4-ts', ['-i', 'lots', img, '1G']), 1, /-i: 'lots' is not a size/);
    expectOneLineError(cli('mkext4-ts', ['-d', `${dir}/nothing-here`, img, '1G']), 1, /nothing-here: cannot open/);
    expectOneLineError(cli('mkext4-ts', [img, '1G'], { env: { SOURCE_DATE_EPOCH: 'soon' } }), 1, /SOURCE_DATE_EPOCH: 'soon' is not a whole number of seconds/);
    expectOneLineError(cli('mkext4-ts', ['--patch', '/dev/null', img, '1G']), 1, /--patch needs --overlay-upper/);
    expect(leftovers(dir)).toEqual([]);
  });

  it('an entry ext4 cannot hold names the archive and the member (-d TAR), or its path in the image', () => {
    const dir = tmp.path('entries');
    mkdirSync(dir);
    const img = `${dir}/x.img`;
    const tarOf = (name: string, ...members: Buffer[]): string => {
      const tar = `${dir}/${name}.tar`;
      writeFileSync(tar, Buffer.concat([...members, endOfArchive()]));
      return tar;
    };
    const odd = tarOf('xattr', tarMember('d/odd', { xattrs: new Map([['system.nfs4_acl', new Uint8Array(4)]]) }));
    expectOneLineError(cli('mkext4-ts', ['-d', odd, img, '16M']), 1, new RegExp(`^mkext4-ts: ${odd}: member d/odd: xattr system\\.nfs4_acl: ext4 stores only user\\., trusted\\., security\\. and system\\.posix_acl_\\* attributes$`));
    const long = tarOf('link', tarMember('long-link', { type: 'symlink', linkname: 't'.repeat(5000) }));
    expectOneLineError(cli('mkext4-ts', ['-b', '4096', '-d', long, img, '16M']), 1, new RegExp(`^mkext4-ts: ${long}: member long-link: symlink target of 5000 bytes \\(at most 4095\\)$`));
    // As an overlayfs upper, the content lives under /upper: the path in the image names it.
    expectOneLineError(cli('mkext4-ts', ['-b', '4096', '--overlay-upper', '-d', long, img, '16M']), 1, /^mkext4-ts: upper\/long-link: symlink target of 5000 bytes \(at most 4095\)$/);
    expect(leftovers(dir, ['xattr.tar', 'link.tar'])).toEqual([]);
  });

  it('usage errors exit 2', () => {
    expectOneLineError(cli('mkext4-ts', []), 2, /arguments/);
    expectOneLineError(cli('mkext4-ts', ['--frob', 'x.img', '1G']), 2, /Unknown argument/);
    expectOneLineError(cli('mkext4-ts', ['x.img', '1G', 'extra']), 2, /Unknown argument|arguments/);
  });

  it('states the minimum size when the content does not fit, and that size works', () => {
    const src = source('fill', 40, 100_000);
    const dir = tmp.path('small');
    mkdirSync(dir);
    const img = `${dir}/x.img`;
    const r = cli('mkext4-ts', ['-d', src, img, '2M']);
    expectOneLineError(r, 1, /too small for this content: the minimum size is \d+K/);
    expect(leftovers(dir)).toEqual([]);
    const min = Number(/minimum size is (\d+)K/.exec(r.stderr)![1]);
    expectOneLineError(cli('mkext4-ts', ['-d', src, img, `${min - 1}K`]), 1, new RegExp(`minimum size is ${min}K`));
    const ok = cli('mkext4-ts', ['-q', '-d', src, img, `${min}K`]);
    expect(ok.status, ok.stderr).toBe(0);
    if (fsck) expectClean(img);
  });

  it('Ctrl-C or kill mid-write removes the temporary image and the command dies of the signal (-d DIR and -d TAR)', async () => {
    const dir = tmp.path('interrupted-src');
    mkdirSync(dir);
    sparseFile(join(dir, 'zeros'), 2 ** 40); // reading it all would take an hour
    const tar = tmp.path('interrupted.tar');
    zeroFileTar(tar, 'zeros', 2 ** 31);
    for (const [signal, source] of [['SIGINT', dir], ['SIGTERM', tar]] as const) {
      const out = tmp.path(`interrupted-${signal}`);
      mkdirSync(out);
      await expectCleanInterrupt('mkext4-ts', ['-q', '-d', source, join(out, 'x.img'), '8G'], out, signal);
    }
  });

  it('fails cleanly when a source file changes during the run', async () => {
    const src = source('changing', 1, 0);
    writeFileSync(`${src}/big`, Buffer.alloc(256 << 20, 7));
    const dir = tmp.path('changing-out');
    mkdirSync(dir);
    const script = fileURLToPath(new URL('../../../packages/ext4-writer/bin/mkext4-ts.cjs', import.meta.url));
    const child = spawn(process.execPath, [script, '-d', src, `${dir}/x.img`, '2G'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    let running = true;
    const done = new Promise<number | null>((resolve) => child.on('exit', (code) => ((running = false), resolve(code))));
    while (running) {
      appendFileSync(`${src}/big`, 'x');
      await new Promise((r) => setTimeout(r, 2));
    }
    expect(await done).toBe(1);
    expect(stderr).toMatch(/^mkext4-ts: .*big: changed while being read/);
    expect(leftovers(dir)).toEqual([]);
  });

  it('-q is quiet, --json describes the image, --version and --help work', () => {
    const img = tmp.path('quiet.img');
    const q = cli('mkext4-ts', ['-q', img, '64M']);
    expect(q).toMatchObject({ status: 0, stdout: '', stderr: '' });
    if (fsck) expectClean(img);
    const j = cli('mkext4-ts', ['--json', '-F', '-L', 'upper', '-U', '0b0e5d5c-8a4f-4b7e-9c1d-2e3f4a5b6c7d', img, '64M']);
    const res = JSON.parse(j.stdout) as Record<string, unknown>;
    expect(res).toMatchObject({ path: img, bytes: 64 * 2 ** 20, blockSize: 1024, uuid: '0b0e5d5c-8a4f-4b7e-9c1d-2e3f4a5b6c7d' });
    for (const k of ['blocks', 'freeBlocks', 'inodes', 'freeInodes', 'groups', 'journalBlocks', 'features', 'seconds', 'bytesWritten']) expect(res).toHaveProperty(k);
    if (fsck) {
      expectClean(img);
      const h = dumpe2fsHeader(img);
      expect(h.get('Filesystem volume name')).toBe('upper');
      expect(h.get('Filesystem UUID')).toBe('0b0e5d5c-8a4f-4b7e-9c1d-2e3f4a5b6c7d');
    }
    expect(cli('mkext4-ts', ['--version']).stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    const help = cli('mkext4-ts', ['--help']);
    expect(help.status).toBe(0);
    expect(help.stdout).toMatch(/mkext4-ts \[options\] IMAGE \[SIZE\]/);
  });

  it('is reproducible: the same input and SOURCE_DATE_EPOCH give the same bytes; the UUID follows the content', () => {
    const src = source('repro', 30, 5000);
    const a = tmp.path('repro-a.img');
    const b = tmp.path('repro-b.img');
    const env = { SOURCE_DATE_EPOCH: '1700000000' };
    expect(cli('mkext4-ts', ['-q', '-d', src, a, '64M'], { env }).status).toBe(0);
    expect(cli('mkext4-ts', ['-q', '-d', src, b, '64M'], { env }).status).toBe(0);
    expect(readFileSync(a).equals(readFileSync(b))).toBe(true);
    if (fsck) expectClean(a);
    const uuid = (img: string): string => (JSON.parse(cli('mkext4-ts', ['--json', '-F', '-d', src, img, '64M'], { env }).stdout) as { uuid: string }).uuid;
    const before = uuid(a);
    writeFileSync(`${src}/f3`, 'changed');
    expect(uuid(a)).not.toBe(before);
    expect(existsSync(a)).toBe(true);
    if (fsck) expectClean(a);
  });

  it('-E root_owner sets the owner of /', () => {
    if (!fsck) return;
    const img = tmp.path('owner.img');
    expect(cli('mkext4-ts', ['-q', '-E', 'root_owner=1234:5678', img, '64M']).status).toBe(0);
    expectClean(img);
    expect(run('debugfs', ['-R', 'stat /', img]).stdout).toMatch(/User:\s+1234\s+Group:\s+5678\b/);
  });
});
