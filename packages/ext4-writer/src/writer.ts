import type { DirInode, FileData, FileInode, InodeMeta } from '@fstools/fstree';
import { decompress, EntryError, formatUuid, FsTree, makeDir, treeFromTar, xxh } from '@fstools/fstree';
import { DataStore } from './data.js';
import type { StoredData } from './data.js';
import { hashSeedWords } from './dirhash.js';
import { emitFilesystem } from './emit.js';
import { OptionError, TooSmallError } from './errors.js';
import type { FsType } from './features.js';
import { featureNames, requestFeatures } from './features.js';
import { deriveIds, metadataDigest, uuidArg, uuidOption } from './identity.js';
import { ImageFile } from './image-file.js';
import { BlockAllocator } from './layout/allocator.js';
import type { FixedLayout } from './layout/fixed.js';
import { planFixedLayout } from './layout/fixed.js';
import type { GeometryKey, GeometryOptions } from './layout/geometry.js';
import { computeGeometry, GEOMETRY_KEYS } from './layout/geometry.js';
import type { InodeTable, Numbering, TableFormat } from './layout/inode-table.js';
import { buildInodeTable, defaultLostFound, numberInodes } from './layout/inode-table.js';
import type { ContentRecord } from './layout/minimum.js';
import { minimumSize } from './layout/minimum.js';
import { placeInodes } from './layout/placement.js';
import { applyLayers, overlayRoot } from './overlay.js';

/** A tar archive (plain, gzip or zstd) that can be read once. */
export interface TarSource {
  /** Names the archive in errors. */
  name: string;
  open: () => AsyncIterable<Uint8Array>;
}

/** Geometry options (block and inode sizes, ratios, journal, resize reserve) as in GeometryOptions. */
export interface Ext4Options extends Pick<GeometryOptions, GeometryKey> {
  /** Bytes the filesystem may use (whole blocks of it are used). */
  size: number;
  /** Size of the image file when larger than `size` (mke2fs on a bigger existing file). */
  fileSize?: number;
  /** Feature defaults to start from (default ext4). */
  fsType?: FsType;
  /** -O lists: "feature,^feature,none". */
  features?: string[];
  /** Volume label, at most 16 bytes. */
  label?: string;
  /** UUID, or "random", "time", "clear" (-U). Default: derived from the content. */
  uuid?: string;
  /** Directory hash seed UUID (-E hash_seed=). Default: derived from the content. */
  hashSeed?: string;
  /** Creation time in seconds; inode times after it are clamped to it. Default: now, no clamping. */
  timestamp?: bigint;
  /** Owner of the root directory (-E root_owner=). */
  rootOwner?: { uid: number; gid: number };
  /**
   * Lay the image out as an overlayfs upper layer: the content goes into /upper, /work is
   * created, and `patches` are applied over /upper in order.
   */
  overlayUpper?: boolean;
  /** OCI layer tars baked into /upper (with overlayUpper). */
  patches?: TarSource[];
  /** Fail if a host file changes while it is read (for trees read from a host directory). */
  checkSourceUnchanged?: boolean;
  /** Called as file data is read: bytes so far. */
  onProgress?: (bytes: number) => void;
}

export interface Ext4Result {
  path: string;
  /** Size of the image file. */
  bytes: number;
  /** Bytes actually written (the rest of the file is holes). */
  bytesWritten: number;
  blockSize: number;
  blocks: number;
  freeBlocks: number;
  inodes: number;
  freeInodes: number;
  groups: number;
  journalBlocks: number;
  features: string[];
  uuid: string;
  /** Things mkext4-ts decided differently than asked (e.g. a journal dropped on a tiny image). */
  notes: string[];
  seconds: number;
}

/** Writes an ext4 image holding `tree` (or an empty one) at `outPath`. */
export function writeExt4(tree: FsTree | undefined, outPath: string, opts: Ext4Options): Promise<Ext4Result> {
  return make(outPath, opts, async () => tree);
}

/**
 * Writes an ext4 image holding a tar's content, writing file data as the archive streams past.
 * An entry ext4 cannot hold is named as the archive's member (with overlayUpper, by its path in
 * the image).
 */
export function writeExt4FromTar(tar: TarSource, outPath: string, opts: Ext4Options): Promise<Ext4Result> {
  return make(outPath, opts, (store) => treeFromTar(decompress(tar.open(), tar.name), tar.name, { storeData: store })).catch((err: unknown) => {
    throw err instanceof EntryError && !opts.overlayUpper ? err.inArchive(tar.name) : err;
  });
}

type StoreHook = NonNullable<Parameters<typeof treeFromTar>[2]>['storeData'] & {};

/** Options checked and resolved before any file is touched. */
interface Settings {
  geoOpts: Omit<GeometryOptions, 'bytes'>;
  label: Uint8Array;
  uuid?: Uint8Array;
  hashSeed?: Uint8Array;
  now: bigint;
  /** Undefined when the size cannot even hold an empty filesystem. */
  fixed?: FixedLayout;
}

function settle(opts: Ext4Options): Settings {
  for (const [what, v] of [['size', opts.size], ['file size', opts.fileSize ?? 1]] as const) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new OptionError(`invalid ${what} ${v}`);
  }
  const geoOpts: Omit<GeometryOptions, 'bytes'> = {
    ...(Object.fromEntries(GEOMETRY_KEYS.map((k) => [k, opts[k]])) as Pick<GeometryOptions, GeometryKey>),
    features: requestFeatures(opts.fsType ?? 'ext4', opts.features ?? []),
  };
  const label = new Uint8Array(Buffer.from(opts.label ?? '', 'utf8'));
  if (label.length > 16) throw new OptionError(`label '${opts.label}' is longer than 16 bytes`);
  if (opts.patches?.length && !opts.overlayUpper) throw new OptionError('--patch needs --overlay-upper');
  const settings: Settings = {
    geoOpts,
    label,
    uuid: opts.uuid !== undefined ? uuidOption(opts.uuid) : undefined,
    hashSeed: opts.hashSeed !== undefined ? uuidArg(opts.hashSeed, 'hash_seed') : undefined,
    now: opts.timestamp ?? BigInt(Math.floor(Date.now() / 1000)),
  };
  try {
    settings.fixed = planFixedLayout(computeGeometry({ ...geoOpts, bytes: opts.size }));
  } catch (err) {
    if (!(err instanceof TooSmallError)) throw err;
  }
  return settings;
}

/** The content read and its file data written: the tree, numbered, and where each file went. */
interface Content {
  numbering: Numbering;
  store: DataStore;
  storedOf: Map<FileInode, StoredData>;
  dataDigest: Buffer;
}

async function gather(image: ImageFile, s: Settings, opts: Ext4Options, source: (store: StoreHook) => Promise<FsTree | undefined>): Promise<Content> {
  const nowNs = s.now * 1_000_000_000n;
  const dataHash = xxh.create64(0n);
  const alloc = s.fixed && new BlockAllocator(s.fixed.reserved, s.fixed.geo.firstDataBlock, s.fixed.geo.blocksCount);
  const digest = s.uuid === undefined || s.hashSeed === undefined;
  const store = new DataStore(image, alloc, s.fixed?.geo.blockSize ?? 1024, digest ? dataHash : undefined, opts.onProgress);
  const byData = new Map<FileData, StoredData>();
  const hook: StoreHook = async (entry, path) => {
    const stored = await store.storeStream(entry.body, entry.size, path);
    // The bytes now live in the image; the tree only needs to know where.
    const data: FileData = { kind: 'stored' };
    byData.set(data, stored);
    return data;
  };
  let tree = (await source(hook)) ?? new FsTree(makeDir({ mode: 0o755, mtime: nowNs }));
  if (opts.overlayUpper) tree = await bakeUpper(tree.root, opts.patches ?? [], hook, { mode: 0o755, uid: 0, gid: 0, mtime: nowNs });
  const numbering = numberInodes(tree, () => defaultLostFound(nowNs));
  const storedOf = new Map<FileInode, StoredData>();
  for (const { inode } of numbering.inodes) {
    if (inode.type === 'file') storedOf.set(inode, byData.get(inode.data) ?? (await store.storeFile(inode, opts.checkSourceUnchanged ?? false)));
  }
  const dataDigest = Buffer.alloc(8);
  dataDigest.writeBigUInt64BE(dataHash.digest());
  return { numbering, store, storedOf, dataDigest };
}

async function make(outPath: string, opts: Ext4Options, source: (store: StoreHook) => Promise<FsTree | undefined>): Promise<Ext4Result> {
  const started = performance.now();
  const s = settle(opts);
  const image = ImageFile.create(outPath);
  try {
    const c = await gather(image, s, opts, source);
    // The identity digests the times and owners as the inodes store them (emit.ts). Without a
    // layout (too small for even an empty filesystem) the inode size is the option's, or
    // computeGeometry's default of 256.
    const inodeSize = s.fixed?.geo.inodeSize ?? opts.inodeSize ?? 256;
    const meta = metadataDigest(c.numbering, { clamp: opts.timestamp, inodeSize, rootOwner: opts.rootOwner });
    const ids = deriveIds(c.dataDigest, meta, JSON.stringify({ ...s.geoOpts, features: [...s.geoOpts.features.enabled].sort(), size: opts.size, label: opts.label, now: `${s.now}` }));
    const uuid = s.uuid ?? ids.uuid;
    const hashSeed = s.hashSeed ?? ids.hashSeed;
    const seedWords = hashSeedWords(hashSeed);
    const tables = new Map<string, InodeTable>();
    const tableFor = (fmt: Omit<TableFormat, 'hashSeed'>): InodeTable => {
      const key = `${fmt.blockSize}/${fmt.inodeSize}/${[...fmt.features].sort()}`;
      let t = tables.get(key);
      if (!t) tables.set(key, (t = buildInodeTable(c.numbering, { ...fmt, hashSeed: seedWords })));
      return t;
    };
    const tooSmall = (): TooSmallError => {
      const rec: ContentRecord = { geometry: s.geoOpts, log: c.store.log, storedOf: c.storedOf, table: tableFor };
      const min = minimumSize(rec, opts.size + 1);
      if (min === undefined) return new TooSmallError('the content does not fit at any size with these options');
      return new TooSmallError(`${human(opts.size)} is too small for this content: the minimum size is ${min / 1024}K (${human(min)})`);
    };

    const fixed = s.fixed;
    if (!fixed || c.store.overflowed) throw tooSmall();
    const geo = fixed.geo;
    const table = tableFor({ blockSize: geo.blockSize, inodeSize: geo.inodeSize, features: geo.features });
    if (opts.inodeCount !== undefined && table.lastIno > geo.inodesCount) {
      throw new OptionError(`the content needs ${table.lastIno} inodes; -N ${opts.inodeCount} gives ${geo.inodesCount}`);
    }
    let placement;
    try {
      placement = placeInodes(table, fixed, c.store.allocator!, (f) => c.storedOf.get(f)?.extents ?? []);
    } catch (err) {
      throw err instanceof TooSmallError ? tooSmall() : err;
    }
    const totals = emitFilesystem(image, fixed, table, placement, { uuid, hashSeed, now: s.now, clamp: opts.timestamp, label: s.label, rootOwner: opts.rootOwner });
    const bytes = Math.max(opts.size, opts.fileSize ?? 0);
    await image.commit(bytes);
    return {
      path: outPath,
      bytes,
      bytesWritten: image.written,
      blockSize: geo.blockSize,
      blocks: geo.blocksCount,
      freeBlocks: totals.freeBlocks,
      inodes: geo.inodesCount,
      freeInodes: totals.freeInodes,
      groups: geo.groupCount,
      journalBlocks: geo.journalBlocks,
      features: featureNames(geo.features),
      uuid: formatUuid(uuid),
      notes: geo.notes,
      seconds: (performance.now() - started) / 1000,
    };
  } catch (err) {
    await image.abort();
    throw err;
  }
}

/** The overlay upper layout: `content` as /upper with each patch applied over it, and /work. */
async function bakeUpper(content: DirInode, patches: TarSource[], hook: StoreHook, meta: Partial<InodeMeta>): Promise<FsTree> {
  const layers: DirInode[] = [];
  const implied = new Set<DirInode>();
  for (const p of patches) {
    layers.push((await treeFromTar(decompress(p.open(), p.name), p.name, { whiteouts: 'overlay', storeData: hook, impliedDirs: implied })).root);
  }
  // A directory a patch only implies takes the build time.
  for (const d of implied) d.mtime = meta.mtime!;
  applyLayers(content, layers, (d) => implied.has(d));
  return new FsTree(overlayRoot(content, meta));
}

function human(bytes: number): string {
  const units = ['bytes', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${Math.round(v * 100) / 100} ${units[i]}`;
}
