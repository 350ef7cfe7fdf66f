import { createHash } from 'node:crypto';
import type { ByteString, FileData, FileInode, FsTree, ImageDevice, Inode, OwnerOptions, TarEntry, Xxh64 } from '@fstools/fstree';
import { decompress, displayName, EntryError, formatUuid, InputError, mapOwner, OutputFile, parseUuid, readTar, splitTime, treeFromTarEntries, uuidFromDigest, xxh } from '@fstools/fstree';
import {
  EROFS_DEVT_SLOT_SIZE,
  EROFS_FEATURE_COMPAT_MTIME,
  EROFS_FEATURE_COMPAT_SB_CHKSUM,
  EROFS_FEATURE_COMPAT_XATTR_FILTER,
  EROFS_FEATURE_INCOMPAT_CHUNKED_FILE,
  EROFS_FEATURE_INCOMPAT_DEVICE_TABLE,
  EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES,
  EROFS_SUPER_OFFSET,
  EROFS_SUPER_SIZE,
  EROFS_XATTR_IBODY_HEADER_SIZE,
} from './constants.js';
import type { Placement } from './data-area.js';
import { DataArea, FileSink } from './data-area.js';
import { encodeDeviceTable } from './device-table.js';
import { inodeSize } from './inode.js';
import { Layout } from './layout.js';
import { Prefetcher } from './prefetch.js';
import { RegionWriter } from './region-writer.js';
import { ScratchFile } from './scratch-file.js';
import { checksummedEnd, encodeSuperBlock, sealSuperBlock } from './superblock.js';
import { xattrEntrySize } from './xattr.js';
import type { LongPrefix } from './xattr-prefix.js';
import { encodeLongPrefixes, parseLongPrefixes } from './xattr-prefix.js';

export interface ErofsOptions {
  /** Block size, a power of two from 512 to 4096 (default 4096). */
  blockSize?: number;
  /** Volume UUID ("xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"); derived from the content when absent. */
  uuid?: string;
  /** Volume label, at most 16 bytes. */
  label?: string;
  /**
   * Build time in seconds (mkfs -T, SOURCE_DATE_EPOCH): becomes the superblock time, and later
   * mtimes are clamped to it. Without it the most common mtime is used and nothing is clamped.
   */
  timestamp?: bigint;
  /** Keep regular files' last partial block inline after the inode (default true; -E noinline_data turns it off). */
  inlineData?: boolean;
  /** Chunk-based regular files with this chunk size (a power of two, at least the block size); all-zero chunks become holes. */
  chunkSize?: number;
  /** Extra devices: files with {kind: 'device'} data become chunk indexes into these (device table). */
  devices?: ImageDevice[];
  /** Long xattr name prefixes such as "trusted.overlay." (INCOMPAT_XATTR_PREFIXES). */
  xattrPrefixes?: string[];
  /** Ownership rewrites (--all-root, --force-uid, ...). */
  owners?: OwnerOptions;
  /** Called after each regular file's data is written: files and data bytes so far. */
  progress?: (files: number, bytes: number) => void;
}

export interface ErofsResult {
  path: string;
  bytes: number;
  blocks: number;
  inodes: number;
  seconds: number;
  uuid: string;
}

/** What writing from a tar made: the tree the image holds, and where its files' bytes went. */
export interface TarResult extends ErofsResult {
  /** The image's tree; regular files' data is {kind: 'stored'} (streamed into the image). */
  tree: FsTree;
  /**
   * Byte offset in the image where a regular file's data starts, when it is one contiguous
   * block-aligned run (FLAT_PLAIN, as with inlineData off); undefined for a tail kept inline,
   * chunks, or an empty file.
   */
  flatOffset(data: FileData): number | undefined;
}

export interface TarOptions extends ErofsOptions {
  /** 'overlay' turns OCI whiteouts into overlayfs form (like mkfs.erofs --aufs); default keeps them as files. */
  whiteouts?: 'keep' | 'overlay';
  /** Leaves out members whose path matches. */
  exclude?: (path: ByteString) => boolean;
}

/** Writes an EROFS image of `tree` to `output` (atomically). */
export async function writeErofs(tree: FsTree, output: string, opts: ErofsOptions = {}): Promise<ErofsResult> {
  const b = ImageBuilder.start(output, opts);
  try {
    const seen = new Set<FileData>();
    const files: Array<{ inode: FileInode; path: ByteString }> = [];
    for (const { inode, path } of tree.walk()) {
      if (inode.type !== 'file' || inode.size === 0 || inode.data.kind === 'device' || seen.has(inode.data)) continue;
      seen.add(inode.data);
      files.push({ inode, path });
    }
    const reader = new Prefetcher(files.map((f) => f.inode));
    try {
      for (const { inode, path } of files) {
        const sink = b.sink(inode.size, inode.xattrs, path);
        for await (const piece of await reader.take()) sink.push(piece);
        b.placements.set(inode.data, sink.end());
      }
    } catch (err) {
      await reader.abandon();
      throw err;
    }
    return b.finish(tree);
  } catch (err) {
    b.abort();
    throw err;
  }
}

/**
 * Writes an EROFS image from a tar stream (plain, gzip or zstd, by magic), writing each file's
 * blocks as the archive streams past and keeping only metadata in memory.
 */
export function writeErofsFromTar(source: AsyncIterable<Uint8Array>, archive: string, output: string, opts: TarOptions = {}): Promise<TarResult> {
  return writeErofsFromTarEntries(readTar(decompress(source, archive), archive), archive, output, opts);
}

/** The same from tar members already parsed (and perhaps rewritten) by the caller, in order. */
export async function writeErofsFromTarEntries(entries: AsyncIterable<TarEntry>, archive: string, output: string, opts: TarOptions = {}): Promise<TarResult> {
  const b = ImageBuilder.start(output, opts);
  try {
    const tree = await treeFromTarEntries(entries, archive, {
      whiteouts: opts.whiteouts,
      exclude: opts.exclude,
      storeData: async (entry, path) => {
        const data: FileData = { kind: 'stored' };
        if (entry.size === 0) {
          for await (const piece of entry.body) void piece;
          return data;
        }
        const sink = b.sink(entry.size, entry.xattrs, path);
        for await (const piece of entry.body) sink.push(piece);
        b.placements.set(data, sink.end());
        return data;
      },
    });
    return { ...b.finish(tree), tree, flatOffset: (data) => b.flatOffset(data) };
  } catch (err) {
    b.abort();
    throw err instanceof EntryError ? err.inArchive(archive) : err;
  }
}

/** Shared state of one image being written: output, data area, header geometry. */
class ImageBuilder {
  readonly placements = new Map<FileData, Placement>();
  private files = 0;
  private dataBytes = 0;
  private readonly started = process.hrtime.bigint();
  private constructor(
    private readonly out: OutputFile,
    private readonly scratch: ScratchFile,
    private readonly area: DataArea,
    private readonly fingerprint: Xxh64 | undefined,
    private readonly geo: Geometry,
    private readonly opts: ErofsOptions,
  ) {}

  static start(output: string, opts: ErofsOptions): ImageBuilder {
    const geo = geometry(opts);
    const out = OutputFile.create(output);
    let scratch: ScratchFile;
    try {
      scratch = new ScratchFile(output);
    } catch (err) {
      out.discard();
      throw err;
    }
    // The data fingerprint only feeds the derived UUID: no need when one is given.
    const fingerprint = opts.uuid === undefined ? xxh.create64(0n) : undefined;
    const area = new DataArea(out, geo.blockSize, geo.headerBlocks, fingerprint);
    return new ImageBuilder(out, scratch, area, fingerprint, geo, opts);
  }

  /** A sink for one regular file; its tail goes inline when the inode record will surely fit a block. */
  sink(size: number, xattrs: Map<string, Uint8Array>, path: ByteString): FileSink {
    const bs = this.geo.blockSize;
    // At most this many xattr bytes (none shared); the layout encodes them.
    let ibody = 0;
    if (xattrs.size > 0) {
      const where = displayName(path);
      ibody = EROFS_XATTR_IBODY_HEADER_SIZE;
      for (const [name, value] of xattrs) ibody += xattrEntrySize(name, value, this.geo.longPrefixes, where);
    }
    const inlineTail = this.opts.inlineData !== false && inodeSize(true) + ibody + (size % bs) <= bs;
    this.files++;
    this.dataBytes += size;
    this.opts.progress?.(this.files, this.dataBytes);
    return new FileSink(this.area, this.scratch, size, { inlineTail, chunkBits: this.geo.chunkBits });
  }

  /** See TarResult.flatOffset. */
  flatOffset(data: FileData): number | undefined {
    const p = this.placements.get(data);
    return p && p.blocks > 0 && !p.tail && !p.chunks ? p.blkaddr * this.geo.blockSize : undefined;
  }

  finish(tree: FsTree): ErofsResult {
    const { blockSize: bs } = this.geo;
    this.area.flush();
    const dataEnd = this.area.next;
    const limit = this.opts.timestamp === undefined ? undefined : this.opts.timestamp * 1_000_000_000n;
    const owners = this.opts.owners ?? {};
    const stored = (inode: Inode): { uid: number; gid: number; mtime: bigint } => {
      const { uid, gid } = mapOwner(owners, inode.uid, inode.gid);
      return { uid, gid, mtime: limit !== undefined && inode.mtime > limit ? limit : inode.mtime };
    };
    const devices = this.opts.devices ?? [];
    const layout = new Layout(tree, this.placements, { blockSize: bs, blkszbits: this.geo.blkszbits, devices, longPrefixes: this.geo.longPrefixes, epoch: limit, stored }, dataEnd);
    const metaHash = createHash('sha256');
    layout.emit(new RegionWriter(this.out, metaHash), this.scratch);
    this.scratch.close();

    const head = Buffer.alloc(this.geo.headerBlocks * bs);
    let mapped = layout.totalBlocks;
    const slots = devices.map((d) => {
      const slot = { tag: d.tag, blocks: d.blocks, mapped_blkaddr: mapped };
      mapped += d.blocks;
      return slot;
    });
    encodeDeviceTable(slots).copy(head, this.geo.devtSlotoff * EROFS_DEVT_SLOT_SIZE);
    encodeLongPrefixes(this.geo.longPrefixes).copy(head, this.geo.prefixStart);
    const uuid = this.opts.uuid !== undefined ? uuidOption(this.opts.uuid) : deriveUuid(this.fingerprint!.digest(), metaHash.digest(), this.geo);
    const built = splitTime(layout.epoch);
    encodeSuperBlock(
      {
        feature_compat: EROFS_FEATURE_COMPAT_SB_CHKSUM | EROFS_FEATURE_COMPAT_MTIME | (layout.hasXattrs ? EROFS_FEATURE_COMPAT_XATTR_FILTER : 0),
        blkszbits: this.geo.blkszbits,
        root_nid: layout.rootNid,
        inos: BigInt(layout.nodes.length),
        build_time: built.sec,
        build_time_nsec: built.nsec,
        blocks: layout.totalBlocks,
        meta_blkaddr: layout.metaBlkaddr,
        xattr_blkaddr: layout.xattrBlkaddr,
        uuid,
        volume_name: labelBytes(this.opts.label),
        feature_incompat:
          (layout.usesChunks ? EROFS_FEATURE_INCOMPAT_CHUNKED_FILE : 0) |
          (devices.length > 0 ? EROFS_FEATURE_INCOMPAT_DEVICE_TABLE : 0) |
          (this.geo.longPrefixes.length > 0 ? EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES : 0),
        extra_devices: devices.length,
        devt_slotoff: devices.length > 0 ? this.geo.devtSlotoff : 0,
        xattr_prefix_count: this.geo.longPrefixes.length,
        xattr_prefix_start: this.geo.longPrefixes.length > 0 ? this.geo.prefixStart / 4 : 0,
      },
      head,
    );
    sealSuperBlock(head, bs);
    this.out.write(head, 0);
    this.out.commit(layout.totalBlocks * bs);
    return {
      path: this.out.target,
      bytes: layout.totalBlocks * bs,
      blocks: layout.totalBlocks,
      inodes: layout.nodes.length,
      seconds: Number(process.hrtime.bigint() - this.started) / 1e9,
      uuid: formatUuid(uuid),
    };
  }

  abort(): void {
    this.out.discard();
    try {
      this.scratch.close();
    } catch {
      // already closed
    }
  }
}

interface Geometry {
  blockSize: number;
  blkszbits: number;
  chunkBits: number | undefined;
  longPrefixes: LongPrefix[];
  devtSlotoff: number;
  prefixStart: number;
  /** Blocks before the data area: boot area, superblock, device table, long prefixes. */
  headerBlocks: number;
}

/** Throws an InputError naming the option when options are invalid (before any work is done). */
export function checkErofsOptions(opts: ErofsOptions): void {
  geometry(opts);
}

/** Validates options and fixes where the superblock, device table and prefix table go. */
function geometry(opts: ErofsOptions): Geometry {
  const blockSize = opts.blockSize ?? 4096;
  if (![512, 1024, 2048, 4096].includes(blockSize)) throw new InputError('-b', `block size ${blockSize} is not 512, 1024, 2048 or 4096`);
  const blkszbits = Math.log2(blockSize);
  let chunkBits: number | undefined;
  if (opts.chunkSize !== undefined) {
    chunkBits = Math.log2(opts.chunkSize);
    if (!Number.isInteger(chunkBits) || opts.chunkSize < blockSize || chunkBits - blkszbits > 31) {
      throw new InputError('--chunksize', `${opts.chunkSize} is not a power of two from the block size (${blockSize}) up`);
    }
  }
  if (opts.label !== undefined && Buffer.byteLength(opts.label) > 16) throw new InputError('-L', `label '${opts.label}' is longer than 16 bytes`);
  if (opts.uuid !== undefined) uuidOption(opts.uuid);
  const longPrefixes = parseLongPrefixes(opts.xattrPrefixes ?? []);
  const devices = opts.devices ?? [];
  const devtSlotoff = (EROFS_SUPER_OFFSET + EROFS_SUPER_SIZE) / EROFS_DEVT_SLOT_SIZE;
  const prefixStart = devtSlotoff * EROFS_DEVT_SLOT_SIZE + devices.length * EROFS_DEVT_SLOT_SIZE;
  const headerEnd = Math.max(checksummedEnd(blockSize), prefixStart + encodeLongPrefixes(longPrefixes).length);
  return { blockSize, blkszbits, chunkBits, longPrefixes, devtSlotoff, prefixStart, headerBlocks: Math.ceil(headerEnd / blockSize) };
}

function uuidOption(text: string): Uint8Array {
  const bytes = parseUuid(text);
  if (!bytes) throw new InputError('-U', `'${text}' is not a UUID`);
  return bytes;
}

/** A UUID from the content: data fingerprint and metadata, marked as RFC 9562 version 8. */
function deriveUuid(dataDigest: bigint, metaDigest: Buffer, geo: Geometry): Uint8Array {
  const h = createHash('sha256');
  h.update(dataDigest.toString(16));
  h.update(metaDigest);
  h.update(JSON.stringify({ bs: geo.blockSize, chunk: geo.chunkBits }));
  return uuidFromDigest(h.digest());
}

function labelBytes(label: string | undefined): Uint8Array {
  const out = new Uint8Array(16);
  if (label) out.set(Buffer.from(label, 'utf8'));
  return out;
}
