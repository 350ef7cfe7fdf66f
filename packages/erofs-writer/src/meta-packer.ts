/**
 * Places inode records in the metadata area. Records start 32-byte aligned (nids count 32-byte
 * slots). A record carrying inline tail data must sit wholly inside one block, since the kernel
 * refuses inline data that crosses a block boundary, and no inode header may straddle one; other
 * records (long xattr, chunk or lcluster index arrays) may run on across blocks, a compressed
 * file's tail-packed pcluster at their end staying inside one. Padding gaps left before a record
 * are reused by later records that fit them (first fit), so inlining costs little space.
 */
export class MetaPacker {
  private end = 0;
  private gaps: Array<{ start: number; end: number }> = [];

  constructor(
    private readonly blockSize: number,
    /** Bytes at the start of the area never handed out (keeps nid 0, and so inode number 0, unused). */
    reserved: number,
  ) {
    this.end = reserved;
  }

  /**
   * Places a record of `size` bytes; `oneBlock` when it must not cross a block boundary, else
   * `tailBytes` when its last that many bytes must not. Returns its offset.
   */
  place(size: number, oneBlock: boolean, headerSize: number, tailBytes = 0): number {
    const span = align32(size);
    const fits = (at: number): boolean => this.fits(at, size, oneBlock, headerSize) && (tailBytes === 0 || ((at + size - tailBytes) % this.blockSize) + tailBytes <= this.blockSize);
    const gap = this.gaps.findIndex((g) => g.end - g.start >= span && fits(g.start));
    if (gap >= 0) {
      const g = this.gaps[gap]!;
      const at = g.start;
      g.start += span;
      if (g.end - g.start < 32) this.gaps.splice(gap, 1);
      return at;
    }
    let at = this.end;
    if (!fits(at)) {
      let next = Math.ceil((at + 1) / this.blockSize) * this.blockSize;
      // A tail that must stay in one block may need a start inside a block: the first slot that
      // works (one exists within two blocks for tails up to a block less 64 bytes).
      if (tailBytes > 0) for (next = at + 32; !fits(next); next += 32) if (next > at + 2 * this.blockSize) throw new Error(`no place for a record with a ${tailBytes}-byte inline tail`);
      this.addGap(at, next);
      at = next;
    }
    this.end = at + span;
    return at;
  }

  /** Bytes used, rounded to a whole slot. */
  size(): number {
    return this.end;
  }

  private fits(at: number, size: number, oneBlock: boolean, headerSize: number): boolean {
    const inBlock = at % this.blockSize;
    if (oneBlock && size <= this.blockSize) return inBlock + size <= this.blockSize;
    return inBlock + headerSize <= this.blockSize;
  }

  private addGap(start: number, end: number): void {
    if (end - start < 32) return;
    this.gaps.push({ start, end });
    if (this.gaps.length > 64) this.gaps.shift(); // bounded search; old small gaps rarely fit
  }
}

function align32(n: number): number {
  return (n + 31) & ~31;
}
