import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';

/**
 * Pclusters already in the image, by content (with -E fragments, as mkfs.erofs does there): a
 * pcluster whose bytes were written before is referred to by the block it was written at instead
 * of being written again. Keyed by the first 128 bits of SHA-256, so a match is a match; memory
 * grows with the number of pclusters.
 */
export class PclusterDedupe {
  private readonly written = new Map<string, number>();

  /** The block an identical pcluster starts at, if one was written. */
  find(pcluster: Uint8Array): { key: string; blkaddr: number | undefined } {
    const key = createHash('sha256').update(pcluster).digest('base64').slice(0, 22) + pcluster.length;
    return { key, blkaddr: this.written.get(key) };
  }

  /** Records where a pcluster (found new by `find`) was written. */
  add(key: string, blkaddr: number): void {
    this.written.set(key, blkaddr);
  }
}

/** A stretch of input that decodes from an earlier pcluster (see DedupeIndex.find). */
export interface DedupeMatch {
  /** Where in the input it starts. */
  at: number;
  length: number;
  /** The earlier pcluster: its serial number, size and kind. */
  serial: number;
  plen: number;
  raw: boolean;
  /** The pcluster decodes to more than this stretch (PARTIAL_REF). */
  partial: boolean;
}

interface Entry {
  hash: number;
  /** A second hash of the first window, to skip storing the same start twice. */
  check: number;
  serial: number;
  plen: number;
  raw: boolean;
  /** The extent's decoded bytes in the store, and their length. */
  offset: number;
  length: number;
}

const B = 0x01000193;
const C = 0x5bd1e995;
const FILTER_BITS = 22;

/**
 * What -E dedupe shares (mkfs.erofs lib/dedupe.c): every extent written is remembered by a
 * rolling hash of its first block of decoded bytes, with those bytes (kept in a scratch file, so
 * memory grows with the number of extents, not their bytes). Before each new pcluster the planner
 * looks back from its position, byte by byte, into the previous extent for a block that starts a
 * remembered extent and runs on past the position: that stretch then decodes from the old
 * pcluster (the previous extent shortened to end where it starts), and nothing new is written for
 * it. Pclusters are named by serial number (their order of writing); the writer maps them to
 * blocks. Planning with dedupe is sequential: one thread, in file order.
 */
export class DedupeIndex {
  private readonly entries: Entry[] = [];
  private readonly buckets = new Map<number, number[]>();
  private readonly filter = new Uint8Array(1 << FILTER_BITS);
  /** B^(window - 1), for rolling the hash back a byte. */
  private readonly top: number;
  private readonly fd: number;
  private stored = 0;
  /** Serial number of the next new pcluster. */
  serial = 0;

  constructor(
    private readonly window: number,
    scratchPath: string,
  ) {
    let top = 1;
    for (let i = 1; i < window; i++) top = Math.imul(top, B);
    this.top = top;
    this.fd = openSync(scratchPath, 'wx+', 0o600);
    unlinkSync(scratchPath);
  }

  close(): void {
    closeSync(this.fd);
  }

  /** Sum of src[at + i] * B^i over the window (mod 2^32): rolling back a byte is multiply-and-add. */
  private hash(src: Uint8Array, at: number): number {
    let h = 0;
    for (let i = this.window - 1; i >= 0; i--) h = (Math.imul(h, B) + src[at + i]!) | 0;
    return h;
  }

  private check(src: Uint8Array, at: number): number {
    let h = 0;
    for (let i = 0; i < this.window; i += 4) h = (Math.imul(h, C) + src[at + i]!) | 0;
    return h;
  }

  /**
   * The nearest position from `cur` back to `start` where a remembered extent's bytes begin and
   * match beyond `cur` (longest match there, within `end`).
   */
  find(src: Uint8Array, start: number, cur: number, end: number): DedupeMatch | undefined {
    const w = this.window;
    let pos = Math.min(cur, end - w);
    if (pos < start) return undefined;
    let h = this.hash(src, pos);
    for (; pos >= start; pos--) {
      if (pos < Math.min(cur, end - w)) h = (src[pos]! + Math.imul(B, (h - Math.imul(src[pos + w]!, this.top)) | 0)) | 0;
      if (!this.filter[h >>> (32 - FILTER_BITS)]) continue;
      const bucket = this.buckets.get(h);
      if (!bucket) continue;
      let check: number | undefined;
      for (const i of bucket) {
        const e = this.entries[i]!;
        const span = Math.min(end - pos, e.length);
        if (span <= cur - pos) continue;
        if (e.check !== (check ??= this.check(src, pos))) continue;
        // Useful only if it runs on past `cur`: a look there first saves reading what lies between.
        const probe = Math.min(8, span - (cur - pos));
        if (!Buffer.from(this.read(e.offset + (cur - pos), probe)).equals(src.subarray(cur, cur + probe))) continue;
        const same = this.sameBytes(e, src, pos, span);
        if (same < w || same <= cur - pos) continue;
        return { at: pos, length: same, serial: e.serial, plen: e.plen, raw: e.raw, partial: same < e.length };
      }
    }
    return undefined;
  }

  /** Remembers a new pcluster's extent (`bytes` decoded), giving it the next serial number. */
  insert(bytes: Uint8Array, plen: number, raw: boolean): void {
    const serial = this.serial++;
    if (bytes.length < this.window) return;
    const hash = this.hash(bytes, 0);
    const check = this.check(bytes, 0);
    const bucket = this.buckets.get(hash) ?? [];
    if (bucket.some((i) => this.entries[i]!.check === check)) return;
    const offset = this.stored;
    for (let done = 0; done < bytes.length; ) done += writeSync(this.fd, bytes, done, bytes.length - done, offset + done);
    this.stored += bytes.length;
    bucket.push(this.entries.length);
    this.buckets.set(hash, bucket);
    this.filter[hash >>> (32 - FILTER_BITS)] = 1;
    this.entries.push({ hash, check, serial, plen, raw, offset, length: bytes.length });
  }

  /** Where the index stands, to forget what follows (a file that ends up stored uncompressed). */
  mark(): { entries: number; serial: number } {
    return { entries: this.entries.length, serial: this.serial };
  }

  rollback(m: { entries: number; serial: number }): void {
    for (const e of this.entries.splice(m.entries)) {
      const bucket = this.buckets.get(e.hash)!;
      bucket.pop();
      if (bucket.length === 0) this.buckets.delete(e.hash);
    }
    this.serial = m.serial;
  }

  /**
   * How many bytes from `pos` equal the entry's (at most `span`): growing pieces compared whole;
   * in the first unequal one the difference is found by halving (the half holding it is kept).
   */
  private sameBytes(e: Entry, src: Uint8Array, pos: number, span: number): number {
    let same = 0;
    for (let piece = this.window; same < span; piece = Math.min(piece * 4, 1 << 20)) {
      let n = Math.min(piece, span - same);
      let old = Buffer.from(this.read(e.offset + same, n));
      if (old.equals(src.subarray(pos + same, pos + same + n))) {
        same += n;
        continue;
      }
      while (n > 1) {
        const half = n >> 1;
        if (old.subarray(0, half).equals(src.subarray(pos + same, pos + same + half))) {
          same += half;
          old = old.subarray(half);
          n -= half;
        } else {
          old = old.subarray(0, half);
          n = half;
        }
      }
      return same;
    }
    return same;
  }

  private read(offset: number, length: number): Uint8Array {
    const buf = new Uint8Array(length);
    for (let done = 0; done < length; ) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new Error('dedupe store shorter than written');
      done += n;
    }
    return buf;
  }
}
