import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { byteString, diffManifests, FsTree, makeDevice, makeDir, makeFile, makeSpecial, makeSymlink, manifest, treeFromDirectory, utf8 } from '@fstools/fstree';
import { cpioChunks, writeCpio } from '@fstools/boot';
import { hasCommand, isRoot, oracle } from '../../../test/helpers/oracles.js';

const work = mkdtempSync(join(tmpdir(), 'boot-cpio-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const haveCpio = oracle('GNU cpio', hasCommand('cpio'), 'apt-get install cpio');

const sec = (s: number): bigint => BigInt(s) * 1_000_000_000n;

/** Every entry type, data sizes around the 4-byte padding, a hardlink pair, odd names. */
function sampleTree(): FsTree {
  const t = new FsTree(makeDir({ mtime: sec(1_700_000_000) }));
  const implied = () => ({ mode: 0o755, mtime: sec(1_700_000_001) });
  for (const n of [0, 1, 2, 3, 4, 5, 4099]) t.set(utf8(`data/size-${n}`), makeFile(Buffer.alloc(n, 0x41 + n), { mtime: sec(1_600_000_000 + n) }), implied);
  const shared = makeFile(Buffer.from('two names\n'), { mode: 0o600, uid: 1000, gid: 100, mtime: sec(1_650_000_000) });
  t.set(utf8('links/one'), shared, implied);
  t.set(utf8('links/two'), shared, implied);
  t.set(utf8('bin/sh'), makeSymlink(utf8('busybox'), { mtime: sec(1_600_000_000) }), implied);
  t.set(utf8('dev/console'), makeDevice('chr', 5, 1, { mode: 0o600, mtime: sec(1_600_000_000) }), implied);
  t.set(utf8('dev/vda'), makeDevice('blk', 254, 0, { mode: 0o660, gid: 6, mtime: sec(1_600_000_000) }), implied);
  t.set(utf8('run/fifo'), makeSpecial('fifo', { mode: 0o644, mtime: sec(1_600_000_000) }), implied);
  t.set(utf8('tmp'), makeDir({ mode: 0o1777, mtime: sec(1_600_000_000) }));
  t.set(byteString(Buffer.from('names/caf\xe9 \xff', 'latin1')), makeFile(Buffer.from('latin1'), { mtime: sec(1_600_000_000) }), implied);
  t.set(utf8('init'), makeFile(Buffer.from('#!/bin/sh\n'), { mode: 0o755, mtime: sec(1_600_000_000) }));
  return t;
}

describe('cpio newc writer', () => {
  it('writes aligned 070701 headers, data padded to 4 bytes, and a trailer; same tree, same bytes', () => {
    const bytes = Buffer.concat([...cpioChunks(sampleTree())]);
    expect(Buffer.concat([...cpioChunks(sampleTree())]).equals(bytes)).toBe(true);
    let pos = 0;
    const names: string[] = [];
    for (;;) {
      expect(pos % 4).toBe(0);
      expect(bytes.toString('latin1', pos, pos + 6)).toBe('070701');
      const field = (i: number): number => parseInt(bytes.toString('latin1', pos + 6 + i * 8, pos + 14 + i * 8), 16);
      const namesize = field(11);
      const filesize = field(6);
      const name = bytes.toString('latin1', pos + 110, pos + 110 + namesize - 1);
      expect(bytes[pos + 110 + namesize - 1]).toBe(0);
      names.push(name);
      pos = (pos + 110 + namesize + 3) & ~3;
      pos = (pos + filesize + 3) & ~3;
      if (name === 'TRAILER!!!') break;
    }
    expect(pos).toBe(bytes.length);
    expect(names[0]).not.toBe('.');
    expect(names.indexOf('data')).toBeLessThan(names.indexOf('data/size-0'));
  });

  it.runIf(haveCpio)('GNU cpio lists every entry with its type, mode, owner and link count', () => {
    const archive = join(work, 'list.cpio');
    writeCpio(sampleTree(), archive);
    const r = spawnSync('cpio', ['-itvn', '--quiet', '-F', archive], { encoding: 'latin1' });
    expect(r.status).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines).toHaveLength([...sampleTree().walk()].length - 1);
    const line = (name: string): string => lines.find((l) => l.endsWith(` ${name}`) || l.includes(` ${name} ->`))!;
    expect(line('dev/console')).toMatch(/^crw------- +1 0 +0 +5, +1 /);
    expect(line('dev/vda')).toMatch(/^brw-rw---- +1 0 +6 +254, +0 /);
    expect(line('run/fifo')).toMatch(/^prw-r--r-- /);
    expect(line('tmp')).toMatch(/^drwxrwxrwt /);
    expect(line('bin/sh')).toMatch(/^lrwxrwxrwx .* bin\/sh -> busybox$/);
    expect(line('links/one')).toMatch(/^-rw------- +2 1000 +100 /);
  });

  it.runIf(haveCpio && oracle('root', isRoot, 'device nodes extract only as root'))('extracts with GNU cpio to the same tree (mtimes in seconds, hardlinks kept)', () => {
    const archive = join(work, 'x.cpio');
    const tree = sampleTree();
    writeCpio(tree, archive);
    const out = join(work, 'x');
    mkdirSync(out);
    const r = spawnSync('cpio', ['-idmu', '--quiet', '--no-absolute-filenames', '-F', archive], { cwd: out, encoding: 'utf8' });
    expect(r.stderr).toBe('');
    const want = manifest(tree, { root: false });
    const got = manifest(treeFromDirectory(out, { xattrs: false }), { root: false }); // newc has no xattrs
    // cpio restores file mtimes but not those of directories it later fills, nor symlink mtimes.
    const strip = (m: typeof want) => m.map((e) => (e.type === 'dir' || e.type === 'symlink' ? { ...e, mtime: undefined } : e));
    expect(diffManifests(strip(want), strip(got))).toEqual([]);
    expect(readFileSync(join(out, 'data/size-4099')).equals(Buffer.alloc(4099, 0x41 + 4099 % 256))).toBe(true);
  });
});
