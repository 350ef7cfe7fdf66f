import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, linkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import type { DirInode } from '@fstools/fstree';
import {
  decompress,
  diffManifests,
  encodeHeader,
  endOfArchive,
  FsTree,
  InputError,
  makeDevice,
  makeDir,
  makeFile,
  makeSpecial,
  makeSymlink,
  manifest,
  padding,
  readTar,
  treeFromTar,
  treeToTar,
  utf8,
} from '@fstools/fstree';
import { hostTree } from '../../../test/helpers/host-xattrs.js';
import { hasCommand, oracle } from '../../../test/helpers/oracles.js';
import { chunks, collect } from '../../../test/helpers/streams.js';

const work = mkdtempSync(join(tmpdir(), 'fstree-tar-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function sampleTree(): FsTree {
  const t = new FsTree(makeDir({ mode: 0o755, mtime: 1_700_000_000_123_456_789n }));
  const long = 'd'.repeat(200);
  t.set(utf8(long), makeDir({ mode: 0o2775, uid: 1000, gid: 1000, mtime: -5_500_000_000n }));
  t.set(utf8(`${long}/${'n'.repeat(255)}`), makeFile(Buffer.from('two hundred and fifty five'), { mode: 0o4755 }));
  const shared = makeFile(Buffer.alloc(70_000, 7), { uid: 4_000_000_000, gid: 3_000_000_000, mtime: 1n });
  t.set(utf8('hard/a'), shared, () => ({}));
  t.set(utf8('hard/b'), shared);
  t.set(utf8('ünïcødé/日本語'), makeFile(Buffer.from('x')), () => ({ mode: 0o700 }));
  t.set(utf8('Case'), makeFile(Buffer.from('upper')));
  t.set(utf8('case'), makeFile(Buffer.from('lower')));
  t.set(utf8('link'), makeSymlink(utf8('x'.repeat(300))));
  t.set(utf8('null'), makeDevice('chr', 1, 3));
  t.set(utf8('big-dev'), makeDevice('blk', 4095, 1_048_575));
  t.set(utf8('fifo'), makeSpecial('fifo'));
  const caps = new Uint8Array([1, 0, 0, 2, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
  t.set(utf8('ping'), makeFile(Buffer.from('elf'), { xattrs: new Map([['security.capability', caps], ['user.bin', new Uint8Array([0, 255, 10, 61])]]) }));
  return t;
}

describe('tar codec', () => {
  it('round-trips every entry type, long names, big ids, ns and negative mtimes, binary xattrs, hardlinks', async () => {
    const tree = sampleTree();
    const tar = await collect(treeToTar(tree));
    const back = await treeFromTar(chunks(tar), 'sample.tar');
    expect(diffManifests(manifest(tree), manifest(back))).toEqual([]);
    expect(back.lookup(utf8('hard/a'))).toBe(back.lookup(utf8('hard/b')));
  });

  it('reads a source that reuses one buffer for every chunk (pieces last until the next read)', async () => {
    const tree = sampleTree();
    const tar = await collect(treeToTar(tree));
    // Every chunk lands in the same buffer, which is scribbled over before the next fill.
    async function* reused(size: number): AsyncGenerator<Buffer> {
      const buf = Buffer.alloc(size);
      for (let i = 0; i < tar.length; i += size) {
        buf.fill(0xee);
        const n = tar.copy(buf, 0, i, i + size);
        yield buf.subarray(0, n);
      }
    }
    for (const size of [1, 7, 511, 512, 513, 4096, 65_536]) {
      const back = await treeFromTar(reused(size), 'reused.tar');
      expect(diffManifests(manifest(tree), manifest(back)), `chunks of ${size}`).toEqual([]);
    }
  });

  it('is read by GNU tar and reads GNU tar archives (pax and gnu formats) with xattrs', async () => {
    if (!oracle('gnu-tar', hasCommand('tar') && hasCommand('setfattr'), 'tar/setfattr not installed')) return;
    const src = join(work, 'src');
    mkdirSync(join(src, 'deep/'.repeat(30)), { recursive: true });
    writeFileSync(join(src, 'deep/'.repeat(30), 'f'.repeat(200)), 'deep');
    writeFileSync(join(src, 'a'), 'hello');
    linkSync(join(src, 'a'), join(src, 'a-link'));
    symlinkSync('a', join(src, 'sym'));
    spawnSync('setfattr', ['-n', 'user.k', '-v', '0x00ff3d0a', join(src, 'a')]);
    const fromDir = hostTree(src);
    for (const format of ['pax', 'gnu']) {
      const file = join(work, `${format}.tar`);
      const xattrFlags = format === 'pax' ? ['--xattrs', '--xattrs-include=*'] : [];
      const r = spawnSync('tar', [...xattrFlags, `--format=${format}`, '-C', src, '-cf', file, '.']);
      expect(r.status, r.stderr.toString()).toBe(0);
      const fromTar = await treeFromTar(chunks(readFileSync(file), 4096), file);
      // GNU tar's gnu format keeps whole-second mtimes and no xattrs.
      const opts = format === 'gnu' ? { mtime: false, dropXattr: () => true } : {};
      expect(diffManifests(manifest(fromDir, opts), manifest(fromTar, opts))).toEqual([]);
    }
    const ours = join(work, 'ours.tar');
    writeFileSync(ours, await collect(treeToTar(fromDir)));
    const listed = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '-tvf', ours]);
    expect(listed.status, listed.stderr.toString()).toBe(0);
    const out = join(work, 'out');
    mkdirSync(out);
    const x = spawnSync('tar', ['--xattrs', '--xattrs-include=*', '-C', out, '-xf', ours]);
    expect(x.status, x.stderr.toString()).toBe(0);
    const extracted = hostTree(out);
    expect(diffManifests(manifest(fromDir), manifest(extracted))).toEqual([]);
  });

  it('rejects path traversal and links to missing targets', async () => {
    const member = (path: string, type: 'file' | 'hardlink' = 'file', linkname = ''): Buffer =>
      Buffer.concat([encodeHeader({ path: utf8(path), type, mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: 0, linkname: utf8(linkname), major: 0, minor: 0, xattrs: new Map() }), endOfArchive()]);
    await expect(treeFromTar(chunks(member('a/../../etc/passwd')), 'evil.tar')).rejects.toThrow("evil.tar: member a/../../etc/passwd: path contains '..'");
    await expect(treeFromTar(chunks(member('/../etc/passwd')), 'evil.tar')).rejects.toThrow("evil.tar: member /../etc/passwd: path contains '..'");
    await expect(treeFromTar(chunks(member('x', 'hardlink', 'nowhere')), 'l.tar')).rejects.toThrow('l.tar: member x: hard link to missing target nowhere');
  });

  it('reports a tar truncated mid-entry with the archive name', async () => {
    const tar = await collect(treeToTar(sampleTree()));
    const cut = tar.subarray(0, 512 * 40 + 100);
    const err = await treeFromTar(chunks(cut), 'cut.tar').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InputError);
    expect((err as Error).message).toMatch(/^cut\.tar: truncated tar: /);
  });

  it('rejects garbage that is not a tar', async () => {
    await expect(treeFromTar(chunks(Buffer.alloc(2048, 0x41)), 'junk.tar')).rejects.toThrow(/^junk\.tar: invalid tar header at byte 0/);
  });

  it('skips unread member data and reads pax size overrides', async () => {
    const data = Buffer.alloc(1000, 1);
    const tar = Buffer.concat([
      encodeHeader({ path: 'one', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: 1000, linkname: '', major: 0, minor: 0, xattrs: new Map() }),
      data,
      padding(1000),
      encodeHeader({ path: 'two', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: 3, linkname: '', major: 0, minor: 0, xattrs: new Map() }),
      Buffer.from('abc'),
      padding(3),
      endOfArchive(),
    ]);
    const seen: string[] = [];
    for await (const e of readTar(chunks(tar, 100), 't.tar')) {
      seen.push(e.path);
      if (e.path === 'two') expect((await collect(e.body)).toString()).toBe('abc');
    }
    expect(seen).toEqual(['one', 'two']);
  });
});

/** A header block with fields overwritten (raw bytes at their offsets) and its checksum redone. */
function patchedHeader(fields: Array<[number, number[] | string]>): Buffer {
  const block = encodeHeader({ path: 'f', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: 0, linkname: '', major: 0, minor: 0, xattrs: new Map() });
  for (const [off, bytes] of fields) (typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : Buffer.from(bytes)).copy(block, off);
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of block) sum += b;
  block.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return block;
}

/** GNU base-256: the high bit set, then the value big-endian in two's complement. */
function base256(value: bigint, len: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(8 * len, value);
  for (let i = 0; i < len; i++, v >>= 8n) out.unshift(Number(v & 0xffn));
  out[0]! |= 0x80;
  return out;
}

describe('tar header numbers', () => {
  it('reads GNU base-256 fields (large ids, a negative mtime) and octal padded with spaces or NULs', async () => {
    const block = patchedHeader([
      [100, '   644 \0'],
      [108, base256(5_000_000_000n, 8)],
      [116, '\x00\x00\x00\x0017\x00'],
      [124, base256(3n, 12)],
      [136, base256(-1000n, 12)],
    ]);
    const entries = [];
    for await (const e of readTar(chunks(Buffer.concat([block, Buffer.from('abc'), padding(3), endOfArchive()])), 'b.tar')) {
      entries.push({ mode: e.mode, uid: e.uid, gid: e.gid, size: e.size, mtime: e.mtime, data: (await collect(e.body)).toString() });
    }
    expect(entries).toEqual([{ mode: 0o644, uid: 5_000_000_000, gid: 0o17, size: 3, mtime: -1_000_000_000_000n, data: 'abc' }]);
  });

  it('refuses a base-256 value past 2^53 and a non-octal digit, naming the archive and the byte', async () => {
    const huge = patchedHeader([[124, base256(1n << 60n, 12)]]);
    await expect(treeFromTar(chunks(Buffer.concat([huge, endOfArchive()])), 'h.tar')).rejects.toThrow(new InputError('h.tar', 'invalid tar header at byte 0: base-256 numeric field out of range'));
    const bad = patchedHeader([[108, '00009\0\0\0']]);
    await expect(treeFromTar(chunks(Buffer.concat([bad, endOfArchive()])), 'd.tar')).rejects.toThrow(new InputError('d.tar', "invalid tar header at byte 0: bad numeric field '00009'"));
  });
});

describe('pax records', () => {
  /** A pax 'x' header carrying `records`, then a member "f" with 3 bytes of data. */
  function withPax(records: string): Buffer {
    const data = Buffer.from(records, 'latin1');
    const x = patchedHeader([[156, 'x'], [124, data.length.toString(8).padStart(11, '0') + '\x00']]);
    const member = patchedHeader([[124, '00000000003\x00']]);
    return Buffer.concat([x, data, padding(data.length), member, Buffer.from('abc'), padding(3), endOfArchive()]);
  }

  it('apply to the next member: path, ns mtime, xattrs with any bytes', async () => {
    // "<len> <key>=<value>\n", the length counting its own digits.
    const rec = (kv: string): string => {
      let len = kv.length + 3;
      while (`${len} ${kv}\n`.length !== len) len++;
      return `${len} ${kv}\n`;
    };
    const tree = await treeFromTar(chunks(withPax(rec('path=a/b/c') + rec('mtime=1700000000.123456789') + rec('SCHILY.xattr.user.k=v=\n'))), 'p.tar');
    const file = tree.lookup('a/b/c');
    expect(file?.type).toBe('file');
    expect(file?.mtime).toBe(1_700_000_000_123_456_789n);
    expect(Buffer.from(file!.xattrs.get('user.k')!).toString('latin1')).toBe('v=\n');
  });

  it('malformed ones are refused, naming the archive and the byte', async () => {
    for (const records of ['11 pathabc\n', '9 a=b\nxx', '6 abc\n7 x=y\n', 'x path=a\n']) {
      await expect(treeFromTar(chunks(withPax(records)), 'm.tar')).rejects.toThrow(new InputError('m.tar', 'invalid tar header at byte 0: malformed pax record at byte 0'));
    }
  });
});

describe('implied directories', () => {
  it('each gets its own xattr map', async () => {
    const tar = Buffer.concat([encodeHeader({ path: 'a/b/c', type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: 0, linkname: '', major: 0, minor: 0, xattrs: new Map() }), endOfArchive()]);
    const tree = await treeFromTar(chunks(tar), 't.tar', { impliedDir: { xattrs: new Map([['user.k', new Uint8Array([1])]]) } });
    const a = tree.lookup('a')!;
    const b = tree.lookup('a/b')!;
    expect(a.xattrs).not.toBe(b.xattrs);
    a.xattrs.delete('user.k');
    expect(b.xattrs.has('user.k')).toBe(true);
  });
  it('are reported until the archive lists them', async () => {
    const h = (path: string, type: 'file' | 'dir') => encodeHeader({ path, type, mode: 0o700, uid: 0, gid: 0, mtime: 5n, size: 0, linkname: '', major: 0, minor: 0, xattrs: new Map() });
    const tar = Buffer.concat([h('a/b/c', 'file'), h('a/', 'dir'), endOfArchive()]);
    const implied = new Set<DirInode>();
    const tree = await treeFromTar(chunks(tar), 't.tar', { impliedDirs: implied });
    expect([...implied]).toEqual(expect.arrayContaining([tree.root, tree.lookup('a/b')]));
    expect(implied.has(tree.lookup('a') as DirInode)).toBe(false);
    expect(implied.size).toBe(2);
  });
});

describe('decompression by magic', () => {
  it('a plain tar whose first member is named like a compressor signature stays plain', async () => {
    for (const name of ['BZh91AY&SY-not-bzip2', '\x1f\x8bnope', 'BZh']) {
      const tar = Buffer.concat([encodeHeader({ path: name, type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0n, size: 0, linkname: '', major: 0, minor: 0, xattrs: new Map() }), endOfArchive()]);
      expect(await collect(decompress(chunks(tar), 'p.tar'))).toEqual(tar);
    }
    if (!hasCommand('bzip2')) return;
    const bz = spawnSync('bzip2', ['-c'], { input: Buffer.from('data') }).stdout;
    await expect(collect(decompress(chunks(bz), 'x.bz2'))).rejects.toThrow('x.bz2: bzip2-compressed input is not supported');
  });

  const plain = Buffer.from('plain data '.repeat(10_000));
  it('passes plain data and inflates gzip and zstd', async () => {
    expect(await collect(decompress(chunks(plain), 'p'))).toEqual(plain);
    expect(await collect(decompress(chunks(gzipSync(plain)), 'g'))).toEqual(plain);
    if (!oracle('zstd', hasCommand('zstd'), 'zstd not installed')) return;
    const z = spawnSync('zstd', ['-c', '-q'], { input: plain }).stdout;
    expect(await collect(decompress(chunks(z, 100), 'z'))).toEqual(plain);
  });
  it('names corrupt or truncated compressed input', async () => {
    const gz = gzipSync(plain);
    await expect(collect(decompress(chunks(gz.subarray(0, gz.length / 2)), 'half.tar.gz'))).rejects.toThrow(/^half\.tar\.gz: corrupt gzip data/);
    const bad = Buffer.from(gz);
    bad.fill(0x55, 20, 60);
    await expect(collect(decompress(chunks(bad), 'bad.tar.gz'))).rejects.toThrow(/^bad\.tar\.gz: corrupt gzip data/);
    if (!hasCommand('zstd')) return;
    const z = spawnSync('zstd', ['-c', '-q'], { input: plain }).stdout;
    await expect(collect(decompress(chunks(z.subarray(0, z.length - 10)), 'cut.zst'))).rejects.toThrow(/^cut\.zst: corrupt zstd data/);
    await expect(collect(decompress(chunks(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0, 1, 2])), 'x.xz'))).rejects.toThrow('x.xz: xz-compressed input is not supported');
  });
});
