import type { Hash } from 'node:crypto';
import type { OutputFile } from '@fstools/fstree';

const WINDOW = 4 << 20;

/**
 * Writes the metadata end of the image (directory and symlink blocks, shared xattrs, inode
 * records) through a fixed window: pieces come in increasing offset order, so memory stays flat
 * however large the metadata is. What is written is also hashed (with its offsets) for the
 * content-derived UUID.
 */
export class RegionWriter {
  private window = Buffer.alloc(WINDOW);
  private winStart = 0;
  private winUsed = 0;
  private last = 0;

  constructor(
    private readonly out: OutputFile,
    private readonly hash: Hash,
  ) {}

  /**
   * Zeroed room to fill for bytes [offset, offset + length) of the image: `buf` from byte `at`,
   * valid until the next call. A position in the window rather than a view of it, because
   * thousands of inodes each ask and a Buffer view costs more than filling it.
   */
  slice(offset: number, length: number): { buf: Buffer; at: number } {
    if (offset < this.last) throw new Error(`region piece at ${offset} comes after ${this.last}`);
    this.last = offset + length;
    if (length > WINDOW) {
      this.flush();
      const own = Buffer.alloc(length);
      this.pending = { offset, bytes: own };
      return { buf: own, at: 0 };
    }
    if (this.winUsed === 0 || offset + length > this.winStart + WINDOW) {
      this.flush();
      this.winStart = offset;
      this.window.fill(0);
    }
    this.winUsed = Math.max(this.winUsed, offset + length - this.winStart);
    return { buf: this.window, at: offset - this.winStart };
  }

  flush(): void {
    if (this.pending) {
      this.emit(this.pending.offset, this.pending.bytes);
      this.pending = undefined;
    }
    if (this.winUsed > 0) this.emit(this.winStart, this.window.subarray(0, this.winUsed));
    this.winUsed = 0;
  }

  private pending: { offset: number; bytes: Buffer } | undefined;

  private emit(offset: number, bytes: Buffer): void {
    this.hash.update(String(offset));
    this.hash.update(bytes);
    this.out.write(bytes, offset);
  }
}
