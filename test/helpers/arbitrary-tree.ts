import fc from 'fast-check';
import type { ByteString, FileData, Inode, InodeMeta } from '@fstools/fstree';
import { byteString, FsTree, makeDir, utf8 } from '@fstools/fstree';
import { mixedBytes, randomBytes, textBytes } from './compressible.js';
import { vfsAcl } from './vfs-acl.js';

/** Property-test run count: modest by default, FC_RUNS for longer local runs. */
export const runs = (n: number): number => Number(process.env.FC_RUNS ?? n);

export interface TreeOptions {
  /** Entry types to generate (tar cannot carry sockets). */
  types?: Array<Inode['type']>;
  /** Largest regular file. */
  maxFileSize?: number;
  /** Include sparse files of up to this size (mostly holes). */
  maxSparseSize?: number;
  /** Allow names that are not valid UTF-8. */
  rawNames?: boolean;
  /**
   * Xattrs on every entry, up to 6 each, as a host directory may hold them: besides the usual
   * ones, POSIX ACLs and values up to 65535 bytes (EROFS's limit; ext4 holds about one block).
   */
  hostXattrs?: boolean;
  /** File contents of the kinds compression meets (text-like, random, mixed, zeros, repeats) besides the usual pattern. */
  compressible?: boolean;
}

const nameChars = fc.constantFrom(...'abcABC019 -_.~#%+=@,'.split(''), 'é', 'ß', 'Σ', '日', '😀', '\t');

/** A single file name: ordinary, unicode, near or at 255 bytes, case variants, odd bytes. */
function nameArb(raw: boolean): fc.Arbitrary<ByteString> {
  const text = fc.array(nameChars, { minLength: 1, maxLength: 12 }).map((cs) => utf8(cs.join('')));
  const long = fc.integer({ min: 200, max: 255 }).map((n) => utf8('L'.repeat(n)));
  const max = fc.constant(utf8('m'.repeat(253) + 'é'));
  const cased = fc.constantFrom(utf8('Makefile'), utf8('makefile'), utf8('MAKEFILE'), utf8('Straße'), utf8('STRASSE'));
  const bytes = fc.uint8Array({ minLength: 1, maxLength: 8 }).map((b) => byteString(b.map((c) => (c === 0 || c === 0x2f ? 0x78 : c))));
  const arbs: Array<fc.WeightedArbitrary<ByteString>> = [
    { arbitrary: text, weight: 8 },
    { arbitrary: long, weight: 1 },
    { arbitrary: max, weight: 1 },
    { arbitrary: cased, weight: 2 },
  ];
  if (raw) arbs.push({ arbitrary: bytes, weight: 1 });
  return fc.oneof(...arbs).filter((n) => n !== '.' && n !== '..' && n.length <= 255);
}

const xattrArb = fc.oneof(
  fc.tuple(fc.constantFrom('user.a', 'user.mime_type', 'user.' + 'k'.repeat(120), 'trusted.overlay.opaque', 'trusted.overlay.redirect', 'security.selinux', 'trusted.x'), fc.uint8Array({ maxLength: 64 })),
  fc.constant(['security.capability', new Uint8Array([1, 0, 0, 2, 0, 0x20, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0])] as const),
  fc.constant(['user.shared', new Uint8Array([115, 104, 97, 114, 101, 100])] as const),
  fc.tuple(fc.constant('user.big'), fc.uint8Array({ minLength: 1000, maxLength: 3000 })),
);

/** A VFS ACL (version 2; tag, perm, id) with a named user and group, so the kernel keeps it as an xattr. */
const hostAcl = vfsAcl([[0x01, 7, -1], [0x02, 6, 1000], [0x04, 5, -1], [0x08, 4, 100], [0x10, 7, -1], [0x20, 4, -1]]);

const hostXattrArb = fc.oneof(
  { arbitrary: xattrArb, weight: 6 },
  { arbitrary: fc.constantFrom('system.posix_acl_access', 'system.posix_acl_default').map((k) => [k, hostAcl] as const), weight: 1 },
  { arbitrary: fc.tuple(fc.constantFrom('user.huge', 'trusted.huge', 'security.huge'), fc.integer({ min: 4000, max: 65535 }).map((n) => new Uint8Array(n).map((_, i) => (i * 7 + (i >> 8)) & 0xff))), weight: 1 },
  { arbitrary: fc.tuple(fc.integer({ min: 0, max: 99 }).map((i) => `user.n${i}`), fc.uint8Array({ maxLength: 8 })), weight: 2 },
);

const metaArb = fc.record({
  mode: fc.oneof(fc.constantFrom(0o755, 0o644, 0o700), fc.integer({ min: 0, max: 0o7777 })),
  uid: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 70000 }), fc.constant(4_294_967_294)),
  gid: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 70000 })),
  mtime: fc.oneof(
    fc.constant(1_700_000_000_000_000_000n),
    fc.bigInt({ min: 0n, max: 4_102_444_800_000_000_000n }),
    fc.bigInt({ min: -2_000_000_000_000_000_000n, max: -1n }),
  ),
  xattrs: fc.array(xattrArb, { maxLength: 3 }).map((xs) => new Map(xs.map(([k, v]) => [k, new Uint8Array(v)]))),
});

const hostMetaArb = metaArb.chain((m) => fc.array(hostXattrArb, { minLength: 1, maxLength: 6 }).map((xs) => ({ ...m, xattrs: new Map(xs.map(([k, v]) => [k, new Uint8Array(v)])) })));

function fileDataArb(o: TreeOptions): fc.Arbitrary<{ size: number; data: FileData }> {
  const maxFile = o.maxFileSize ?? 20_000;
  const plain = fc.oneof(
    fc.integer({ min: 0, max: 5000 }),
    fc.constantFrom(511, 512, 513, 4095, 4096, 4097, 8192),
    fc.integer({ min: 0, max: maxFile }),
  ).chain((size) => {
    const seed = fc.integer({ min: 0, max: 255 });
    const made = o.compressible ? fc.tuple(seed, fc.constantFrom(...contentKinds)) : seed.map((n) => [n, 'pattern'] as const);
    return made.map(([n, kind]) => ({ size, data: { kind: 'bytes', bytes: content(kind, size, n) } as FileData }));
  });
  if (!o.maxSparseSize) return plain;
  const sparse = fc.tuple(fc.integer({ min: 1, max: o.maxSparseSize }), fc.array(fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.uint8Array({ minLength: 1, maxLength: 5000 })), { maxLength: 4 }))
    .map(([size, segs]) => ({
      size,
      data: { kind: 'sparse', segments: segs.map(([at, bytes]) => ({ offset: Math.floor(at * Math.max(0, size - bytes.length)), bytes: bytes.subarray(0, size) })) } as FileData,
    }));
  return fc.oneof({ arbitrary: plain, weight: 4 }, { arbitrary: sparse, weight: 1 });
}

const contentKinds = ['pattern', 'text', 'random', 'mixed', 'zeros', 'repeats'] as const;

function content(kind: (typeof contentKinds)[number], size: number, seed: number): Uint8Array {
  switch (kind) {
    case 'text':
      return textBytes(size, seed);
    case 'random':
      return randomBytes(size, seed);
    case 'mixed':
      return mixedBytes(size, seed, 1000 + seed * 40);
    case 'zeros':
      return new Uint8Array(size);
    case 'repeats': {
      const unit = randomBytes(Math.min(size, 5000 + seed * 50), seed);
      return new Uint8Array(size).map((_, i) => unit[i % unit.length]!);
    }
    default: {
      const bytes = new Uint8Array(size);
      for (let i = 0; i < size; i++) bytes[i] = (i * 31 + seed + (i >> 9)) & 0xff;
      return bytes;
    }
  }
}

type Op =
  | { kind: 'entry'; parent: number; name: ByteString; type: Inode['type']; meta: InodeMeta; file: { size: number; data: FileData }; target: ByteString; dev: [number, number] }
  | { kind: 'link'; parent: number; name: ByteString; source: number };

/**
 * Random trees of every entry type: directories up to ~40 deep, unicode and 255-byte names,
 * names differing only by case, hardlinks, xattrs (some shared), suid/sgid/sticky modes, 32-bit
 * ids, ns and negative mtimes, files around block boundaries and (optionally) sparse ones.
 */
export function treeArb(o: TreeOptions = {}): fc.Arbitrary<FsTree> {
  const types = o.types ?? ['dir', 'file', 'symlink', 'chr', 'blk', 'fifo', 'sock'];
  const entry = fc.record({
    kind: fc.constant('entry' as const),
    parent: fc.nat(),
    name: nameArb(o.rawNames ?? true),
    type: fc.constantFrom(...types, 'dir', 'file'),
    meta: o.hostXattrs ? hostMetaArb : metaArb,
    file: fileDataArb(o),
    target: fc.oneof(fc.constant(utf8('../target')), fc.string({ minLength: 1, maxLength: 300 }).map(utf8), fc.constant(utf8('t'.repeat(4000)))),
    dev: fc.tuple(fc.integer({ min: 0, max: 4095 }), fc.integer({ min: 0, max: 1_048_575 })),
  });
  const link = fc.record({ kind: fc.constant('link' as const), parent: fc.nat(), name: nameArb(false), source: fc.nat() });
  return fc
    .tuple(o.hostXattrs ? hostMetaArb : metaArb, fc.array(fc.oneof({ arbitrary: entry, weight: 6 }, { arbitrary: link, weight: 1 }), { maxLength: 60 }), fc.boolean())
    .map(([rootMeta, ops, deep]) => build(rootMeta, ops as Op[], deep));
}

function build(rootMeta: InodeMeta, ops: Op[], deep: boolean): FsTree {
  const tree = new FsTree(makeDir({ ...rootMeta, mode: rootMeta.mode | 0o700 }));
  const dirs: Array<{ path: ByteString; inode: Inode }> = [{ path: '', inode: tree.root }];
  const others: Inode[] = [];
  if (deep) {
    let path = '';
    for (let i = 0; i < 40; i++) {
      path = path ? `${path}/d${i}` : `d${i}`;
      const d = makeDir({ mode: 0o755, mtime: 1_700_000_000_000_000_000n });
      tree.set(path, d);
      dirs.push({ path, inode: d });
    }
  }
  for (const op of ops) {
    const parent = dirs[op.parent % dirs.length]!;
    if (parent.inode.type !== 'dir' || parent.inode.entries.has(op.name)) continue;
    const path = parent.path ? `${parent.path}/${op.name}` : op.name;
    let inode: Inode;
    if (op.kind === 'link') {
      if (others.length === 0) continue;
      inode = others[op.source % others.length]!;
    } else {
      const m = { ...op.meta, xattrs: new Map(op.meta.xattrs) };
      // Linux keeps user.* xattrs on regular files and directories only.
      if (op.type !== 'file' && op.type !== 'dir') for (const k of [...m.xattrs.keys()]) if (k.startsWith('user.')) m.xattrs.delete(k);
      switch (op.type) {
        case 'dir':
          inode = makeDir({ ...m, mode: m.mode | 0o700 });
          break;
        case 'file':
          inode = { type: 'file', ...m, size: op.file.size, data: op.file.data };
          break;
        case 'symlink':
          inode = { type: 'symlink', ...m, mode: 0o777, target: op.target };
          break;
        case 'chr':
        case 'blk':
          inode = { type: op.type, ...m, major: op.dev[0], minor: op.dev[1] };
          break;
        default:
          inode = { type: op.type, ...m };
      }
    }
    parent.inode.entries.set(op.name, inode);
    if (inode.type === 'dir') dirs.push({ path, inode });
    else others.push(inode);
  }
  return tree;
}
