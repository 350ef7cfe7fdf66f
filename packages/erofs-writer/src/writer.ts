import { createHash } from 'node:crypto';
import { availableParallelism } from 'node:os';
import type { ByteString, FileData, FileInode, FsTree, ImageDevice, Inode, OwnerOptions, TarEntry, Xxh64 } from '@fstools/fstree';
import { decompress, displayName, EntryError, formatUuid, InputError, mapOwner, OutputFile, parseUuid, readTar, splitTime, tempBeside, treeFromTarEntries, uuidFromDigest, xxh } from '@fstools/fstree';
import {
  EROFS_DEVT_SLOT_SIZE,
  EROFS_FEATURE_COMPAT_MTIME,
  EROFS_FEATURE_COMPAT_SB_CHKSUM,
  EROFS_FEATURE_COMPAT_XATTR_FILTER,
  EROFS_FEATURE_INCOMPAT_CHUNKED_FILE,
  EROFS_FEATURE_INCOMPAT_DEVICE_TABLE,
  EROFS_FEATURE_INCOMPAT_FRAGMENTS,
  EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES,
  EROFS_FEATURE_INCOMPAT_ZTAILPACKING,
  EROFS_SUPER_OFFSET,
  EROFS_SUPER_SIZE,
  EROFS_XATTR_IBODY_HEADER_SIZE,
} from './constants.js';
import { COMPR_CFGS_OFFSET, comprSuperblock } from './compr-cfgs.js';
import type { ComprSuperblock } from './compr-cfgs.js';
import { CompressPool } from './compress-pool.js';
import type { DataSink } from './compress-queue.js';
import { CompressQueue } from './compress-queue.js';
import type { CompressionOptions } from './compression.js';
import { compressionSetup } from './compression.js';
import type { Placement } from './data-area.js';
import { DataArea, FileSink } from './data-area.js';
import { PclusterDedupe } from './dedupe.js';
import { encodeDeviceTable } from './device-table.js';
import type { CompressionSetup } from './encoders.js';
import { PackedFile } from './fragments.js';
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
  /** Compress regular files (default: stored uncompressed). */
  compression?: CompressionOptions;
  /**
   * Worker threads that compress (default: the CPU count; 0 compresses on the calling thread).
   * The image is the same for every count.
   */
  workers?: number;
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
        const sink = b.sink(inode.data, inode.size, inode.xattrs, path);
        for await (const piece of await reader.take()) {
          const wait = sink.push(piece);
          if (wait) await wait;
        }
        await sink.end();
      }
    } catch (err) {
      await reader.abandon();
      throw err;
    }
    return await b.finish(tree);
  } catch (err) {
    await b.abort();
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
        const sink = b.sink(data, entry.size, entry.xattrs, path);
        for await (const piece of entry.body) {
          const wait = sink.push(piece);
          if (wait) await wait;
        }
        await sink.end();
        return data;
      },
    });
    return { ...(await b.finish(tree)), tree, flatOffset: (data) => b.flatOffset(data) };
  } catch (err) {
    await b.abort();
    throw err instanceof EntryError ? err.inArchive(archive) : err;
  }
}

/** Bytes written after the image's last block, before it is committed (a tar-index image's tar). */
export interface Appendix {
  /** Writes the bytes at byte `at` of `out`; returns how many. */
  writeTo(out: OutputFile, at: number): number;
}

/** Shared state of one image being written: output, data area, header geometry. */
export class ImageBuilder {
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
    private readonly compress: { queue: CompressQueue; pool: CompressPool } | undefined,
    private readonly placements: Map<FileData, Placement>,
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
    const placements = new Map<FileData, Placement>();
    let compress: { queue: CompressQueue; pool: CompressPool } | undefined;
    if (geo.compression) {
      const { plan } = geo.compression;
      let packed: PackedFile | undefined;
      try {
        packed = plan.fragments ? new PackedFile(output, geo.prefixesInPacked ? encodeLongPrefixes(geo.longPrefixes) : new Uint8Array(0)) : undefined;
        // -E dedupe shares stretches while planning; -E fragments alone whole pclusters as they are committed.
        const dedupe = plan.fragments && !plan.dedupe ? new PclusterDedupe() : undefined;
        const pool = new CompressPool(geo.compression, opts.workers ?? availableParallelism(), plan.dedupe ? tempBeside(output, 'dedupe') : undefined);
        compress = { pool, queue: new CompressQueue(geo.compression, pool, area, scratch, placements, packed, dedupe) };
      } catch (err) {
        packed?.close();
        scratch.close();
        out.discard();
        throw err;
      }
    }
    return new ImageBuilder(out, scratch, area, fingerprint, geo, opts, compress, placements);
  }

  /** A sink for one regular file's data (size > 0): compressed, or stored as flatSink lays it out. */
  sink(data: FileData, size: number, xattrs: Map<string, Uint8Array>, path: ByteString): DataSink {
    this.files++;
    this.dataBytes += size;
    this.opts.progress?.(this.files, this.dataBytes);
    const flat = (): FileSink => this.flatSink(size, xattrs, path);
    if (this.compress) return this.compress.queue.file(data, size, flat);
    const sink = flat();
    return {
      push: (piece) => sink.push(piece),
      end: () => {
        this.placements.set(data, sink.end());
      },
    };
  }

  /** An uncompressed file's sink; its tail goes inline when the inode record will surely fit a block. */
  private flatSink(size: number, xattrs: Map<string, Uint8Array>, path: ByteString): FileSink {
    const bs = this.geo.blockSize;
    // At most this many xattr bytes (none shared); the layout encodes them.
    let ibody = 0;
    if (xattrs.size > 0) {
      const where = displayName(path);
      ibody = EROFS_XATTR_IBODY_HEADER_SIZE;
      for (const [name, value] of xattrs) ibody += xattrEntrySize(name, value, this.geo.longPrefixes, where);
    }
    const inlineTail = this.opts.inlineData !== false && inodeSize(true) + ibody + (size % bs) <= bs;
    return new FileSink(this.area, this.scratch, size, { inlineTail, chunkBits: this.geo.chunkBits });
  }

  /** See TarResult.flatOffset. */
  flatOffset(data: FileData): number | undefined {
    const p = this.placements.get(data);
    return p && p.blocks > 0 && !p.tail && !p.chunks ? p.blkaddr * this.geo.blockSize : undefined;
  }

  /** Feeds bytes that live outside the data area (an appended tar) into the derived UUID. */
  fingerprintContent(bytes: Uint8Array): void {
    this.fingerprint?.update(bytes);
  }

  async finish(tree: FsTree, appendix?: Appendix): Promise<ErofsResult> {
    const { blockSize: bs } = this.geo;
    let packed: FileInode | undefined;
    if (this.compress) {
      const { queue, pool } = this.compress;
      await queue.drain();
      if (queue.packedFile && queue.packedFile.size > 0) {
        // The packed inode is compressed like any file once the others are in (its own tails stay in it).
        const content = queue.packedFile;
        packed = { type: 'file', mode: 0o644, uid: 0, gid: 0, mtime: 0n, xattrs: new Map(), size: content.size, data: { kind: 'stored' } };
        const sink = queue.file(packed.data, packed.size, () => this.flatSink(content.size, packed!.xattrs, ''), true);
        for (const piece of content.pieces()) await sink.push(piece);
        await sink.end();
        await queue.drain();
      }
      queue.packedFile?.close();
      await pool.close();
    }
    this.area.flush();
    const dataEnd = this.area.next;
    const limit = this.opts.timestamp === undefined ? undefined : this.opts.timestamp * 1_000_000_000n;
    const owners = this.opts.owners ?? {};
    const stored = (inode: Inode): { uid: number; gid: number; mtime: bigint } => {
      const { uid, gid } = mapOwner(owners, inode.uid, inode.gid);
      return { uid, gid, mtime: limit !== undefined && inode.mtime > limit ? limit : inode.mtime };
    };
    const devices = this.opts.devices ?? [];
    const algorithm = this.geo.compression?.id;
    const layout = new Layout(tree, this.placements, { blockSize: bs, blkszbits: this.geo.blkszbits, devices, longPrefixes: this.geo.longPrefixes, epoch: limit, stored, algorithm, packed }, dataEnd);
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
    const zsb = this.geo.comprSb;
    zsb?.cfgs.copy(head, COMPR_CFGS_OFFSET);
    encodeDeviceTable(slots).copy(head, this.geo.devtSlotoff * EROFS_DEVT_SLOT_SIZE);
    if (!this.geo.prefixesInPacked) encodeLongPrefixes(this.geo.longPrefixes).copy(head, this.geo.prefixStart);
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
          (this.geo.longPrefixes.length > 0 ? EROFS_FEATURE_INCOMPAT_XATTR_PREFIXES : 0) |
          (zsb?.feature_incompat ?? 0) |
          (this.compress?.queue.used.inline ? EROFS_FEATURE_INCOMPAT_ZTAILPACKING : 0) |
          (packed || this.compress?.queue.used.dedupe ? EROFS_FEATURE_INCOMPAT_FRAGMENTS : 0),
        u1: zsb?.u1 ?? 0,
        extra_devices: devices.length,
        devt_slotoff: devices.length > 0 ? this.geo.devtSlotoff : 0,
        xattr_prefix_count: this.geo.longPrefixes.length,
        // In the packed inode they start it.
        xattr_prefix_start: this.geo.longPrefixes.length > 0 && !this.geo.prefixesInPacked ? this.geo.prefixStart / 4 : 0,
        packed_nid: layout.packedNid,
      },
      head,
    );
    sealSuperBlock(head, bs);
    this.out.write(head, 0);
    const end = layout.totalBlocks * bs;
    const bytes = end + (appendix?.writeTo(this.out, end) ?? 0);
    this.out.commit(bytes);
    return {
      path: this.out.target,
      bytes,
      blocks: layout.totalBlocks,
      inodes: layout.nodes.length,
      seconds: Number(process.hrtime.bigint() - this.started) / 1e9,
      uuid: formatUuid(uuid),
    };
  }

  async abort(): Promise<void> {
    await this.compress?.pool.close();
    this.compress?.queue.packedFile?.close();
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
  /** Blocks before the data area: boot area, superblock, compression configurations, device table, long prefixes. */
  headerBlocks: number;
  compression: CompressionSetup | undefined;
  /** With fragments the kernel reads long xattr prefixes from the packed inode: they go there. */
  prefixesInPacked: boolean;
  /** The superblock's compression fields and the configuration records after it. */
  comprSb: ComprSuperblock | undefined;
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
  if (opts.workers !== undefined && (!Number.isInteger(opts.workers) || opts.workers < 0)) throw new InputError('--workers', `${opts.workers} is not a whole number of threads`);
  const compression = opts.compression ? compressionSetup(opts.compression, blockSize) : undefined;
  const comprSb = compression ? comprSuperblock({ algorithm: compression.id, dictSize: compression.dictSize, maxPclusterBlocks: compression.plan.pclusterSize / blockSize }) : undefined;
  // The compression configuration records follow the superblock; the device table the records.
  const devtSlotoff = Math.ceil((EROFS_SUPER_OFFSET + EROFS_SUPER_SIZE + (comprSb?.cfgs.length ?? 0)) / EROFS_DEVT_SLOT_SIZE);
  const prefixStart = devtSlotoff * EROFS_DEVT_SLOT_SIZE + devices.length * EROFS_DEVT_SLOT_SIZE;
  const prefixesInPacked = compression?.plan.fragments === true && longPrefixes.length > 0;
  const headerEnd = Math.max(checksummedEnd(blockSize), prefixStart + (prefixesInPacked ? 0 : encodeLongPrefixes(longPrefixes).length));
  return { blockSize, blkszbits, chunkBits, longPrefixes, devtSlotoff, prefixStart, headerBlocks: Math.ceil(headerEnd / blockSize), compression, prefixesInPacked, comprSb };
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
  h.update(JSON.stringify({ bs: geo.blockSize, chunk: geo.chunkBits, z: geo.compression && { a: geo.compression.algorithm, l: geo.compression.level, p: geo.compression.plan } }));
  return uuidFromDigest(h.digest());
}

function labelBytes(label: string | undefined): Uint8Array {
  const out = new Uint8Array(16);
  if (label) out.set(Buffer.from(label, 'utf8'));
  return out;
}
