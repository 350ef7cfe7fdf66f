import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErofsErrorCode } from '../src/index.js';
import { EROFS_SUPER_OFFSET, ErofsError, ErofsImage, fsck, superblockChecksum } from '../src/index.js';
import { oracle } from '../../../test/helpers/oracles.js';
import { fsckOracle, has18, makeSourceTree, mkfs, scratch } from './helpers.js';

const run18 = oracle('mkfs.erofs 1.8', has18, 'needs root and the trixie chroot');

describe.runIf(run18)('fsck finds corruption', () => {
  let dir: ReturnType<typeof scratch>;
  let base: string;
  let filtered: string;

  beforeAll(() => {
    dir = scratch();
    const src = join(dir.host, 'src');
    makeSourceTree(src, { bigDir: 20, sizes: [5000] });
    base = join(dir.host, 'base.erofs');
    mkfs('1.8', base, src, ['-Enoinline_data']);
    filtered = join(dir.host, 'filtered.erofs');
    mkfs('1.8', filtered, src, ['-Exattr-name-filter']);
  });
  afterAll(() => dir?.cleanup());

  // fsck.erofs 1.8.6 agrees on checksums, dirent order, "." and cycles; it does not check i_format
  // spare bits, dirent file types, block ranges of flat files, shared xattr ids, the bloom filter or
  // link counts, so those cases have no oracle verdict.

  /** Copies an image, edits it (locating structures with the reader), fixes the checksum, runs fsck. */
  function corrupt(name: string, edit: (b: Buffer, img: ErofsImage) => void, from = base, fixChecksum = true) {
    const img = ErofsImage.open(from);
    const b = readFileSync(from);
    try {
      edit(b, img);
    } finally {
      img.close();
    }
    if (fixChecksum) b.writeUInt32LE(superblockChecksum(b.subarray(EROFS_SUPER_OFFSET, 4096)), EROFS_SUPER_OFFSET + 4);
    const path = join(dir.host, `${name}.erofs`);
    writeFileSync(path, b);
    const errors = fsck(path).errors;
    return { path, errors, codes: new Set<ErofsErrorCode>(errors.map((e) => e.code)) };
  }

  /** Byte offset of a dirent (by name) in a directory that fits one block (plain or tail-packed). */
  function direntAt(img: ErofsImage, dirPath: string, name: string): number {
    const nid = img.lookup(dirPath);
    const i = img.dirents(nid).findIndex((d) => d.name === name);
    const [ext, more] = img.fileExtents(nid);
    if (!ext || more || (ext.kind !== 'data' && ext.kind !== 'inline') || i < 0) throw new Error('test setup: unexpected directory layout');
    return ext.physical + i * 12;
  }

  it('accepts the untouched images', () => {
    expect(fsck(base).errors).toEqual([]);
    expect(fsck(filtered).errors).toEqual([]);
  });

  it('superblock checksum', () => {
    const r = corrupt('csum', (b) => (b[EROFS_SUPER_OFFSET + 4]! ^= 1), base, false);
    expect([...r.codes]).toEqual(['BAD_CHECKSUM']);
    expect(fsckOracle('1.8', r.path).ok).toBe(false);
    expect(() => ErofsImage.open(r.path)).toThrow(expect.objectContaining({ code: 'BAD_CHECKSUM' }));
  });

  it('i_format with unknown bits', () => {
    const r = corrupt('iformat', (b, img) => b.writeUInt16LE(b.readUInt16LE(img.iloc(img.lookup('small.txt'))) | 0x40, img.iloc(img.lookup('small.txt'))));
    expect(r.codes).toContain('BAD_INODE');
    expect(r.errors.find((e) => e.code === 'BAD_INODE')!.where.path).toBe('small.txt');
    // fsck.erofs 1.8 does not check i_format's spare bits; the kernel refuses such inodes.
  });

  it('dirent file type that does not match the inode', () => {
    const r = corrupt('ftype', (b, img) => (b[direntAt(img, '/', 'small.txt') + 10] = 2));
    expect([...r.codes]).toEqual(['FILE_TYPE_MISMATCH']);
  });

  it('names out of byte order', () => {
    const r = corrupt('order', (b, img) => {
      // Swap the nids and names of two same-length neighbours: "chr" and "blk".
      const a = direntAt(img, '/', 'blk');
      const c = direntAt(img, '/', 'chr');
      const nameA = b.readUInt16LE(a + 8);
      const nameC = b.readUInt16LE(c + 8);
      const dirStart = direntAt(img, '/', '.');
      const ta = Buffer.from(b.subarray(dirStart + nameA, dirStart + nameA + 3));
      b.subarray(dirStart + nameC, dirStart + nameC + 3).copy(b, dirStart + nameA);
      ta.copy(b, dirStart + nameC);
      const nid = b.readBigUInt64LE(a);
      b.writeBigUInt64LE(b.readBigUInt64LE(c), a);
      b.writeBigUInt64LE(nid, c);
      const ft = b[a + 10]!;
      b[a + 10] = b[c + 10]!;
      b[c + 10] = ft;
    });
    expect([...r.codes]).toEqual(['DIR_ORDER']);
    expect(fsckOracle('1.8', r.path).ok).toBe(false);
  });

  it('"." pointing elsewhere', () => {
    const r = corrupt('dot', (b, img) => b.writeBigUInt64LE(BigInt(img.lookup('sub')), direntAt(img, '/', '.')));
    expect(r.codes).toContain('BAD_DOT');
    expect(fsckOracle('1.8', r.path).ok).toBe(false);
  });

  it('directory cycles: fsck reports, toTree refuses, nothing loops', () => {
    const r = corrupt('cycle', (b, img) => b.writeBigUInt64LE(BigInt(img.rootNid), direntAt(img, '/sub', 'deeper')));
    expect(r.codes).toContain('DIR_CYCLE');
    expect(fsckOracle('1.8', r.path).ok).toBe(false);
    const img = ErofsImage.open(r.path);
    try {
      expect(() => img.toTree()).toThrow(expect.objectContaining({ code: 'DIR_CYCLE' }));
    } finally {
      img.close();
    }
  });

  it('block references outside the device', () => {
    const r = corrupt('oob', (b, img) => {
      const ino = img.inode(img.lookup('size-5000'));
      b.writeUInt32LE(img.superblock.blocks + 10, ino.iloc + 16); // raw_blkaddr
    });
    expect(r.codes).toContain('BLOCK_OUT_OF_RANGE');
  });

  it('shared xattr ids out of range', () => {
    const r = corrupt('shared', (b, img) => {
      const nid = img.lookup('text.txt');
      const body = img.xattrIbody(nid)!;
      expect(body.shared.length).toBeGreaterThan(0);
      const ino = img.inode(nid);
      b.writeUInt32LE(0x3fffffff, ino.iloc + ino.inode_isize + 12);
    });
    expect([...r.codes]).toEqual(['BAD_XATTR']);
  });

  it('bloom filter bits that hide present xattrs', () => {
    const r = corrupt('filter', (b, img) => {
      const ino = img.inode(img.lookup('text.txt'));
      b.writeUInt32LE(0xffffffff, ino.iloc + ino.inode_isize);
    }, filtered);
    expect([...r.codes]).toEqual(['XATTR_FILTER']);
  });

  it('wrong link counts', () => {
    const r = corrupt('nlink', (b, img) => {
      const ino = img.inode(img.lookup('small.txt'));
      if (ino.version) b.writeUInt32LE(7, ino.iloc + 44);
      else b.writeUInt16LE(7, ino.iloc + 6);
    });
    expect([...r.codes]).toEqual(['BAD_NLINK']);
  });

  it('reports every problem, not just the first', () => {
    const r = corrupt('many', (b, img) => {
      b[direntAt(img, '/', 'small.txt') + 10] = 2;
      const ino = img.inode(img.lookup('fifo'));
      b.writeUInt16LE(b.readUInt16LE(ino.iloc) | 0x80, ino.iloc);
      b.writeUInt32LE(img.superblock.blocks + 10, img.inode(img.lookup('size-5000')).iloc + 16);
    });
    expect(r.codes, r.errors.join("\n")).toEqual(new Set(["FILE_TYPE_MISMATCH", "BAD_INODE", "BLOCK_OUT_OF_RANGE"]));
    for (const e of r.errors) {
      expect(e).toBeInstanceOf(ErofsError);
      expect(e.message.startsWith(`${r.path}: `)).toBe(true);
      expect(e.message).not.toContain('\n');
    }
  });

  it('a missing or foreign file is one typed error', () => {
    expect(fsck(join(dir.host, 'nope.erofs')).errors.map((e) => e.code)).toEqual(['IO']);
    const junk = join(dir.host, 'junk.erofs');
    writeFileSync(junk, Buffer.alloc(8192, 0x55));
    expect(fsck(junk).errors.map((e) => e.code)).toEqual(['BAD_MAGIC']);
    writeFileSync(junk, Buffer.alloc(100));
    expect(fsck(junk).errors.map((e) => e.code)).toEqual(['BAD_SUPERBLOCK']);
  });
});
