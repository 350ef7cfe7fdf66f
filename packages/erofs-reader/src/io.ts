import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { describeSystemError } from '@fstools/fstree';
import type { Fail } from './errors.js';

/** Largest metadata read the reader allocates for; larger requests mean a corrupt size field. */
export const MAX_READ = 64 * 1024 * 1024;

/**
 * A file opened for synchronous positional reads, with a small LRU cache of aligned blocks for
 * metadata. Every read is bounds-checked against the file size: a short image is an IO error, never
 * a partial buffer.
 */
export class BlockFile {
  readonly size: number;
  private readonly fd: number;
  private readonly cache = new Map<number, Buffer>();

  constructor(
    readonly path: string,
    private readonly fail: Fail,
    private readonly cacheBlockSize = 4096,
    private readonly cacheBlocks = 64,
  ) {
    // `fail` names the file already.
    let isDir: boolean;
    try {
      this.fd = openSync(path, 'r');
      const st = fstatSync(this.fd);
      this.size = st.size;
      isDir = st.isDirectory();
    } catch (err) {
      fail('IO', `cannot open: ${describeSystemError(err)}`);
    }
    if (isDir) {
      closeSync(this.fd);
      fail('IO', 'is a directory, not an image');
    }
  }

  /** Fills `buf` from byte `pos`; the whole range must lie inside the file. */
  readInto(buf: Uint8Array, pos: number, device = 0): void {
    this.check(pos, buf.length, device, Infinity);
    let done = 0;
    while (done < buf.length) {
      let n: number;
      try {
        n = readSync(this.fd, buf, done, buf.length - done, pos + done);
      } catch (err) {
        this.fail('IO', `cannot read: ${describeSystemError(err)}`, { offset: pos + done, device });
      }
      if (n === 0) this.fail('IO', 'ends early', { offset: pos + done, device });
      done += n;
    }
  }

  /** `len` bytes at `pos` through the block cache (for small metadata reads). */
  read(pos: number, len: number, device = 0): Buffer {
    this.check(pos, len, device, MAX_READ);
    const bs = this.cacheBlockSize;
    const first = Math.floor(pos / bs);
    const last = Math.floor((pos + len - 1) / bs);
    if (len > 0 && first === last) {
      const blk = this.block(first, device);
      const off = pos - first * bs;
      return blk.subarray(off, off + len);
    }
    const out = Buffer.alloc(len);
    for (let b = first; len > 0 && b <= last; b++) {
      const blk = this.block(b, device);
      const s = Math.max(pos, b * bs);
      const e = Math.min(pos + len, b * bs + blk.length);
      blk.copy(out, s - pos, s - b * bs, e - b * bs);
    }
    return out;
  }

  close(): void {
    closeSync(this.fd);
    this.cache.clear();
  }

  private block(b: number, device: number): Buffer {
    const hit = this.cache.get(b);
    if (hit) {
      this.cache.delete(b);
      this.cache.set(b, hit);
      return hit;
    }
    const start = b * this.cacheBlockSize;
    const buf = Buffer.alloc(Math.min(this.cacheBlockSize, this.size - start));
    this.readInto(buf, start, device);
    this.cache.set(b, buf);
    if (this.cache.size > this.cacheBlocks) this.cache.delete(this.cache.keys().next().value!);
    return buf;
  }

  private check(pos: number, len: number, device: number, max: number): void {
    if (!Number.isSafeInteger(pos) || pos < 0 || len < 0 || len > max) {
      this.fail('BLOCK_OUT_OF_RANGE', `bad read of ${len} bytes at ${pos}`, { device });
    }
    if (pos + len > this.size) {
      this.fail('IO', `read of ${len} bytes at ${pos} goes past the end of the file (${this.size} bytes)`, { offset: pos, device });
    }
  }
}
