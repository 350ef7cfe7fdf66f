import type { FileData } from '@fstools/fstree';
import type { SegmentPlan } from './compress-plan.js';
import type { CompressPool, SegmentJob, SegmentResult } from './compress-pool.js';
import type { CompressionSetup } from './encoders.js';
import {
  Z_EROFS_ADVISE_BIG_PCLUSTER_1,
  Z_EROFS_ADVISE_BIG_PCLUSTER_2,
  Z_EROFS_ADVISE_COMPACTED_2B,
  Z_EROFS_ADVISE_FRAGMENT_PCLUSTER,
  Z_EROFS_ADVISE_INLINE_PCLUSTER,
  Z_EROFS_ADVISE_INTERLACED_PCLUSTER,
} from './constants.js';
import type { DataArea, FileSink, Placement, ZPlacement } from './data-area.js';
import type { ZExtent } from './lcluster-index.js';
import { encodeFullIndexes } from './lcluster-index.js';
import type { PclusterDedupe } from './dedupe.js';
import type { PackedFile } from './fragments.js';
import type { ScratchFile } from './scratch-file.js';

/**
 * Files are cut into segments of this many bytes (lcluster-aligned), planned independently and
 * in parallel: a segment's tail costs at most a block, and one segment is the most a worker
 * holds of one file.
 */
const SEGMENT_BYTES = 4 << 20;
/** Small files travel to a worker together, up to about this many bytes a batch. */
const BATCH_BYTES = 1 << 20;

/** A file's bytes in order, as a writer pushes them; push may ask the caller to wait (back-pressure). */
export interface DataSink {
  push(piece: Uint8Array): void | Promise<void>;
  end(): void | Promise<void>;
}

interface ZFile {
  data: FileData;
  size: number;
  segments: number;
  committed: number;
  /** The sink that stores the file uncompressed, should compression not pay. */
  flat: () => FileSink;
  /** Block of the first pcluster written for it (-1: none yet). */
  blkaddr: number;
  blocks: number;
  indexOffset: number;
  indexLength: number;
  inline?: { offset: number; length: number };
  /** Where its bytes in the packed inode start, and how many there are. */
  fragment?: number;
  fragmentLength: number;
  /** Some pcluster of it is shared with an earlier one (its blocks are not consecutive). */
  deduped: boolean;
}

type PclusterSource = { kind: 'new'; key?: string } | { kind: 'at'; blkaddr: number } | { kind: 'as'; index: number };

interface Batch {
  jobs: SegmentJob[];
  files: ZFile[];
  bytes: number;
}

/**
 * Compressed regular files, from bytes pushed in to their pclusters in the data area. Each file is
 * cut into segments, segments are grouped into batches for the pool, and the planned batches are
 * committed strictly in submission order: pclusters appended to the data area, full indexes and
 * inline tails parked in the scratch file, the placement recorded. The order, and so every byte,
 * is the same for any number of workers. A file whose compressed form (data, inline tail and
 * indexes) is not smaller than it is stored uncompressed instead, from the bytes its only segment
 * came back with, as mkfs.erofs does; a file of several segments stays compressed, its earlier
 * segments being in the image by then (what does not compress costs its index, 2 bytes a block).
 * Memory: the batches in flight, about two segments' worth per worker.
 */
export class CompressQueue {
  /** -E dedupe: the block of each new pcluster, by serial number (what planned references name). */
  private readonly serials: number[] = [];
  /** Superblock features the committed files use. */
  readonly used = { inline: false, fragments: false, dedupe: false };
  private batch: Batch = { jobs: [], files: [], bytes: 0 };
  /** The buffer the current batch's small segments are filled into, and how much of it is taken. */
  private region: { buffer: ArrayBuffer; used: number } | undefined;
  /** Buffers back from committed batches, for reuse: batch-sized and segment-sized. */
  private readonly spare = { small: [] as ArrayBuffer[], large: [] as ArrayBuffer[] };
  private readonly inflight: Array<{ done: Promise<void>; bytes: number }> = [];
  private inflightBytes = 0;
  private tail: Promise<void> = Promise.resolve();
  private failure: unknown;

  constructor(
    private readonly setup: CompressionSetup,
    private readonly pool: CompressPool,
    private readonly area: DataArea,
    private readonly scratch: ScratchFile,
    private readonly placements: Map<FileData, Placement>,
    /** The packed inode's content, with -E fragments. */
    readonly packedFile: PackedFile | undefined,
    /** Pclusters by content, with -E fragments (without -E dedupe, which shares while planning). */
    private readonly dedupe: PclusterDedupe | undefined,
  ) {}

  /** A sink for one regular file of `size` (> 0) bytes (or, `packed`, the packed inode's content). */
  file(data: FileData, size: number, flat: () => FileSink, packed = false): DataSink {
    const file: ZFile = { data, size, segments: Math.ceil(size / SEGMENT_BYTES), committed: 0, flat, blkaddr: -1, blocks: 0, indexOffset: -1, indexLength: 0, fragmentLength: 0, deduped: false };
    let seg = 0;
    let buf = this.take(Math.min(SEGMENT_BYTES, size));
    let filled = 0;
    let received = 0;
    const submit = (): void | Promise<void> => {
      const last = ++seg === file.segments;
      const wait = this.add({ src: buf, last, only: file.segments === 1, packed }, file);
      // Only now: adding may have sent off the batch whose buffer a small segment would share.
      if (!last) buf = this.take(Math.min(SEGMENT_BYTES, size - seg * SEGMENT_BYTES));
      filled = 0;
      return wait;
    };
    return {
      push: (piece) => {
        received += piece.length;
        if (received > size) throw new Error(`more data than the ${size} bytes announced`);
        let p = 0;
        let wait: Promise<void> | undefined;
        while (p < piece.length) {
          const n = Math.min(buf.length - filled, piece.length - p);
          buf.set(piece.subarray(p, p + n), filled);
          filled += n;
          p += n;
          if (filled === buf.length && seg < file.segments) {
            // A wait asked for mid-piece is honoured after the piece (at most a segment more).
            wait = submit() ?? wait;
          }
        }
        return wait;
      },
      end: () => {
        if (received !== size) throw new Error(`got ${received} of ${size} bytes`);
      },
    };
  }

  /** Waits until every file pushed so far is committed; rethrows the first failure. */
  async drain(): Promise<void> {
    this.dispatch();
    await this.tail;
    if (this.failure !== undefined) throw this.failure;
  }

  /**
   * Room for a segment of `n` bytes: a segment-sized buffer of its own, or (small files) the next
   * bytes of the current batch's buffer, so a batch of small files travels as one buffer. One file
   * is filled at a time, and each takes its room when the previous one was added.
   */
  private take(n: number): Uint8Array {
    if (n > BATCH_BYTES) return new Uint8Array(this.spare.large.pop() ?? new ArrayBuffer(SEGMENT_BYTES), 0, n);
    if (this.region && this.region.used + n > BATCH_BYTES) this.dispatch();
    this.region ??= { buffer: this.spare.small.pop() ?? new ArrayBuffer(BATCH_BYTES), used: 0 };
    const view = new Uint8Array(this.region.buffer, this.region.used, n);
    this.region.used += n;
    return view;
  }

  /** Returns the buffers of committed segments for reuse. */
  private release(results: readonly SegmentResult[]): void {
    for (const buffer of new Set(results.map((r) => r.src.buffer as ArrayBuffer))) (buffer.byteLength === SEGMENT_BYTES ? this.spare.large : this.spare.small).push(buffer);
  }

  private add(job: SegmentJob, file: ZFile): void | Promise<void> {
    this.batch.jobs.push(job);
    this.batch.files.push(file);
    this.batch.bytes += job.src.length;
    if (this.batch.bytes >= BATCH_BYTES) this.dispatch();
    if (this.failure !== undefined) throw this.failure;
    if (this.inflightBytes > Math.max(1, this.pool.threads) * 2 * SEGMENT_BYTES) return this.settleOldest();
  }

  private async settleOldest(): Promise<void> {
    const oldest = this.inflight[0];
    if (oldest) await oldest.done;
    if (this.failure !== undefined) throw this.failure;
  }

  private dispatch(): void {
    const batch = this.batch;
    if (batch.jobs.length === 0) return;
    this.batch = { jobs: [], files: [], bytes: 0 };
    this.region = undefined;
    const planned = this.pool.run(batch.jobs);
    planned.catch(() => {}); // observed through the commit chain below
    const entry = { done: Promise.resolve(), bytes: batch.bytes };
    this.inflightBytes += batch.bytes;
    entry.done = this.tail = this.tail.then(async () => {
      try {
        const results = await planned;
        if (this.failure === undefined) results.forEach((r, i) => this.commit(batch.files[i]!, r));
        this.release(results);
      } catch (err) {
        this.failure ??= err;
      } finally {
        this.inflight.shift();
        this.inflightBytes -= entry.bytes;
      }
    });
    this.inflight.push(entry);
  }

  /**
   * Commits one planned segment of `file` (segments arrive in file order, files in push order):
   * pclusters not already in the image are appended to the data area, the fragment to the packed
   * inode, the segment's full indexes to the scratch file; the last segment records the placement.
   */
  private commit(file: ZFile, { plan, src }: SegmentResult): void {
    const bs = this.setup.plan.blockSize;
    const last = ++file.committed === file.segments;
    if (plan.flat) {
      const sink = file.flat();
      sink.push(src);
      this.placements.set(file.data, sink.end());
      return;
    }
    const data = plan.extents.filter((e) => e.place === 'data');
    const sources = this.sources(plan);
    const start = this.area.next;
    if (file.blkaddr < 0 && sources.some((s) => s.kind === 'new')) file.blkaddr = start;
    const blkaddrs: number[] = [];
    let off = 0;
    data.forEach((e, i) => {
      const s = sources[i]!;
      if (s.kind === 'at') blkaddrs.push(s.blkaddr);
      else if (s.kind === 'as') blkaddrs.push(blkaddrs[s.index]!);
      else {
        blkaddrs.push(this.area.next);
        if (s.key !== undefined) this.dedupe!.add(s.key, this.area.next);
        if (this.setup.plan.dedupe) this.serials.push(this.area.next);
        this.area.appendBlocks(plan.data.subarray(off, off + e.plen));
      }
      off += e.plen;
    });
    if (sources.some((s) => s.kind !== 'new') || plan.extents.some((e) => e.place === 'ref')) file.deduped = true;
    let d = 0;
    // Inline and fragment extents count from the next free block, as mkfs.erofs has them.
    const extents: ZExtent[] = plan.extents.map((e) => {
      const blkaddr = e.place === 'data' ? blkaddrs[d++]! : e.place === 'ref' ? this.serials[e.serial!]! : this.area.next;
      return { length: e.length, plen: e.plen, raw: e.raw, blkaddr, partial: e.partial === true };
    });
    file.blocks += this.area.next - start;
    if (plan.fragment) this.addFragment(file, plan.fragment, last);
    const fragmentoffHigh = file.fragment === undefined ? 0 : Math.floor(file.fragment / 2 ** 32);
    const big = this.setup.plan.pclusterSize > bs;
    const index = encodeFullIndexes(extents, { blkszbits: Math.log2(bs), bigPcluster: big, fragmentoffHigh });
    const at = this.scratch.append(index);
    if (file.indexOffset < 0) file.indexOffset = at;
    file.indexLength += index.length;
    if (plan.inline) file.inline = { offset: this.scratch.append(plan.inline), length: plan.inline.length };
    if (last) this.place(file);
  }

  /** Per 'data' extent of a plan: a new pcluster (with its dedupe key), one already at a block, or the same as an earlier one of this plan. */
  private sources(plan: SegmentPlan): PclusterSource[] {
    const local = new Map<string, number>();
    let off = 0;
    return plan.extents
      .filter((e) => e.place === 'data')
      .map((e, i): PclusterSource => {
        const pcluster = plan.data.subarray(off, (off += e.plen));
        if (!this.dedupe) return { kind: 'new' };
        const { key, blkaddr } = this.dedupe.find(pcluster);
        if (blkaddr !== undefined) return { kind: 'at', blkaddr };
        const index = local.get(key);
        if (index !== undefined) return { kind: 'as', index };
        local.set(key, i);
        return { kind: 'new', key };
      });
  }

  /** Puts a fragment in the packed inode: a tail (shared if the same bytes are there), or the next piece of a whole file. */
  private addFragment(file: ZFile, bytes: Uint8Array, last: boolean): void {
    const packed = this.packedFile!;
    const at = file.fragment === undefined && last ? packed.add(bytes) : packed.append(bytes);
    file.fragment ??= at;
    file.fragmentLength += bytes.length;
    this.used.fragments = true;
  }

  /** Records where a compressed file's pieces went, with the map header's advice. */
  private place(file: ZFile): void {
    const bs = this.setup.plan.blockSize;
    const big = this.setup.plan.pclusterSize > bs;
    this.used.dedupe ||= file.deduped;
    const index = { offset: file.indexOffset, length: file.indexLength };
    if (file.fragment !== undefined && file.fragmentLength === file.size) {
      // Wholly in the packed inode: the map header is just the offset there.
      this.placements.set(file.data, { blkaddr: 0, blocks: 0, z: { blocks: 0, blkaddr: 0, index, advise: 0, full: true, fragmentoff: file.fragment, wholeFragment: true } });
      return;
    }
    // Full indexes where blocks are shared (compact ones count blocks on from the first) or the
    // fragment offset needs more than 32 bits.
    const full = file.deduped || (file.fragment ?? 0) >= 2 ** 32;
    // Compact indexes take 2-byte entries where lclusters (blocks here) are at most 4 KiB.
    let advise = full ? 0 : Z_EROFS_ADVISE_COMPACTED_2B;
    if (big) advise |= Z_EROFS_ADVISE_BIG_PCLUSTER_1 | (full ? 0 : Z_EROFS_ADVISE_BIG_PCLUSTER_2);
    if (this.setup.plan.interlaced) advise |= Z_EROFS_ADVISE_INTERLACED_PCLUSTER;
    const z: ZPlacement = { blocks: file.blocks, blkaddr: file.blkaddr < 0 ? this.area.next : file.blkaddr, index, advise, full };
    if (file.inline) {
      z.advise |= Z_EROFS_ADVISE_INLINE_PCLUSTER;
      z.inline = file.inline;
      this.used.inline = true;
    }
    if (file.fragment !== undefined) {
      z.advise |= Z_EROFS_ADVISE_FRAGMENT_PCLUSTER;
      z.fragmentoff = file.fragment;
    }
    this.placements.set(file.data, { blkaddr: z.blkaddr, blocks: file.blocks, z });
  }
}

