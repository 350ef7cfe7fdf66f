/**
 * The LZMA encoder's match finders: for each input position, in order, the matches that end a
 * search (each longer than the one before, with its distance), found through hash heads of the
 * 2, 3 and 4 bytes at the position and then either a hash chain (the fast levels: every earlier
 * position with the same 4-byte hash, newest first, up to `depth` of them) or a binary tree (the
 * normal levels: the earlier positions with that hash kept sorted by the strings that start
 * there, so one descent finds the longest matches at each distance; liblzma's bt4 works this
 * way). Distances stay below the dictionary size.
 *
 * Tables hold base + position, kept below 2^31 (small integers for V8); entries below the
 * call's base are from earlier calls and count as empty, so nothing is cleared between calls.
 */

const HASH2_BITS = 10;
const PRIME = 0x9e3779b1 | 0;

export class MatchFinder {
  /** The matches of the last find: lengths rising, with their distances minus one. */
  readonly lens: Int32Array;
  readonly dists: Int32Array;
  /** The last position of each hash of 2, 3 and 4 bytes. */
  private readonly head2 = new Int32Array(1 << HASH2_BITS);
  private readonly head3: Int32Array;
  private readonly head4: Int32Array;
  private readonly hash3Shift: number;
  private readonly hash4Shift: number;
  /** Per position (base + position, masked): the chain link, or the tree's two children. */
  private links = new Int32Array(0);
  private mask = 0;
  private base = 1;
  private src: Uint8Array = new Uint8Array(0);
  private end = 0;
  /** The largest distance minus one allowed. */
  private readonly maxBack: number;

  constructor(
    private readonly binaryTree: boolean,
    /** Searches stop at this length (the longest is then extended as far as it goes). */
    private readonly nice: number,
    /** How many candidates a search visits at most. */
    private readonly depth: number,
    /** Distances (1-based) stay below this. */
    dictSize: number,
    /** The longest match the format codes. */
    private readonly maxLen: number,
  ) {
    this.maxBack = dictSize - 2;
    // As many 4-byte heads as the window has positions (small tables stay in the cache).
    const hash4Bits = Math.min(20, Math.max(12, 32 - Math.clz32(dictSize - 1)));
    const hash3Bits = Math.min(16, hash4Bits - 1);
    this.head3 = new Int32Array(1 << hash3Bits);
    this.head4 = new Int32Array(1 << hash4Bits);
    this.hash3Shift = 32 - hash3Bits;
    this.hash4Shift = 32 - hash4Bits;
    this.lens = new Int32Array(maxLen + 2);
    this.dists = new Int32Array(maxLen + 2);
  }

  /** Starts on a new input: the entries of earlier calls stop counting. */
  begin(src: Uint8Array): void {
    this.base += this.end + 1;
    if (this.base + src.length > 0x3fffffff) {
      this.head2.fill(0);
      this.head3.fill(0);
      this.head4.fill(0);
      this.links.fill(0);
      this.base = 1;
    }
    this.src = src;
    this.end = src.length;
    // Every live entry lies within maxBack of the position searched: a window of that many
    // slots (a power of two) never hands out a slot still needed.
    const window = Math.min(this.maxBack + 2, src.length);
    if (window > this.mask + 1) {
      const size = 2 ** Math.ceil(Math.log2(window));
      this.links = new Int32Array(this.binaryTree ? 2 * size : size);
      this.mask = size - 1;
    }
  }

  /** Finds the matches at `pos` (which must follow the last position found or skipped); returns how many. */
  find(pos: number): number {
    const src = this.src;
    const avail = this.end - pos;
    const limit = avail < this.nice ? avail : this.nice;
    if (limit < 4) return 0;
    const abs = this.base + pos;
    const lo = Math.max(this.base, abs - this.maxBack - 1);
    const b0 = src[pos]!;
    const b1 = src[pos + 1]!;
    const b2 = src[pos + 2]!;
    const v2 = b0 | (b1 << 8);
    const v3 = v2 | (b2 << 16);
    const h2 = Math.imul(v2, PRIME) >>> (32 - HASH2_BITS);
    const h3 = Math.imul(v3, PRIME) >>> this.hash3Shift;
    const h4 = Math.imul(v3 | (src[pos + 3]! << 24), PRIME) >>> this.hash4Shift;
    const c2 = this.head2[h2]!;
    const c3 = this.head3[h3]!;
    const cur = this.head4[h4]!;
    this.head2[h2] = abs;
    this.head3[h3] = abs;
    this.head4[h4] = abs;
    const lens = this.lens;
    const dists = this.dists;
    let count = 0;
    let best = 1;
    let near = 0;
    if (c2 >= lo && src[c2 - this.base] === b0 && src[c2 - this.base + 1] === b1) {
      lens[0] = best = 2;
      dists[0] = abs - c2 - 1;
      count = 1;
      near = c2;
    }
    if (c3 >= lo && c3 !== c2) {
      const q = c3 - this.base;
      if (src[q] === b0 && src[q + 1] === b1 && src[q + 2] === b2) {
        lens[count] = best = 3;
        dists[count++] = abs - c3 - 1;
        near = c3;
      }
    }
    if (count > 0) {
      // The nearer candidate may go further: extend the last one found.
      const q = near - this.base;
      while (best < limit && src[q + best] === src[pos + best]) best++;
      lens[count - 1] = best;
      if (best === limit) {
        if (this.binaryTree) this.tree(pos, abs, cur, lo, limit, limit, 0);
        else this.links[abs & this.mask] = cur;
        return this.extend(pos, count);
      }
    }
    if (best < 3) best = 3;
    if (this.binaryTree) count = this.tree(pos, abs, cur, lo, limit, best, count);
    else {
      this.links[abs & this.mask] = cur;
      count = this.chain(pos, abs, cur, lo, limit, best, count);
    }
    return this.extend(pos, count);
  }

  /** Puts `n` positions from `pos` in the tables without searching. */
  skip(pos: number, n: number): void {
    const src = this.src;
    for (const stop = pos + n; pos < stop; pos++) {
      const avail = this.end - pos;
      const limit = avail < this.nice ? avail : this.nice;
      if (limit < 4) continue;
      const abs = this.base + pos;
      const v2 = src[pos]! | (src[pos + 1]! << 8);
      const v3 = v2 | (src[pos + 2]! << 16);
      const h2 = Math.imul(v2, PRIME) >>> (32 - HASH2_BITS);
      const h3 = Math.imul(v3, PRIME) >>> this.hash3Shift;
      const h4 = Math.imul(v3 | (src[pos + 3]! << 24), PRIME) >>> this.hash4Shift;
      const cur = this.head4[h4]!;
      this.head2[h2] = abs;
      this.head3[h3] = abs;
      this.head4[h4] = abs;
      if (this.binaryTree) this.tree(pos, abs, cur, Math.max(this.base, abs - this.maxBack - 1), limit, limit, 0);
      else this.links[abs & this.mask] = cur;
    }
  }

  /** A longest match as long as the search limit may go on: follow it to the format's maximum. */
  private extend(pos: number, count: number): number {
    if (count === 0) return 0;
    let len = this.lens[count - 1]!;
    if (len < this.nice) return count;
    const src = this.src;
    const q = pos - this.dists[count - 1]! - 1;
    const limit = Math.min(this.end - pos, this.maxLen);
    while (len < limit && src[q + len] === src[pos + len]) len++;
    this.lens[count - 1] = len;
    return count;
  }

  /** Walks the hash chain from `cur`, recording each match longer than `best`. */
  private chain(pos: number, abs: number, cur: number, lo: number, limit: number, best: number, count: number): number {
    const src = this.src;
    const links = this.links;
    const mask = this.mask;
    const base = this.base;
    for (let depth = this.depth; cur >= lo && depth > 0; depth--) {
      const q = cur - base;
      if (src[q + best] === src[pos + best] && src[q] === src[pos]) {
        let len = 1;
        while (len < limit && src[q + len] === src[pos + len]) len++;
        if (len > best) {
          best = len;
          this.lens[count] = len;
          this.dists[count++] = abs - cur - 1;
          if (len === limit) break;
        }
      }
      cur = links[cur & mask]!;
    }
    return count;
  }

  /**
   * Inserts `pos` at the root of its hash's binary tree, descending from the old root `cur`:
   * each candidate goes left or right of the new node by how its string compares, and the length
   * both sides already share lets each comparison start past it. Records the matches longer than
   * `best` (none when best is the limit). A candidate matching to the limit takes over its
   * subtrees; the search cut at `depth` or the window leaves empty links.
   */
  private tree(pos: number, abs: number, cur: number, lo: number, limit: number, best: number, count: number): number {
    const src = this.src;
    const links = this.links;
    const mask = this.mask;
    const base = this.base;
    const lens = this.lens;
    const dists = this.dists;
    // Where the next smaller (greater) candidate hangs, and how long its common prefix is at least.
    let lessAt = 2 * (abs & mask);
    let greaterAt = lessAt + 1;
    let lessLen = 0;
    let greaterLen = 0;
    for (let depth = this.depth; ; depth--) {
      if (cur < lo || depth === 0) {
        links[lessAt] = 0;
        links[greaterAt] = 0;
        return count;
      }
      const q = cur - base;
      const node = 2 * (cur & mask);
      let len = lessLen < greaterLen ? lessLen : greaterLen;
      if (src[q + len] === src[pos + len]) {
        while (++len < limit && src[q + len] === src[pos + len]);
        if (len > best) {
          best = len;
          lens[count] = len;
          dists[count++] = abs - cur - 1;
        }
        if (len === limit) {
          links[lessAt] = links[node]!;
          links[greaterAt] = links[node + 1]!;
          return count;
        }
      }
      if (src[q + len]! < src[pos + len]!) {
        links[lessAt] = cur;
        lessAt = node + 1;
        cur = links[lessAt]!;
        lessLen = len;
      } else {
        links[greaterAt] = cur;
        greaterAt = node;
        cur = links[greaterAt]!;
        greaterLen = len;
      }
    }
  }
}
