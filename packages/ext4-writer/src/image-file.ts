import { write } from 'node:fs';
import { describeSystemError, InputError, OutputFile } from '@fstools/fstree';

/** Contiguous writes are gathered up to this many bytes before they go to the file. */
const COALESCE = 8 << 20;
/** Gathered buffers that may be on their way to the file at once (written by libuv's threads). */
const IN_FLIGHT = 3;

/**
 * The image being written: an fstree OutputFile (a temporary file beside the target, renamed over
 * it on success, removed on failure; unwritten ranges stay holes) filled with positional writes,
 * contiguous ones gathered and handed to background threads so reading the source and writing
 * the image overlap. Every region is written once, so writes may land in any order.
 */
export class ImageFile {
  private readonly file: OutputFile;
  private readonly spare: Buffer[] = [];
  private pending: Buffer;
  private pendingPos = 0;
  private pendingLen = 0;
  private inFlight = 0;
  private failure: unknown;
  private waiters: Array<() => void> = [];
  /** Bytes written so far. */
  written = 0;

  private constructor(readonly target: string) {
    this.file = OutputFile.create(target);
    this.pending = Buffer.allocUnsafe(COALESCE);
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
        write(this.file.fd, buf, n, len - n, pos + n, done);
        return;
      }
      if (err) this.failure ??= err;
      this.inFlight--;
      this.spare.push(buf);
      for (const w of this.waiters.splice(0)) w();
    };
    write(this.file.fd, buf, 0, len, pos, done);
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
    if (this.failure) throw new InputError(this.target, `cannot write: ${describeSystemError(this.failure)}`);
  }

  /** Sets the file's length (extending it with a hole), syncs it and moves it over the target. */
  async commit(size: number): Promise<void> {
    await this.flush();
    this.file.commit(size, { sync: true });
  }

  /** Removes the temporary file once no write is pending; safe to call more than once. */
  async abort(): Promise<void> {
    await this.flush().catch(() => {});
    this.file.discard();
  }

  private writeNow(pos: number, data: Uint8Array): void {
    this.file.write(data, pos);
    this.written += data.length;
  }
}
