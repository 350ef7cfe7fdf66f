import { describe, expect, it } from 'vitest';
import { chunkTableOffset, deviceIdMask, parseChunkEntry, parseChunkFormat } from '../src/chunk.js';
import { parseDeviceSlot } from '../src/device-table.js';
import { parseDirBlock } from '../src/dirent.js';
import { failer } from '../src/errors.js';
import { errorCode as code } from './helpers.js';
import { decodeRdev, inodeSize, parseInode, xattrIbodySize } from '../src/inode.js';
import { checksumLength, parseSuperblock, superblockChecksum } from '../src/superblock.js';
import { filterBit, parseIbody, parseLongPrefixes, resolveName } from '../src/xattr.js';
import { parseMapHeader } from '../src/zmap.js';
import { decodePcluster } from '../src/decompress.js';

const fail = failer('test.img');

/** Bitwise CRC32C (Castagnoli, reflected 0x82F63B78) with a given start and no final inversion. */
function crc32cRaw(data: Uint8Array, crc = 0xffffffff): number {
  for (const byte of data) {
    crc ^= byte;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return crc >>> 0;
}

function superblockBytes(edit: (v: DataView) => void = () => {}): Uint8Array {
  const b = new Uint8Array(128);
  const v = new DataView(b.buffer);
  v.setUint32(0, 0xe0f5e1e2, true);
  v.setUint32(8, 1, true); // SB_CHKSUM
  v.setUint8(12, 12);
  v.setUint16(14, 36, true);
  v.setBigUint64(16, 7n, true);
  v.setBigInt64(24, 1_700_000_000n, true);
  v.setUint32(32, 5, true);
  v.setUint32(36, 100, true);
  v.setUint32(40, 1, true);
  v.setUint32(44, 2, true);
  b.set(Buffer.from('vol'), 64);
  v.setUint16(86, 2, true);
  v.setUint16(88, 9, true);
  v.setUint8(91, 3);
  v.setUint32(92, 40, true);
  v.setBigUint64(96, 99n, true);
  edit(v);
  return b;
}

describe('superblock', () => {
  it('parses every field by its kernel name', () => {
    const sb = parseSuperblock(superblockBytes(), fail);
    expect(sb).toMatchObject({ blkszbits: 12, root_nid: 36, inos: 7n, epoch: 1_700_000_000n, fixed_nsec: 5, blocks: 100, meta_blkaddr: 1, xattr_blkaddr: 2, volume_name: 'vol', extra_devices: 2, devt_slotoff: 9, xattr_prefix_count: 3, xattr_prefix_start: 40, packed_nid: 99 });
  });

  it('rejects bad magic, block sizes and unknown incompat features with typed errors', () => {
    expect(code(() => parseSuperblock(superblockBytes((v) => v.setUint32(0, 0xdeadbeef, true)), fail))).toBe('BAD_MAGIC');
    expect(code(() => parseSuperblock(superblockBytes((v) => v.setUint8(12, 8)), fail))).toBe('BAD_SUPERBLOCK');
    expect(code(() => parseSuperblock(superblockBytes((v) => v.setUint32(80, 0x80, true)), fail))).toBe('UNSUPPORTED');
    expect(code(() => parseSuperblock(superblockBytes((v) => v.setUint32(80, 0x1000, true)), fail))).toBe('UNSUPPORTED');
    expect(code(() => parseSuperblock(new Uint8Array(64), fail))).toBe('BAD_SUPERBLOCK');
  });

  it('checksums [1024, blocksize) (or one small block) with the field zeroed, seed ~0, no final xor', () => {
    expect(checksumLength(12)).toBe(3072);
    expect(checksumLength(9)).toBe(512);
    expect(checksumLength(10)).toBe(1024);
    const region = new Uint8Array(3072);
    region.set(superblockBytes());
    new DataView(region.buffer).setUint32(4, 0x12345678, true); // ignored
    const zeroed = Uint8Array.from(region);
    zeroed.fill(0, 4, 8);
    expect(superblockChecksum(region)).toBe(crc32cRaw(zeroed));
  });
});

describe('inodes', () => {
  const sb = { epoch: 1_000_000_000n, fixed_nsec: 7 };
  it('compact inodes: mtime = epoch + i_mtime seconds, fixed_nsec (kernel >= 6.15)', () => {
    const b = new Uint8Array(32);
    const v = new DataView(b.buffer);
    v.setUint16(0, 0 | (2 << 1), true); // compact, FLAT_INLINE
    v.setUint16(2, 3, true);
    v.setUint16(4, 0o104755, true);
    v.setUint16(6, 2, true);
    v.setUint32(8, 1234, true);
    v.setUint32(12, 60, true);
    v.setUint32(16, 77, true);
    v.setUint32(20, 5, true);
    v.setUint16(24, 1000, true);
    v.setUint16(26, 100, true);
    const ino = parseInode(b, 3, 96, sb, fail);
    expect(ino).toMatchObject({ version: 0, datalayout: 2, type: 'file', i_mode: 0o104755, i_nlink: 2, i_size: 1234, i_u: 77, i_uid: 1000, i_gid: 100, inode_isize: 32, xattr_isize: 20 });
    expect(ino.mtime).toBe(1_000_000_060_000_000_007n);
  });

  it('extended inodes carry their own ns mtime (negative too) and 32-bit ids', () => {
    const b = new Uint8Array(64);
    const v = new DataView(b.buffer);
    v.setUint16(0, 1 | (4 << 1), true);
    v.setUint16(4, 0o20600, true);
    v.setBigUint64(8, 0n, true);
    v.setUint32(16, (8 << 8) | 1, true);
    v.setUint32(24, 70000, true);
    v.setUint32(28, 65534, true);
    v.setBigInt64(32, -2n, true);
    v.setUint32(40, 500, true);
    v.setUint32(44, 1, true);
    const ino = parseInode(b, 0, 0, sb, fail);
    expect(ino).toMatchObject({ version: 1, datalayout: 4, type: 'chr', i_uid: 70000, i_gid: 65534, inode_isize: 64 });
    expect(ino.mtime).toBe(-1_999_999_500n);
    expect(decodeRdev(ino.i_u)).toEqual({ major: 8, minor: 1 });
    expect(decodeRdev((0x12345 & 0xff) | ((259 & 0xfff) << 8) | ((0x12345 & ~0xff) << 12))).toEqual({ major: 259, minor: 0x12345 });
  });

  it('rejects spare i_format bits, unknown layouts and file types', () => {
    const b = new Uint8Array(64);
    const v = new DataView(b.buffer);
    v.setUint16(4, 0o100644, true);
    v.setUint16(0, 0x10, true);
    expect(code(() => parseInode(b, 1, 0, sb, fail))).toBe('BAD_INODE');
    v.setUint16(0, 5 << 1, true);
    expect(code(() => parseInode(b, 1, 0, sb, fail))).toBe('BAD_INODE');
    v.setUint16(0, 0, true);
    v.setUint16(4, 0o170644, true);
    expect(code(() => parseInode(b, 1, 0, sb, fail))).toBe('BAD_INODE');
  });

  it('sizes', () => {
    expect(inodeSize(0)).toBe(32);
    expect(inodeSize(1)).toBe(64);
    expect(xattrIbodySize(0)).toBe(0);
    expect(xattrIbodySize(1)).toBe(12);
    expect(xattrIbodySize(4)).toBe(24);
  });
});

/** Builds a directory block from [name, nid, type] triples (test-only encoder). */
function dirBlock(entries: Array<[string, number, number]>, size: number): Uint8Array {
  const b = new Uint8Array(size);
  const v = new DataView(b.buffer);
  let nameoff = entries.length * 12;
  entries.forEach(([name, nid, ft], i) => {
    v.setBigUint64(i * 12, BigInt(nid), true);
    v.setUint16(i * 12 + 8, nameoff, true);
    v.setUint8(i * 12 + 10, ft);
    b.set(Buffer.from(name, 'latin1'), nameoff);
    nameoff += name.length;
  });
  return b;
}

describe('dirents', () => {
  it('parses names between nameoffs, the last up to NUL or the end of the used bytes', () => {
    const b = dirBlock([['.', 36, 2], ['..', 36, 2], ['a-file', 40, 1]], 64);
    expect(parseDirBlock(b, 64, fail, {})).toEqual([
      { name: '.', nid: 36, file_type: 2 },
      { name: '..', nid: 36, file_type: 2 },
      { name: 'a-file', nid: 40, file_type: 1 },
    ]);
    expect(parseDirBlock(b, 36 + 3 + 4, fail, {}).at(-1)!.name).toBe('a-fi');
  });

  it('rejects bad nameoffs and names out of bounds', () => {
    const b = dirBlock([['.', 1, 2], ['..', 1, 2]], 64);
    new DataView(b.buffer).setUint16(8, 5, true);
    expect(code(() => parseDirBlock(b, 64, fail, {}))).toBe('BAD_DIRENT');
    const c = dirBlock([['.', 1, 2], ['..', 1, 2]], 64);
    new DataView(c.buffer).setUint16(20, 60, true);
    expect(code(() => parseDirBlock(c, 40, fail, {}))).toBe('BAD_DIRENT');
    expect(code(() => parseDirBlock(new Uint8Array(8), 8, fail, {}))).toBe('BAD_DIRENT');
  });
});

describe('xattrs', () => {
  const read = (b: Uint8Array) => (p: number, l: number) => b.subarray(p, p + l);

  it('parses the inline region: header, shared ids, padded entries', () => {
    const b = new Uint8Array(12 + 8 + 8 + 8);
    const v = new DataView(b.buffer);
    v.setUint32(0, 0xfffffff0, true);
    b[4] = 2;
    v.setUint32(12, 5, true);
    v.setUint32(16, 9, true);
    b.set([1, 1, 3, 0], 20); // user. + "x" = "abc"
    b.set(Buffer.from('xabc'), 24);
    b.set([4, 4, 0, 0], 28); // trusted. + "opaq", empty value
    b.set(Buffer.from('opaq'), 32);
    const body = parseIbody(read(b), 0, b.length, fail, {});
    expect(body.h_name_filter).toBe(0xfffffff0);
    expect(body.shared).toEqual([5, 9]);
    expect(body.entries.map((e) => [e.e_name_index, Buffer.from(e.name).toString(), Buffer.from(e.value).toString(), e.size])).toEqual([
      [1, 'x', 'abc', 8],
      [4, 'opaq', '', 8],
    ]);
    expect(code(() => parseIbody(read(b), 0, 12, fail, {}))).toBe('BAD_XATTR');
    expect(code(() => parseIbody(read(b), 0, 30, fail, {}))).toBe('BAD_XATTR');
  });

  it('long prefixes: 4-aligned records of le16 length, base index, infix', () => {
    const b = new Uint8Array(32);
    b.set([9, 0, 4, ...Buffer.from('overlay.')], 8); // at xattr_prefix_start 2 -> byte 8
    b.set([5, 0, 1, ...Buffer.from('comm')], 20);
    const prefixes = parseLongPrefixes(read(b), 2, 2, b.length, fail);
    expect(prefixes.map((p) => [p.base_index, Buffer.from(p.infix).toString()])).toEqual([
      [4, 'overlay.'],
      [1, 'comm'],
    ]);
    const e = { e_name_index: 0x80, name: Buffer.from('opaque'), value: new Uint8Array(), size: 12 };
    expect(resolveName(e, prefixes, fail, {})).toMatchObject({ name: 'trusted.overlay.opaque', baseIndex: 4 });
    expect(code(() => resolveName({ ...e, e_name_index: 0x85 }, prefixes, fail, {}))).toBe('BAD_XATTR');
    expect(code(() => resolveName({ ...e, e_name_index: 9 }, prefixes, fail, {}))).toBe('BAD_XATTR');
    expect(resolveName({ ...e, e_name_index: 2, name: new Uint8Array() }, [], fail, {}).name).toBe('system.posix_acl_access');
  });

  it('bloom filter bits match the kernel patch series table', () => {
    const bit = (index: number, name: string) => filterBit(index, Buffer.from(name));
    expect(bit(6, 'ima')).toBe(0);
    expect(bit(4, 'overlay.nlink')).toBe(2);
    expect(bit(1, 'overlay.nlink')).toBe(4);
    expect(bit(4, 'overlay.upper')).toBe(5);
    expect(bit(6, 'apparmor')).toBe(8);
    expect(bit(6, 'selinux')).toBe(11);
  });
});

describe('chunks and devices', () => {
  it('decodes chunk formats, block maps, indexes and holes', () => {
    expect(parseChunkFormat(3, 12, fail, {})).toEqual({ chunkbits: 15, indexes: false, entrySize: 4 });
    expect(parseChunkFormat(0x20, 12, fail, {})).toEqual({ chunkbits: 12, indexes: true, entrySize: 8 });
    expect(code(() => parseChunkFormat(0x40, 12, fail, {}))).toBe('UNSUPPORTED');
    const fmt4 = parseChunkFormat(0, 12, fail, {});
    const fmt8 = parseChunkFormat(0x20, 12, fail, {});
    expect(parseChunkEntry(Uint8Array.from([5, 0, 0, 0]), fmt4, 0)).toEqual({ device_id: 0, blkaddr: 5 });
    expect(parseChunkEntry(Uint8Array.from([255, 255, 255, 255]), fmt4, 0)).toBeNull();
    expect(parseChunkEntry(Uint8Array.from([0, 0, 6, 0, 7, 0, 0, 0]), fmt8, 3)).toEqual({ device_id: 2, blkaddr: 7 });
    expect(parseChunkEntry(Uint8Array.from([0, 0, 1, 0, 255, 255, 255, 255]), fmt8, 3)).toBeNull();
    expect([0, 1, 2, 3, 4].map(deviceIdMask)).toEqual([0, 1, 3, 3, 7]);
    // An odd number of 4-byte xattr units shifts 8-byte indexes to the next multiple of 8.
    expect(chunkTableOffset(1024, 32, 12, 8)).toBe(1072);
    expect(chunkTableOffset(1024, 32, 12, 4)).toBe(1068);
  });

  it('device slots: tag, blocks, mapped_blkaddr', () => {
    const b = new Uint8Array(128);
    b.set(Buffer.from('sha256:abc'));
    new DataView(b.buffer).setUint32(64, 1000, true);
    new DataView(b.buffer).setUint32(68, 77, true);
    expect(parseDeviceSlot(b)).toEqual({ tag: 'sha256:abc', blocks: 1000, mapped_blkaddr: 77 });
  });
});

describe('compression structures', () => {
  it('map header: algorithms, lcluster bits, whole-file fragments', () => {
    const h = parseMapHeader(Uint8Array.from([0, 0, 0x10, 0, 0x0a, 0, 0x30, 1]), 12);
    expect(h).toMatchObject({ h_idata_size: 16, h_advise: 0x0a, algorithms: [0, 3], lclusterbits: 13 });
    expect(h.wholeFragmentOff).toBeUndefined();
    expect(parseMapHeader(Uint8Array.from([0x34, 0x12, 0, 0, 0, 0, 0, 0x80]), 12).wholeFragmentOff).toBe(0x1234);
  });
});

describe('pcluster decoding', () => {
  const ext = (format: never, offset: number, length: number, physical = 0) => ({ kind: 'compressed' as const, offset, length, physical, physicalLength: 8, format, inline: false, partialref: false });
  const ctx = (blockSize: number, lz4ZeroPadding = true) => ({ blockSize, lz4ZeroPadding, lzmaDictSize: () => 65536 });
  it('shifted and interlaced (head rotated to the pcluster end) uncompressed pclusters', () => {
    const input = Buffer.from('CDEFGHAB');
    expect(Buffer.from(decodePcluster(ext({ kind: 'shifted' } as never, 0, 5), input, ctx(4), fail, {})).toString()).toBe('CDEFG');
    // Extent starts 2 bytes before a 4-byte block boundary: those 2 bytes are stored last.
    expect(Buffer.from(decodePcluster(ext({ kind: 'interlaced' } as never, 6, 8), input, ctx(4), fail, {})).toString()).toBe('ABCDEFGH');
    // A 2-byte extent 3 bytes before the boundary: its bytes stay where the rotation put them,
    // 3 bytes from the block's end (kernel: pi = inputsize - (bs - pageofs_out % bs)).
    expect(Buffer.from(decodePcluster(ext({ kind: 'interlaced' } as never, 5, 2), Buffer.from('wxyz'), ctx(4), fail, {})).toString()).toBe('xy');
  });
  it('encoded: zero padding stripped, LZ4 decoded, unknown algorithms typed', () => {
    const input = Uint8Array.from([0, 0, 0x35, 0x61, 0x62, 0x63, 3, 0, 0x10, 0x21]);
    expect(Buffer.from(decodePcluster(ext({ kind: 'encoded', algorithm: 0 } as never, 0, 13), input, ctx(4096), fail, {})).toString()).toBe('abcabcabcabc!');
    expect(code(() => decodePcluster(ext({ kind: 'encoded', algorithm: 0 } as never, 0, 13), input, ctx(4096, false), fail, {}))).toBe('BAD_COMPRESSION');
    expect(code(() => decodePcluster(ext({ kind: 'encoded', algorithm: 9 } as never, 0, 13), input, ctx(4096), fail, {}))).toBe('UNSUPPORTED');
    expect(code(() => decodePcluster(ext({ kind: 'encoded', algorithm: 0 } as never, 0, 20), input, ctx(4096), fail, {}))).toBe('BAD_COMPRESSION');
    expect(code(() => decodePcluster(ext({ kind: 'encoded', algorithm: 0 } as never, 0, 13), new Uint8Array(8), ctx(4096), fail, {}))).toBe('BAD_COMPRESSION');
  });
});
