import type { OutputFile, Xxh64 } from '@fstools/fstree';
import { isZero } from '@fstools/fstree';
import type { ScratchFile } from './scratch-file.js';

const STAGE_BYTES = 4 << 20;
/** Runs of whole blocks at least this long are written straight from the caller's buffer. */
const DIRECT_BYTES = 256 << 10;

/**
 * The data area: blocks handed out in order from `next`, written through a staging buffer (long
 * runs directly). All-zero blocks are never written, so they stay holes in the host file. Every
 * byte is fed to the content fingerprint that the default UUID is derived from, when there is
 * one.
 */
export class DataArea {
  next: number;
  private readonly stage: Buffer;
  private stageStart: number;
  private stageBlocks = 0;
  /** Per staged block, whether it is all zero (tested once, when staged). */
  private readonly stageZero: Uint8Array;
  /** One file is written at a time: its partial-block carry lives here, not per file. */
  readonly carry: Buffer;

  constructor(
    private readonly out: OutputFile,
    readonly blockSize: number,
    firstBlock: number,
    private readonly fingerprint: Xxh64 | undefined,
  ) {
    this.next = firstBlock;
    this.stageStart = firstBlock;
    this.stage = Buffer.alloc(Math.max(STAGE_BYTES, blockSize));
    this.stageZero = new Uint8Array(this.stage.length / blockSize);
    this.carry = Buffer.alloc(blockSize);
  }

  /** Appends one block (shorter input is zero padded); says whether it held any non-zero byte. */
  appendBlock(bytes: Uint8Array): boolean {
    if (this.stageBlocks * this.blockSize === this.stage.length) this.flush();
    const at = this.stageBlocks * this.blockSize;
    this.stage.set(bytes, at);
    if (bytes.length < this.blockSize) this.stage.fill(0, at + bytes.length, at + this.blockSize);
    return this.staged(1);
  }

  /** Appends whole blocks: short runs are copied into the stage at once, long ones written directly. */
  appendBlocks(bytes: Uint8Array): void {
    const bs = this.blockSize;
    if (bytes.length < DIRECT_BYTES) {
      for (let p = 0; p < bytes.length; ) {
        if (this.stageBlocks * bs === this.stage.length) this.flush();
        const n = Math.min(this.stage.length - this.stageBlocks * bs, bytes.length - p);
        this.stage.set(p === 0 && n === bytes.length ? bytes : bytes.subarray(p, p + n), this.stageBlocks * bs);
        this.staged(n / bs);
        p += n;
      }
      return;
    }
    this.flush();
    this.writeRuns(bytes, this.next, (i) => isZero(bytes, i * bs, bs));
    this.next += bytes.length / bs;
    this.stageStart = this.next;
  }

  /** Takes the `count` blocks just copied after the staged ones, noting which are all zero; says whether any held data. */
  private staged(count: number): boolean {
    const bs = this.blockSize;
    let data = false;
    for (let i = 0; i < count; i++, this.stageBlocks++) {
      const zero = isZero(this.stage, this.stageBlocks * bs, bs);
      this.stageZero[this.stageBlocks] = zero ? 1 : 0;
      data ||= !zero;
    }
    this.next += count;
    return data;
  }

  /** Gives back the blocks from `block` on (they were all zero, so nothing of them was written). */
  rewind(block: number): void {
    if (block < this.stageStart) {
      this.stageStart = block;
      this.stageBlocks = 0;
    } else {
      this.stageBlocks = block - this.stageStart;
    }
    this.next = block;
  }

  flush(): void {
    this.writeRuns(this.stage.subarray(0, this.stageBlocks * this.blockSize), this.stageStart, (i) => this.stageZero[i] === 1);
    this.stageStart += this.stageBlocks;
    this.stageBlocks = 0;
  }

  /** Writes whole blocks starting at block `first`, skipping the all-zero ones (`zero(i)` of block i). */
  private writeRuns(bytes: Uint8Array, first: number, zero: (i: number) => boolean): void {
    const bs = this.blockSize;
    const blocks = bytes.length / bs;
    this.fingerprint?.update(bytes);
    let run = -1;
    for (let i = 0; i <= blocks; i++) {
      const hole = i === blocks || zero(i);
      if (!hole && run < 0) run = i;
      if (hole && run >= 0) {
        this.out.write(bytes.subarray(run * bs, i * bs), (first + run) * bs);
        run = -1;
      }
    }
  }
}

/** Where a regular file's bytes went. */
export interface Placement {
  /** First data block; blocks are contiguous (FLAT) or per chunk (chunks set). */
  blkaddr: number;
  /** Blocks in the data area, including a tail block when the tail is not inlined. */
  blocks: number;
  /** The last partial block's bytes, parked in the scratch file, to go inline after the inode. */
  tail?: { offset: number; length: number };
  /** Chunk mode: log2 chunk size and, per chunk, 1 when it holds data (else it is a hole). */
  chunks?: { bits: number; present: Uint8Array };
  /** A compressed file: its pclusters start at blkaddr and take `blocks` blocks. */
  z?: ZPlacement;
}

/** Where a compressed file's data and indexes are (what the metadata pass needs of it). */
export interface ZPlacement {
  /** Blocks its pclusters take (the inode's compressed_blocks). */
  blocks: number;
  /** Block of its first pcluster: the base compact indexes count from. */
  blkaddr: number;
  /** Its full lcluster indexes (encodeFullIndexes) parked in the scratch file. */
  index: { offset: number; length: number };
  /** h_advise. */
  advise: number;
  /** Full indexes on disk (else compact). */
  full: boolean;
  /** The tail-packed pcluster parked in the scratch file. */
  inline?: { offset: number; length: number };
  /** Where its tail (or, wholeFragment, all of it) is in the packed inode. */
  fragmentoff?: number;
  wholeFragment?: boolean;
}

export interface SinkMode {
  /** Keep the final partial block inline with the inode instead of in a data block. */
  inlineTail: boolean;
  /** Chunk-based layout with this log2 chunk size: all-zero chunks become holes. */
  chunkBits?: number;
}

/**
 * Receives one file's bytes in order (any piece sizes) and lays them out: whole blocks into the
 * data area, the tail parked for inlining, all-zero chunks dropped as holes in chunk mode.
 */
export class FileSink {
  private readonly carry: Buffer;
  private carryLen = 0;
  private received = 0;
  /** Blocks of file content emitted so far, holes included. */
  private logicalBlocks = 0;
  private readonly start: number;
  private readonly fullBlocks: number;
  private readonly tailLen: number;
  private readonly blocksPerChunk: number;
  private readonly present: Uint8Array | undefined;
  private chunk = { start: 0, blocks: 0, data: false, index: 0 };

  constructor(
    private readonly area: DataArea,
    private readonly scratch: ScratchFile,
    private readonly size: number,
    private readonly mode: SinkMode,
  ) {
    const bs = area.blockSize;
    this.carry = area.carry;
    this.start = area.next;
    this.chunk.start = area.next;
    this.tailLen = mode.inlineTail && mode.chunkBits === undefined ? size % bs : 0;
    this.fullBlocks = Math.ceil((size - this.tailLen) / bs);
    this.blocksPerChunk = mode.chunkBits === undefined ? Infinity : 2 ** mode.chunkBits / bs;
    this.present = mode.chunkBits === undefined ? undefined : new Uint8Array(Math.ceil(size / 2 ** mode.chunkBits));
  }

  push(piece: Uint8Array): void {
    if (this.received + piece.length > this.size) throw new Error(`more data than the ${this.size} bytes announced`);
    this.received += piece.length;
    const bs = this.area.blockSize;
    let p = 0;
    while (p < piece.length) {
      if (this.carryLen === 0 && this.logicalBlocks < this.fullBlocks && piece.length - p >= bs) {
        if (this.present) {
          this.block(piece.subarray(p, p + bs)); // chunk mode tracks data block by block
          p += bs;
        } else {
          const n = Math.min(Math.floor((piece.length - p) / bs), this.fullBlocks - this.logicalBlocks);
          this.area.appendBlocks(piece.subarray(p, p + n * bs));
          this.logicalBlocks += n;
          p += n * bs;
        }
        continue;
      }
      const n = Math.min(bs - this.carryLen, piece.length - p);
      this.carry.set(piece.subarray(p, p + n), this.carryLen);
      this.carryLen += n;
      p += n;
      if (this.carryLen === bs && this.logicalBlocks < this.fullBlocks) {
        this.block(this.carry);
        this.carryLen = 0;
      }
    }
  }

  end(): Placement {
    if (this.received !== this.size) throw new Error(`got ${this.received} of ${this.size} bytes`);
    // A last partial block not kept inline goes out zero padded.
    if (this.logicalBlocks < this.fullBlocks) this.block(this.carry.subarray(0, this.carryLen));
    this.closeChunk();
    const blocks = this.area.next - this.start;
    const placement: Placement = { blkaddr: blocks > 0 ? this.start : 0, blocks };
    if (this.tailLen > 0) placement.tail = { offset: this.scratch.append(this.carry.subarray(0, this.tailLen)), length: this.tailLen };
    if (this.present) placement.chunks = { bits: this.mode.chunkBits!, present: this.present };
    return placement;
  }

  private block(bytes: Uint8Array): void {
    const nonZero = this.area.appendBlock(bytes);
    this.logicalBlocks++;
    if (!this.present) return;
    this.chunk.data ||= nonZero;
    if (++this.chunk.blocks === this.blocksPerChunk) this.closeChunk();
  }

  private closeChunk(): void {
    if (!this.present || this.chunk.blocks === 0) return;
    if (this.chunk.data) this.present[this.chunk.index] = 1;
    else this.area.rewind(this.chunk.start);
    this.chunk = { start: this.area.next, blocks: 0, data: false, index: this.chunk.index + 1 };
  }
}
