import { hash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { systemError } from './errors.js';
import { readAt, readvFully, readvFullySync, writeAt } from './io.js';
import { DIGEST_SIZE } from './tree.js';

/**
 * A run of consecutive blocks to hash: blocks [first, first + count) of the region whose block 0
 * is at byte srcOffset of src; the digest of block i belongs at dstOffset + i × DIGEST_SIZE of
 * dst. Levels are regions (the data, then each level of hash blocks), so one job shape serves
 * computing (write the digests) and verifying (compare them with the stored ones).
 */
export interface RegionJob {
  src: string;
  srcOffset: number;
  blockSize: number;
  first: number;
  count: number;
  salt: Uint8Array;
  dst: string;
  dstOffset: number;
  /** true: compare with the digests stored in dst; false: write them there. */
  compare: boolean;
}

/** How many blocks one read takes: 1024 views (IOV_MAX) and no more than 4 MiB. */
function chunkBlocks(blockSize: number): number {
  return Math.max(1, Math.min(1024, (4 << 20) / blockSize));
}

/**
 * A buffer laid out salt, block, salt, block, ...: read straight into the block views, each
 * salt || block is hashed by one one-shot call (format 1 hashes the salt first, then the block).
 */
class SaltedBlocks {
  readonly views: Buffer[];
  private readonly buf: Buffer;
  private readonly stride: number;

  constructor(salt: Uint8Array, blockSize: number, capacity: number) {
    this.stride = salt.length + blockSize;
    this.buf = Buffer.allocUnsafe(this.stride * capacity);
    this.views = [];
    for (let i = 0; i < capacity; i++) {
      const at = i * this.stride;
      this.buf.set(salt, at);
      this.views.push(this.buf.subarray(at + salt.length, at + this.stride));
    }
  }

  /** Digests of the first `count` blocks into `out`, DIGEST_SIZE apart from its start. */
  digest(count: number, out: Buffer): void {
    for (let i = 0; i < count; i++) out.set(hash('sha256', this.buf.subarray(i * this.stride, (i + 1) * this.stride), 'buffer'), i * DIGEST_SIZE);
  }
}

/**
 * The buffers a thread hashes with: two chunks of salted blocks (one read ahead) and the digests
 * computed and stored. Reused across the pieces of a region: fresh buffers for every piece would
 * cost page faults on every page of them.
 */
export class Scratch {
  readonly blocks: [SaltedBlocks, SaltedBlocks];
  readonly got: Buffer;
  readonly want: Buffer;

  constructor(
    readonly salt: Uint8Array,
    readonly blockSize: number,
  ) {
    const cap = chunkBlocks(blockSize);
    this.blocks = [new SaltedBlocks(salt, blockSize, cap), new SaltedBlocks(salt, blockSize, cap)];
    this.got = Buffer.alloc(cap * DIGEST_SIZE);
    this.want = Buffer.alloc(cap * DIGEST_SIZE);
  }

  fits(job: RegionJob): boolean {
    return job.blockSize === this.blockSize && Buffer.compare(job.salt, this.salt) === 0;
  }
}

/** The first block in [from, from + count) whose digest in `got` differs from `want`'s, or -1. */
function firstDifference(got: Buffer, want: Buffer, from: number, count: number): number {
  if (got.equals(want)) return -1;
  for (let i = 0; i < count; i++) {
    if (got.compare(want, i * DIGEST_SIZE, (i + 1) * DIGEST_SIZE, i * DIGEST_SIZE, (i + 1) * DIGEST_SIZE) !== 0) return from + i;
  }
  return -1;
}

/** Runs `job` with blocking reads and writes (in a worker thread): the first mismatching block when comparing, else -1. */
export function runRegionSync(job: RegionJob, scratch = new Scratch(job.salt, job.blockSize)): number {
  const cap = chunkBlocks(job.blockSize);
  const [blocks] = scratch.blocks;
  const { got, want } = scratch;
  const open = (file: string, flags: string) => {
    try {
      return openSync(file, flags);
    } catch (err) {
      throw systemError(file, 'open', err);
    }
  };
  const src = open(job.src, 'r');
  const dst = open(job.dst, job.compare ? 'r' : 'r+');
  try {
    for (let b = job.first; b < job.first + job.count; b += cap) {
      const n = Math.min(cap, job.first + job.count - b);
      readvFullySync(src, blocks.views.slice(0, n), job.srcOffset + b * job.blockSize, job.src);
      blocks.digest(n, got);
      const slots = n * DIGEST_SIZE;
      const at = job.dstOffset + b * DIGEST_SIZE;
      if (job.compare) {
        readvFullySync(dst, [want.subarray(0, slots)], at, job.dst);
        const bad = firstDifference(got.subarray(0, slots), want.subarray(0, slots), b, n);
        if (bad >= 0) return bad;
      } else {
        try {
          for (let done = 0; done < slots; ) done += writeSync(dst, got, done, slots - done, at + done);
        } catch (err) {
          throw systemError(job.dst, 'write', err);
        }
      }
    }
    return -1;
  } finally {
    closeSync(src);
    closeSync(dst);
  }
}

/**
 * runRegionSync on open FileHandles without blocking the thread: the next chunk is read while
 * this one is hashed.
 */
export async function runRegion(job: RegionJob, src: FileHandle, dst: FileHandle, scratch = new Scratch(job.salt, job.blockSize)): Promise<number> {
  const cap = chunkBlocks(job.blockSize);
  const end = job.first + job.count;
  const { blocks: bufs, got } = scratch;
  const read = (b: number, into: SaltedBlocks) => readvFully(src, into.views.slice(0, Math.min(cap, end - b)), job.srcOffset + b * job.blockSize, job.src);
  let next = job.count > 0 ? read(job.first, bufs[0]!) : undefined;
  try {
    for (let b = job.first, k = 0; b < end; b += cap, k ^= 1) {
      const n = Math.min(cap, end - b);
      await next;
      next = b + n < end ? read(b + n, bufs[k ^ 1]!) : undefined;
      bufs[k]!.digest(n, got);
      const slots = got.subarray(0, n * DIGEST_SIZE);
      const at = job.dstOffset + b * DIGEST_SIZE;
      if (job.compare) {
        const bad = firstDifference(slots, await readAt(dst, slots.length, at, job.dst), b, n);
        if (bad >= 0) return bad;
      } else {
        await writeAt(dst, slots, at, job.dst);
      }
    }
  } finally {
    // No read-ahead may outlive this call: the scratch buffers go to the next piece.
    await next?.catch(() => {});
  }
  return -1;
}
