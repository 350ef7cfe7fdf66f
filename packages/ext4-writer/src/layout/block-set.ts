/**
 * A set of block numbers kept as sorted, disjoint [start, end) runs, bucketed by block group so
 * that marking and lookups stay cheap on multi-TiB filesystems with millions of groups.
 */
export class BlockSet {
  private readonly buckets = new Map<number, number[]>();

  constructor(
    private readonly firstDataBlock: number,
    private readonly blocksPerGroup: number,
  ) {}

  /** An independent copy. */
  clone(): BlockSet {
    const copy = new BlockSet(this.firstDataBlock, this.blocksPerGroup);
    for (const [g, runs] of this.buckets) copy.buckets.set(g, [...runs]);
    return copy;
  }

  /** Adds [start, start + count). */
  mark(start: number, count: number): void {
    let s = start;
    const end = start + count;
    while (s < end) {
      const g = this.groupOf(s);
      const e = Math.min(end, this.groupStart(g + 1));
      this.insert(g, s, e);
      s = e;
    }
  }

  /** The first block at or after `from` not in the set. */
  nextFree(from: number): number {
    let b = from;
    for (;;) {
      const runs = this.buckets.get(this.groupOf(b));
      const inRun = runs ? findRun(runs, b) : -1;
      if (inRun < 0) return b;
      b = runs![inRun + 1]!;
    }
  }

  /** The first block in [from, limit) that is in the set, or `limit`. */
  nextUsed(from: number, limit: number): number {
    let g = this.groupOf(from);
    while (this.groupStart(g) < limit) {
      const runs = this.buckets.get(g);
      if (runs) {
        for (let i = 0; i < runs.length; i += 2) {
          if (runs[i + 1]! > from) return Math.min(Math.max(runs[i]!, from), limit);
        }
      }
      g++;
    }
    return limit;
  }

  /** Blocks of the set within [start, end). */
  countIn(start: number, end: number): number {
    let n = 0;
    for (const [s, e] of this.runsIn(start, end)) n += e - s;
    return n;
  }

  /** The set's runs clipped to [start, end), ascending. */
  *runsIn(start: number, end: number): Generator<[number, number]> {
    for (let g = this.groupOf(start); this.groupStart(g) < end; g++) {
      const runs = this.buckets.get(g);
      if (!runs) continue;
      for (let i = 0; i < runs.length; i += 2) {
        const s = Math.max(runs[i]!, start);
        const e = Math.min(runs[i + 1]!, end);
        if (s < e) yield [s, e];
      }
    }
  }

  private groupOf(block: number): number {
    return Math.max(0, Math.floor((block - this.firstDataBlock) / this.blocksPerGroup));
  }

  private groupStart(group: number): number {
    return group === 0 ? 0 : this.firstDataBlock + group * this.blocksPerGroup;
  }

  private insert(g: number, s: number, e: number): void {
    let runs = this.buckets.get(g);
    if (!runs) {
      this.buckets.set(g, [s, e]);
      return;
    }
    // Merge with every run that overlaps or touches [s, e).
    let i = 0;
    while (i < runs.length && runs[i + 1]! < s) i += 2;
    let j = i;
    let ns = s;
    let ne = e;
    while (j < runs.length && runs[j]! <= e) {
      ns = Math.min(ns, runs[j]!);
      ne = Math.max(ne, runs[j + 1]!);
      j += 2;
    }
    runs.splice(i, j - i, ns, ne);
  }
}

/** Index of the run holding `block`, or -1. */
function findRun(runs: number[], block: number): number {
  for (let i = 0; i < runs.length; i += 2) {
    if (block < runs[i]!) return -1;
    if (block < runs[i + 1]!) return i;
  }
  return -1;
}
