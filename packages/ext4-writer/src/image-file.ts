import { closeSync, fdatasyncSync, ftruncateSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeSystemError, InputError } from '@fstools/fstree';

/** Contiguous writes are gathered up to this many bytes before they reach the file. */
const COALESCE = 8 << 20;

/**
 * The image being written: a temporary file beside the target, filled with positional writes
 * (contiguous ones coalesced), renamed over the target on success and removed on failure. Unwritten
 * ranges stay holes.
 */
export class ImageFile {
  private readonly fd: number;
  private readonly pending = Buffer.allocUnsafe(COALESCE);
  private pendingPos = 0;
  private pendingLen = 0;
  /** Bytes written so far. */
  written = 0;

  private constructor(
    readonly target: string,
    private readonly tmp: string,
  ) {
    try {
      this.fd = openSync(tmp, 'wx', 0o644);
    } catch (err) {
      throw new InputError(target, `cannot create the image: ${describeSystemError(err)}`);
    }
  }

  static create(target: string): ImageFile {
    const tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
    return new ImageFile(target, tmp);
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
      this.writeAt(pos, data);
      return;
    }
    this.pending.set(data, 0);
    this.pendingPos = pos;
    this.pendingLen = data.length;
  }

  flush(): void {
    if (this.pendingLen === 0) return;
    this.writeAt(this.pendingPos, this.pending.subarray(0, this.pendingLen));
    this.pendingLen = 0;
  }

  /** Sets the file's length (extending it with a hole), syncs it and moves it over the target. */
  commit(size: number): void {
    this.flush();
    try {
      ftruncateSync(this.fd, size);
      fdatasyncSync(this.fd);
      closeSync(this.fd);
      renameSync(this.tmp, this.target);
    } catch (err) {
      this.abort();
      throw new InputError(this.target, `cannot write the image: ${describeSystemError(err)}`);
    }
  }

  /** Removes the temporary file; safe to call more than once. */
  abort(): void {
    try {
      closeSync(this.fd);
    } catch {
      // already closed
    }
    try {
      unlinkSync(this.tmp);
    } catch {
      // already gone
    }
  }

  private writeAt(pos: number, data: Uint8Array): void {
    let done = 0;
    try {
      while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, pos + done);
    } catch (err) {
      throw new InputError(this.target, `cannot write the image: ${describeSystemError(err)}`);
    }
    this.written += data.length;
  }
}
