import { closeSync, ftruncateSync, openSync, readSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { describeSystemError, InputError } from '@fstools/fstree';

function writeAll(fd: number, buf: Uint8Array, pos: number, name: string): void {
  let done = 0;
  while (done < buf.length) {
    try {
      done += writeSync(fd, buf, done, buf.length - done, pos + done);
    } catch (err) {
      throw new InputError(name, `cannot write: ${describeSystemError(err)}`);
    }
  }
}

/**
 * The image being written: a temp file beside the target, renamed over it only when complete, so
 * a failed run leaves no half image.
 */
export class OutputFile {
  private closed = false;

  private constructor(
    readonly target: string,
    private readonly temp: string,
    private readonly fd: number,
  ) {}

  static create(target: string): OutputFile {
    const temp = join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    let fd: number;
    try {
      fd = openSync(temp, 'wx', 0o644);
    } catch (err) {
      throw new InputError(target, `cannot create: ${describeSystemError(err)}`);
    }
    return new OutputFile(target, temp, fd);
  }

  write(buf: Uint8Array, pos: number): void {
    writeAll(this.fd, buf, pos, this.target);
  }

  /** Sets the final size; blocks never written stay holes in the host file. */
  truncate(size: number): void {
    ftruncateSync(this.fd, size);
  }

  /** Moves the finished image into place (no fsync, like mkfs tools: durability is the caller's call). */
  commit(): void {
    closeSync(this.fd);
    this.closed = true;
    try {
      renameSync(this.temp, this.target);
    } catch (err) {
      this.discard();
      throw new InputError(this.target, `cannot rename into place: ${describeSystemError(err)}`);
    }
  }

  /** Removes the temp file (after an error). Safe to call more than once. */
  discard(): void {
    if (!this.closed) closeSync(this.fd);
    this.closed = true;
    try {
      unlinkSync(this.temp);
    } catch {
      // already gone
    }
  }
}

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
    const path = join(dirname(besides), `.${basename(besides)}.${process.pid}.${randomBytes(4).toString('hex')}.scratch`);
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
