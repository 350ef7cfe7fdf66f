import { OutputFile } from '@fstools/fstree';

/** Contiguous writes are gathered up to this many bytes before they go to the file. */
const COALESCE = 8 << 20;

/**
 * The image being written: an fstree OutputFile (a temporary file beside the target, renamed over
 * it on success, removed on failure; unwritten ranges stay holes) filled with positional writes,
 * contiguous ones gathered first (metadata arrives in many small pieces). Writes are synchronous,
 * in fstree's WRITE_PIECE pieces: measured steadier and, on a fragmented machine, faster than
 * handing multi-MiB writes to libuv's threads.
 */
export class ImageFile {
  private readonly file: OutputFile;
  private readonly pending = Buffer.allocUnsafe(COALESCE);
  private pendingPos = 0;
  private pendingLen = 0;
  /** Bytes written so far. */
  written = 0;

  private constructor(readonly target: string) {
    this.file = OutputFile.create(target, { durable: true });
  }

  static create(target: string): ImageFile {
    return new ImageFile(target);
  }

  write(pos: number, data: Uint8Array): void {
    if (data.length === 0) return;
    if (this.pendingLen && pos === this.pendingPos + this.pendingLen && this.pendingLen + data.length <= COALESCE) {
      this.pending.set(data, this.pendingLen);
      this.pendingLen += data.length;
      return;
    }
    this.flush();
    if (data.length >= COALESCE) {
      this.writeNow(pos, data);
      return;
    }
    this.pending.set(data, 0);
    this.pendingPos = pos;
    this.pendingLen = data.length;
  }

  /** Writes out what is gathered. */
  flush(): void {
    if (this.pendingLen === 0) return;
    this.writeNow(this.pendingPos, this.pending.subarray(0, this.pendingLen));
    this.pendingLen = 0;
  }

  /** Sets the file's length (extending it with a hole), syncs it (like mke2fs) and moves it over the target. */
  async commit(size: number): Promise<void> {
    this.flush();
    await this.file.writtenBack();
    this.file.commit(size);
  }

  /** Removes the temporary file; safe to call more than once. */
  async abort(): Promise<void> {
    await this.file.writtenBack();
    this.file.discard();
  }

  private writeNow(pos: number, data: Uint8Array): void {
    this.file.write(data, pos);
    this.written += data.length;
  }
}
