import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { utf8 } from '@fstools/fstree';
import { chunkCount, chunkFormat, encodeChunks, HOLE } from '../src/chunk.js';
import { encodeDeviceTable } from '../src/device-table.js';
import { dirBlockBytes, encodeDirBlock, splitDirBlocks } from '../src/dirent.js';
import { encodeInode, encodeRdev } from '../src/inode.js';
import { MetaPacker } from '../src/meta-packer.js';
import { encodeSuperBlock, sealSuperBlock } from '../src/superblock.js';
import { encodeIbody, encodeXattr, SharedXattrs, xattrIcount } from '../src/xattr.js';
import { encodeLongPrefixes, parseLongPrefixes } from '../src/xattr-prefix.js';
import { hasCommand, isRoot, oracle } from '../../../test/helpers/oracles.js';

const work = mkdtempSync(join(tmpdir(), 'erofs-structs-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('superblock (struct erofs_super_block)', () => {
  it('reseals an image made by mkfs.erofs to the very checksum mkfs.erofs stored', () => {
    if (!oracle('mkfs.erofs 1.5', hasCommand('mkfs.erofs'), 'apt-get install erofs-utils')) return;
    mkdirSync(join(work, 'src'));
    writeFileSync(join(work, 'src', 'f'), 'x');
    expect(spawnSync('mkfs.erofs', ['--quiet', join(work, 'img'), join(work, 'src')]).status).toBe(0);
    const original = readFileSync(join(work, 'img')).subarray(0, 4096);
    const copy = Buffer.from(original);
    copy.writeUInt32LE(0xdeadbeef, 1024 + 4);
    sealSuperBlock(copy, 4096);
    expect(copy.equals(original)).toBe(true);
  });

  it('puts every field at its erofs_fs.h offset', () => {
    const head = Buffer.alloc(4096);
    encodeSuperBlock(
      {
        feature_compat: 0x7, blkszbits: 12, root_nid: 0x1234, inos: 99n, build_time: 1700000000n, build_time_nsec: 5,
        blocks: 77, meta_blkaddr: 70, xattr_blkaddr: 69, uuid: new Uint8Array(16).fill(0xab), volume_name: new Uint8Array(16).fill(0x41),
        feature_incompat: 0x4c, u1: 0xfffe, extra_devices: 3, devt_slotoff: 9, xattr_prefix_count: 2, xattr_prefix_start: 0x200, packed_nid: 0x123456789,
      },
      head,
    );
    const sb = head.subarray(1024);
    expect(sb.readUInt32LE(0)).toBe(0xe0f5e1e2);
    expect(sb.readUInt32LE(8)).toBe(7);
    expect(sb[12]).toBe(12);
    expect(sb.readUInt16LE(14)).toBe(0x1234);
    expect(sb.readBigUInt64LE(16)).toBe(99n);
    expect(sb.readBigUInt64LE(24)).toBe(1700000000n);
    expect(sb.readUInt32LE(32)).toBe(5);
    expect([sb.readUInt32LE(36), sb.readUInt32LE(40), sb.readUInt32LE(44)]).toEqual([77, 70, 69]);
    expect(sb[48]).toBe(0xab);
    expect(sb[64]).toBe(0x41);
    expect([sb.readUInt32LE(80), sb.readUInt16LE(84)]).toEqual([0x4c, 0xfffe]);
    expect([sb.readUInt16LE(86), sb.readUInt16LE(88), sb[90], sb[91], sb.readUInt32LE(92)]).toEqual([3, 9, 0, 2, 0x200]);
    expect(sb.readBigUInt64LE(96)).toBe(0x123456789n);
  });
});

describe('inodes (erofs_inode_compact / erofs_inode_extended)', () => {
  const base = { datalayout: 2, i_xattr_icount: 5, i_mode: 0o100644, i_nlink: 3, i_size: 5000, i_u: 42, i_ino: 7, i_uid: 1000, i_gid: 100, i_mtime: -2n, i_mtime_nsec: 999_999_999 };
  it('compact: 32 bytes, version bit 0, layout in bits 1-3, no mtime of its own', () => {
    const b = Buffer.alloc(32, 0xff);
    encodeInode({ ...base, extended: false }, b, 0);
    expect(b.readUInt16LE(0)).toBe(2 << 1);
    expect([b.readUInt16LE(2), b.readUInt16LE(4), b.readUInt16LE(6), b.readUInt32LE(8)]).toEqual([5, 0o100644, 3, 5000]);
    expect(b.readUInt32LE(12)).toBe(0); // i_mtime offset (6.15+) must stay 0: mtime is the epoch
    expect([b.readUInt32LE(16), b.readUInt32LE(20), b.readUInt16LE(24), b.readUInt16LE(26)]).toEqual([42, 7, 1000, 100]);
  });
  it('extended: 64 bytes with 64-bit size, 32-bit ids, signed seconds and ns', () => {
    const b = Buffer.alloc(64, 0xff);
    encodeInode({ ...base, extended: true, i_size: 2 ** 40 }, b, 0);
    expect(b.readUInt16LE(0)).toBe(1 | (2 << 1));
    expect(b.readBigUInt64LE(8)).toBe(2n ** 40n);
    expect([b.readUInt32LE(16), b.readUInt32LE(20), b.readUInt32LE(24), b.readUInt32LE(28)]).toEqual([42, 7, 1000, 100]);
    expect(b.readBigInt64LE(32)).toBe(-2n);
    expect([b.readUInt32LE(40), b.readUInt32LE(44)]).toEqual([999_999_999, 3]);
  });
  it('rdev is the kernel encoding the host libc also uses (mknod oracle)', () => {
    if (!oracle('mknod', isRoot, 'needs root')) return;
    for (const [maj, min] of [[1, 3], [8, 17], [259, 300000], [4095, 1048575]] as const) {
      const node = join(work, `dev-${maj}-${min}`);
      expect(spawnSync('mknod', [node, 'c', String(maj), String(min)]).status).toBe(0);
      expect(encodeRdev(maj, min)).toBe(Number(statSync(node, { bigint: true }).rdev & 0xffffffffn));
    }
  });
});

describe('directory blocks (erofs_dirent)', () => {
  it('fills blocks greedily, never past the block size, keeping the given (sorted) order', () => {
    const names = Array.from({ length: 500 }, (_, i) => utf8(`name-${String(i).padStart(4, '0')}-${'x'.repeat(i % 50)}`));
    const starts = splitDirBlocks(names, 512);
    expect([starts[0], starts[starts.length - 1]]).toEqual([0, 500]);
    for (let b = 0; b + 1 < starts.length; b++) {
      const [i, end] = [starts[b]!, starts[b + 1]!];
      expect(end).toBeGreaterThan(i);
      const block = names.slice(i, end);
      expect(dirBlockBytes(block)).toBeLessThanOrEqual(512);
      if (end < names.length) expect(dirBlockBytes([...block, names[end]!])).toBeGreaterThan(512);
    }
  });
  it('encodes nid, nameoff and file type, names packed after the dirents', () => {
    const b = Buffer.alloc(64);
    const end = encodeDirBlock([{ name: '.', nid: 5, file_type: 2 }, { name: 'ab', nid: 2 ** 40, file_type: 1 }], b, 0);
    expect([b.readBigUInt64LE(0), b.readUInt16LE(8), b[10]]).toEqual([5n, 24, 2]);
    expect([b.readBigUInt64LE(12), b.readUInt16LE(20), b[22]]).toEqual([2n ** 40n, 25, 1]);
    expect(b.subarray(24, end).toString()).toBe('.ab');
  });
});

describe('xattrs', () => {
  it('name-filter bits match the table published with the kernel feature (xxh32, seed 0x25BBE08F + index)', async () => {
    // From the XATTR_FILTER kernel patch cover letter.
    const published: Record<string, number> = {
      'security.ima': 0, 'trusted.overlay.nlink': 2, 'user.overlay.nlink': 4, 'trusted.overlay.upper': 5, 'user.overlay.origin': 6,
      'trusted.overlay.protattr': 7, 'security.apparmor': 8, 'user.overlay.protattr': 9, 'user.overlay.opaque': 10, 'security.selinux': 11,
      'security.SMACK64TRANSMUTE': 12, 'security.SMACK64': 13, 'security.SMACK64MMAP': 14, 'user.overlay.impure': 15,
    };
    for (const [name, bit] of Object.entries(published)) expect([name, encodeXattr(name, new Uint8Array(1), [], 'f').filterBit]).toEqual([name, bit]);
    const long = parseLongPrefixes(['trusted.overlay.']);
    expect(encodeXattr('trusted.overlay.upper', new Uint8Array(1), long, 'f').filterBit).toBe(5); // a long prefix hashes as its base
  });
  it('entries: name length, index, value size, suffix and value, padded to 4; ACL names have no suffix', async () => {
    const e = encodeXattr('user.k', new Uint8Array([9, 8, 7]), [], 'f').entry;
    expect([...e]).toEqual([1, 1, 3, 0, 0x6b, 9, 8, 7]);
    const acl = encodeXattr('system.posix_acl_access', new Uint8Array(4), [], 'f').entry;
    expect([acl[0], acl[1], acl.readUInt16LE(2), acl.length]).toEqual([0, 2, 4, 8]);
    const lp = encodeXattr('trusted.overlay.opaque', new Uint8Array([0x79]), parseLongPrefixes(['trusted.overlay.']), 'f').entry;
    expect([lp[0], lp[1]]).toEqual([6, 0x80]);
    expect(() => encodeXattr('nfs.x', new Uint8Array(1), [], 'f')).toThrow('f: xattr nfs.x: EROFS stores only');
  });
  it('ibody: inverted filter, shared ids sorted, then inline entries; icount counts 4-byte units', async () => {
    const shared = new SharedXattrs();
    const a = encodeXattr('user.a', new Uint8Array([1]), [], 'f');
    const b = encodeXattr('user.b', new Uint8Array([2]), [], 'f');
    shared.count(a);
    shared.count(a);
    shared.count(b);
    shared.seal();
    const body = encodeIbody([b, a], shared);
    expect(body.readUInt32LE(0)).toBe(~((1 << a.filterBit) | (1 << b.filterBit)) >>> 0);
    expect(body[4]).toBe(1);
    expect(body.readUInt32LE(12)).toBe(0);
    expect(body.subarray(16).equals(b.entry)).toBe(true);
    expect(xattrIcount(body.length)).toBe(1 + (body.length - 12) / 4);
    expect(shared.bytes().equals(a.entry)).toBe(true);
  });
  it('long prefix table: le16 length, base index, infix, 4-byte aligned records', () => {
    const t = encodeLongPrefixes(parseLongPrefixes(['trusted.overlay.', 'user.x.']));
    expect(t.readUInt16LE(0)).toBe(9);
    expect(t[2]).toBe(4);
    expect(t.subarray(3, 11).toString()).toBe('overlay.');
    expect(t.readUInt16LE(12)).toBe(3);
    expect([t[14], t.subarray(15, 17).toString()]).toEqual([1, 'x.']);
    expect(() => parseLongPrefixes(['system.foo'])).toThrow("does not extend user., trusted. or security.");
  });
});

describe('chunks and devices', () => {
  it('chunk format, counts, block maps and 8-byte indexes (holes are EROFS_NULL_ADDR)', () => {
    expect(chunkFormat(20, 12, true)).toBe(8 | 0x20);
    expect(chunkFormat(12, 12, false)).toBe(0);
    expect(() => chunkFormat(11, 12, false)).toThrow();
    expect(chunkCount(2 ** 32 + 1, 20)).toBe(4097);
    const b = Buffer.alloc(16);
    encodeChunks([{ blkaddr: 5, device_id: 2 }, HOLE], true, b, 0);
    expect([b.readUInt16LE(2), b.readUInt32LE(4), b.readUInt16LE(10), b.readUInt32LE(12)]).toEqual([2, 5, 0, 0xffffffff]);
    const m = Buffer.alloc(8);
    encodeChunks([{ blkaddr: 9, device_id: 0 }, HOLE], false, m, 0);
    expect([m.readUInt32LE(0), m.readUInt32LE(4)]).toEqual([9, 0xffffffff]);
  });
  it('device slots: tag[64], blocks, mapped_blkaddr; empty tags refused', () => {
    const t = encodeDeviceTable([{ tag: 'a'.repeat(64), blocks: 10, mapped_blkaddr: 20 }]);
    expect(t.length).toBe(128);
    expect(t.subarray(0, 64).toString()).toBe('a'.repeat(64));
    expect([t.readUInt32LE(64), t.readUInt32LE(68)]).toEqual([10, 20]);
    expect(() => encodeDeviceTable([{ tag: '', blocks: 1, mapped_blkaddr: 0 }])).toThrow();
  });
});

describe('metadata packing', () => {
  it('inline records never cross a block; gaps are reused; slots stay 32-byte aligned', () => {
    const p = new MetaPacker(4096, 32);
    const a = p.place(4000, true, 64);
    expect(a).toBe(32);
    const b = p.place(200, true, 64); // does not fit after a: next block, leaving a gap
    expect(b).toBe(4096);
    const c = p.place(40, true, 32); // fits the gap before b
    expect(c % 32).toBe(0);
    expect(c + 40).toBeLessThanOrEqual(4096);
    const d = p.place(10_000, false, 64); // long chunk array: may run across blocks
    expect(d % 32).toBe(0);
  });
});
