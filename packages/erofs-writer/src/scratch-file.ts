import { closeSync, openSync, readSync, unlinkSync } from 'node:fs';
import { describeSystemError, InputError, tempBeside, writeAll } from '@fstools/fstree';

const SCRATCH_STAGE = 1 << 20;

/**
 * An anonymous scratch file (unlinked at once) for bytes parked until the metadata pass: appends
 * are batched; reads come after the last append.
 */
export class ScratchFile {
  private flushed = 0;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private readonly fd: number;

  constructor(besides: string) {
    const path = tempBeside(besides, 'scratch');
    try {
      this.fd = openSync(path, 'wx+', 0o600);
    } catch (err) {
      throw new InputError(besides, `cannot create scratch file: ${describeSystemError(err)}`);
    }
    unlinkSync(path);
  }

  /** Appends bytes (copied); returns their offset. */
  append(bytes: Uint8Array): number {
    const at = this.flushed + this.pendingBytes;
    this.pending.push(Buffer.from(bytes));
    this.pendingBytes += bytes.length;
    if (this.pendingBytes >= SCRATCH_STAGE) this.flush();
    return at;
  }

  read(offset: number, length: number): Buffer {
    this.flush();
    return this.pread(offset, length);
  }

  close(): void {
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.pendingBytes === 0) return;
    writeAll(this.fd, Buffer.concat(this.pending), this.flushed, 'scratch file');
    this.flushed += this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
  }

  private pread(offset: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) throw new Error('scratch file shorter than written');
      done += n;
    }
    return buf;
  }
}
