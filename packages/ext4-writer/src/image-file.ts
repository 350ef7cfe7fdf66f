import { closeSync, fdatasyncSync, ftruncateSync, openSync, renameSync, unlinkSync, write, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { describeSystemError, InputError } from '@fstools/fstree';

/** Contiguous writes are gathered up to this many bytes before they go to the file. */
const COALESCE = 8 << 20;
/** Gathered buffers that may be on their way to the file at once (written by libuv's threads). */
const IN_FLIGHT = 3;

/**
 * The image being written: a temporary file beside the target, filled with positional writes
 * (contiguous ones gathered and handed to background threads, so reading the source and writing
 * the image overlap), renamed over the target on success and removed on failure. Unwritten ranges
 * stay holes. Every region is written once, so writes may land in any order.
 */
export class ImageFile {
  private readonly fd: number;
  private readonly spare: Buffer[] = [];
  private pending: Buffer;
  private pendingPos = 0;
  private pendingLen = 0;
  private inFlight = 0;
  private failure: unknown;
  private waiters: Array<() => void> = [];
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
    this.pending = Buffer.allocUnsafe(COALESCE);
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
    this.submit();
    if (data.length >= COALESCE) {
      this.writeNow(pos, data);
      return;
    }
    this.pending.set(data, 0);
    this.pendingPos = pos;
    this.pendingLen = data.length;
  }

  /** Hands the gathered bytes to a background write, or writes them here when enough are in flight. */
  private submit(): void {
    if (this.pendingLen === 0) return;
    const len = this.pendingLen;
    const pos = this.pendingPos;
    this.pendingLen = 0;
    if (this.inFlight >= IN_FLIGHT) {
      this.writeNow(pos, this.pending.subarray(0, len));
      return;
    }
    const buf = this.pending;
    this.pending = this.spare.pop() ?? Buffer.allocUnsafe(COALESCE);
    this.inFlight++;
    this.written += len;
    const done = (err: unknown, n: number): void => {
      if (!err && n < len) {
        write(this.fd, buf, n, len - n, pos + n, done);
        return;
      }
      if (err) this.failure ??= err;
      this.inFlight--;
      this.spare.push(buf);
      for (const w of this.waiters.splice(0)) w();
    };
    write(this.fd, buf, 0, len, pos, done);
  }

  /** Waits until a background write finishes if all are busy: lets the producer keep pace with the disk. */
  async room(): Promise<void> {
    while (this.inFlight >= IN_FLIGHT) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.check();
  }

  /** Waits until every write has reached the file; throws the first write error. */
  async flush(): Promise<void> {
    this.submit();
    while (this.inFlight) await new Promise<void>((resolve) => this.waiters.push(resolve));
    this.check();
  }

  private check(): void {
    if (this.failure) throw new InputError(this.target, `cannot write the image: ${describeSystemError(this.failure)}`);
  }

  /** Sets the file's length (extending it with a hole), syncs it and moves it over the target. */
  async commit(size: number): Promise<void> {
    await this.flush();
    try {
      ftruncateSync(this.fd, size);
      fdatasyncSync(this.fd);
      closeSync(this.fd);
      renameSync(this.tmp, this.target);
    } catch (err) {
      await this.abort();
      throw new InputError(this.target, `cannot write the image: ${describeSystemError(err)}`);
    }
  }

  /** Removes the temporary file once no write is pending; safe to call more than once. */
  async abort(): Promise<void> {
    await this.flush().catch(() => {});
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

  private writeNow(pos: number, data: Uint8Array): void {
    let done = 0;
    try {
      while (done < data.length) done += writeSync(this.fd, data, done, data.length - done, pos + done);
    } catch (err) {
      throw new InputError(this.target, `cannot write the image: ${describeSystemError(err)}`);
    }
    this.written += data.length;
  }
}
