import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { endOfArchive } from '@fstools/fstree';
import { cli, cliOnTerminal, expectCleanInterrupt, tarMember, zeroFileTar } from './helpers/cli.js';
import { isRoot, oracle } from './helpers/oracles.js';
import { scratchDir } from './helpers/erofs-oracles.js';

const dir = scratchDir('erofs-bad');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs mkerofs-ts expecting failure: one stderr line matching `message`, the exit code, and nothing left in the output folder. */
function fails(args: string[], code: number, message: RegExp, opts: { input?: Buffer; outDir?: string; env?: Record<string, string> } = {}): void {
  const outDir = opts.outDir ?? join(dir, `out-${Math.random().toString(36).slice(2)}`);
  mkdirSync(outDir, { recursive: true });
  const before = readdirSync(outDir);
  const r = cli('mkerofs-ts', args.map((a) => a.replace('@OUT', join(outDir, 'image.erofs'))), { input: opts.input, env: opts.env });
  expect(r.status, r.stderr).toBe(code);
  const lines = r.stderr.trim().split('\n');
  expect(lines[0]).toMatch(message);
  if (code === 1) expect(lines.length).toBe(1);
  expect(readdirSync(outDir)).toEqual(before);
}

describe('mkerofs-ts bad input', () => {
  const tarOf = (...parts: Buffer[]): string => {
    const p = join(dir, `t${Math.random().toString(36).slice(2)}.tar`);
    writeFileSync(p, Buffer.concat(parts));
    return p;
  };

  it('a missing source directory or one that is a file', () => {
    fails(['@OUT', join(dir, 'nowhere')], 1, new RegExp(`^mkerofs-ts: ${dir}/nowhere: cannot stat: no such file or directory \\(ENOENT\\)$`));
    const file = join(dir, 'plain-file');
    writeFileSync(file, 'x');
    fails(['@OUT', file], 1, new RegExp(`^mkerofs-ts: ${file}: not a directory$`));
  });

  it('an unreadable directory inside the source (as an unprivileged user)', () => {
    if (!oracle('setpriv', isRoot && spawnSync('setpriv', ['--version']).status === 0, 'needs root to drop to nobody')) return;
    const src = join(dir, 'locked-src');
    mkdirSync(join(src, 'locked'), { recursive: true });
    chmodSync(src, 0o755);
    chmodSync(join(src, 'locked'), 0o000);
    const outDir = join(dir, 'locked-out');
    mkdirSync(outDir, { mode: 0o777 });
    chmodSync(outDir, 0o777);
    chmodSync(dir, 0o755);
    const r = spawnSync('setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', process.execPath, 'packages/erofs-writer/bin/mkerofs-ts.cjs', join(outDir, 'x.erofs'), src], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`mkerofs-ts: ${src}/locked: cannot read directory: permission denied (EACCES)`);
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('a tar truncated mid-entry', () => {
    const whole = Buffer.concat([tarMember('a', { data: Buffer.alloc(5000, 1) }), tarMember('b', { data: Buffer.alloc(5000, 2) }), endOfArchive()]);
    const tar = tarOf(whole.subarray(0, 512 + 5120 + 512 + 3000));
    fails(['--tar', '@OUT', tar], 1, new RegExp(`^mkerofs-ts: ${tar}: truncated tar: data of b \\(member at byte 5632\\) is cut short$`));
  });

  it('corrupt gzip, from a file and from stdin', () => {
    const gz = gzipSync(Buffer.concat([tarMember('a', { data: Buffer.alloc(100_000, 7) }), endOfArchive()]));
    gz.fill(0x42, 30, 80);
    const tar = tarOf(gz);
    fails(['--tar', '@OUT', tar], 1, new RegExp(`^mkerofs-ts: ${tar}: corrupt gzip data: `));
    fails(['--tar', '@OUT', '-'], 1, /^mkerofs-ts: <stdin>: corrupt gzip data: /, { input: gz });
  });

  it("'..' (absolute names too), and hard links to nothing", () => {
    const up = tarOf(tarMember('ok'), tarMember('a/../../etc/shadow'), endOfArchive());
    fails(['--tar', '@OUT', up], 1, new RegExp(`^mkerofs-ts: ${up}: member a/\\.\\./\\.\\./etc/shadow: path contains '\\.\\.'$`));
    const abs = tarOf(tarMember('/etc/../../passwd'), endOfArchive());
    fails(['--tar', '@OUT', abs], 1, new RegExp(`^mkerofs-ts: ${abs}: member /etc/\\.\\./\\.\\./passwd: path contains '\\.\\.'$`));
    const link = tarOf(tarMember('x', { type: 'hardlink', linkname: 'missing' }), endOfArchive());
    fails(['--tar', '@OUT', link], 1, new RegExp(`^mkerofs-ts: ${link}: member x: hard link to missing target missing$`));
  });

  it('an entry EROFS cannot store names the archive and the member', () => {
    const xattrs = new Map([['system.nfs4_acl', new Uint8Array(4)]]);
    // A file with data (checked as its blocks are written) and an empty one (checked at layout).
    for (const [name, data] of [['with-data', Buffer.alloc(5000, 1)], ['empty', Buffer.alloc(0)]] as const) {
      const tar = tarOf(tarMember('ok'), tarMember(`d/${name}`, { data, xattrs }), endOfArchive());
      fails(['--tar', '@OUT', tar], 1, new RegExp(`^mkerofs-ts: ${tar}: member d/${name}: xattr system\\.nfs4_acl: EROFS stores only user\\., trusted\\., security\\. and POSIX ACL xattrs$`));
    }
    const tar = tarOf(tarMember('long-link', { type: 'symlink', linkname: 't'.repeat(5000) }), endOfArchive());
    fails(['--tar', '@OUT', tar], 1, new RegExp(`^mkerofs-ts: ${tar}: member long-link: symlink target of 5000 bytes is longer than 4095$`));
  });

  it('stdin that is a terminal is refused, not waited on (as tar refuses it)', () => {
    const outDir = join(dir, 'tty');
    mkdirSync(outDir, { recursive: true });
    const r = cliOnTerminal('mkerofs-ts', ['--tar', join(outDir, 'x.erofs'), '-'], { input: '' });
    expect(r.stdout.replace(/\r/g, '')).toBe('mkerofs-ts: <stdin>: is a terminal: pipe a tar archive in, or name one\n');
    expect(readdirSync(outDir)).toEqual([]);
  });

  it('not a tar at all, and a missing tar', () => {
    const junk = tarOf(Buffer.alloc(4096, 0x61));
    fails(['--tar', '@OUT', junk], 1, new RegExp(`^mkerofs-ts: ${junk}: invalid tar header at byte 0: bad header checksum`));
    fails(['--tar', '@OUT', join(dir, 'missing.tar')], 1, /missing\.tar: cannot open: no such file or directory \(ENOENT\)$/);
  });

  it('an output that is a directory, a device or the tar being read', () => {
    const outDir = join(dir, 'clash');
    mkdirSync(join(outDir, 'sub'), { recursive: true });
    const tar = join(outDir, 'in.tar');
    const bytes = Buffer.concat([tarMember('a'), endOfArchive()]);
    writeFileSync(tar, bytes);
    fails(['--tar', tar, tar], 1, new RegExp(`^mkerofs-ts: ${tar}: is an input too \\(SOURCE\\): the output would replace it$`), { outDir });
    fails([join(outDir, 'sub'), join(outDir, 'sub')], 1, new RegExp(`^mkerofs-ts: ${outDir}/sub: is a directory$`), { outDir });
    fails(['/dev/null', join(outDir, 'sub')], 1, /^mkerofs-ts: \/dev\/null: is not a regular file/, { outDir });
    expect(readFileSync(tar)).toEqual(bytes);
  });

  it('an output in a missing folder', () => {
    const src = join(dir, 'src-ok');
    mkdirSync(src, { recursive: true });
    const out = join(dir, 'no', 'such', 'dir', 'x.erofs');
    const r = cli('mkerofs-ts', [out, src]);
    expect(r.status).toBe(1);
    expect(r.stderr.trim()).toBe(`mkerofs-ts: ${out}: cannot create: no such file or directory (ENOENT)`);
    expect(existsSync(join(dir, 'no'))).toBe(false);
  });

  it('a failed run leaves an existing image untouched', () => {
    const outDir = join(dir, 'keep');
    mkdirSync(outDir);
    const target = join(outDir, 'image.erofs');
    writeFileSync(target, 'previous image');
    fails(['--tar', target, tarOf(tarMember('../up'), endOfArchive())], 1, /path contains '\.\.'$/, { outDir });
    expect(readFileSync(target, 'utf8')).toBe('previous image');
  });

  it('usage errors exit 2', () => {
    fails(['@OUT'], 2, /^mkerofs-ts: Not enough non-option arguments/);
    fails(['-b', '3000', '@OUT', dir], 2, /^mkerofs-ts: -b: block size 3000 is not 512, 1024, 2048 or 4096$/);
    fails(['-b', 'big', '@OUT', dir], 2, /^mkerofs-ts: -b: 'big' is not a whole number$/);
    fails(['--force-uid', 'alice', '@OUT', dir], 2, /^mkerofs-ts: --force-uid: 'alice' is not a whole number from 0 to 4294967295$/);
    fails(['--gid-offset', '4294967296', '@OUT', dir], 2, /^mkerofs-ts: --gid-offset: '4294967296' is not a whole number from 0 to 4294967295$/);
    fails(['-E', 'bogus', '@OUT', dir], 2, /^mkerofs-ts: -E: unknown extended option 'bogus'/);
    fails(['--chunksize', '3K', '@OUT', dir], 2, /^mkerofs-ts: --chunksize: 3072 is not a power of two/);
    fails(['-U', 'not-a-uuid', '@OUT', dir], 2, /^mkerofs-ts: -U: 'not-a-uuid' is not a UUID$/);
    fails(['-T', 'yesterday', '@OUT', dir], 2, /^mkerofs-ts: -T: 'yesterday' is not a whole number of seconds$/);
    fails(['@OUT', dir], 2, /^mkerofs-ts: SOURCE_DATE_EPOCH: 'soon' is not a whole number of seconds$/, { env: { SOURCE_DATE_EPOCH: 'soon' } });
    fails(['--chunksize', 'lots', '@OUT', dir], 2, /^mkerofs-ts: --chunksize: 'lots' is not a size/);
    fails(['--no-such-flag', '@OUT', dir], 2, /^mkerofs-ts: Unknown argument/);
  });
});

describe('a source that changes during the run', () => {
  it('files vanishing or shrinking after the scan: one error naming the file, no image, no crash', async () => {
    const { writeErofs } = await import('@fstools/erofs-writer');
    const { treeFromDirectory } = await import('@fstools/fstree');
    const src = join(dir, 'changing');
    mkdirSync(src);
    for (let i = 0; i < 30; i++) writeFileSync(join(src, `f${String(i).padStart(2, '0')}`), Buffer.alloc(5000 + i, i));
    const outDir = join(dir, 'changing-out');
    mkdirSync(outDir);
    const tree = treeFromDirectory(src);
    for (const n of ['f10', 'f11', 'f12']) rmSync(join(src, n));
    await expect(writeErofs(tree, join(outDir, 'x.erofs'))).rejects.toThrow(`${src}/f10: cannot open: no such file or directory (ENOENT)`);
    const tree2 = treeFromDirectory(src);
    writeFileSync(join(src, 'f20'), 'short now');
    await expect(writeErofs(tree2, join(outDir, 'y.erofs'))).rejects.toThrow(`${src}/f20: changed while being read`);
    await new Promise((r) => setTimeout(r, 100)); // reads still in flight settle without an unhandled rejection
    expect(readdirSync(outDir)).toEqual([]);
  });
});

describe('an interrupted run', () => {
  it('Ctrl-C or kill removes the temporary image and the command dies of the signal', async () => {
    const tar = join(dir, 'zeros.tar');
    zeroFileTar(tar, 'zeros', 2 ** 31);
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      const out = join(dir, `interrupted-${signal}`);
      mkdirSync(out);
      await expectCleanInterrupt('mkerofs-ts', ['--tar', join(out, 'image.erofs'), tar], out, signal);
    }
  });
});
