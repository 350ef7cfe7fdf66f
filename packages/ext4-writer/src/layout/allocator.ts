import type { BlockSet } from './block-set.js';
import type { Extent } from './extents.js';
import { appendExtent } from './extents.js';

/**
 * Hands out blocks in increasing order, skipping the fixed metadata: file data first as it streams
 * in, then directories and other metadata. Nothing is ever freed, so "first free block after the
 * cursor" is all the search there is, and files come out as few extents as the fixed metadata
 * allows.
 */
export class BlockAllocator {
  private cursor: number;

  constructor(
    private readonly reserved: BlockSet,
    firstDataBlock: number,
    private readonly blocksCount: number,
  ) {
    this.cursor = firstDataBlock;
  }

  /** Up to `count` contiguous blocks; fewer when fixed metadata interrupts; undefined when full. */
  take(count: number): { start: number; len: number } | undefined {
    const start = this.reserved.nextFree(this.cursor);
    if (start >= this.blocksCount) return undefined;
    const end = this.reserved.nextUsed(start, Math.min(start + count, this.blocksCount));
    this.cursor = end;
    return { start, len: end - start };
  }

  /**
   * `count` blocks mapped from logical block `lblk`, appended to `extents` (merged with the last
   * extent when contiguous). False when the filesystem is full.
   */
  takeExtents(lblk: number, count: number, extents: Extent[]): boolean {
    let done = 0;
    while (done < count) {
      const run = this.take(count - done);
      if (!run) return false;
      appendExtent(extents, { lblk: lblk + done, pblk: run.start, len: run.len });
      done += run.len;
    }
    return true;
  }

  /** `count` single blocks (for tree and index blocks), or undefined when full. */
  takeBlocks(count: number): number[] | undefined {
    const out: number[] = [];
    while (out.length < count) {
      const run = this.take(count - out.length);
      if (!run) return undefined;
      for (let i = 0; i < run.len; i++) out.push(run.start + i);
    }
    return out;
  }
}
