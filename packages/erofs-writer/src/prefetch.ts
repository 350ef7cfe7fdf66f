import { close, open, read } from 'node:fs';
import type { FileInode } from '@fstools/fstree';
import { describeSystemError, InputError, openData } from '@fstools/fstree';

const CHUNK = 1 << 20;
const AHEAD = 8;

/** A file's bytes in order, in pieces valid until the next call. */
export type Pieces = AsyncIterable<Uint8Array>;

/**
 * Reads regular files' data in the order given, up to AHEAD files ahead on libuv's thread pool,
 * so that disk reads run on the other core while the caller writes. Host files are read with
 * async I/O; other data sources (memory, sparse, readers) through fstree's openData.
 */
export class Prefetcher {
  private readonly pending: Array<Promise<Slot>> = [];
  private next = 0;
  private readonly spare: Buffer[] = [];

  constructor(private readonly files: readonly FileInode[]) {
    while (this.pending.length < AHEAD && this.next < files.length) this.queue();
  }

  /** The pieces of the next file; call in order, after the previous file's pieces were consumed. */
  async take(): Promise<Pieces> {
    const slot = await this.pending.shift()!;
    if (this.next < this.files.length) this.queue();
    return slot.pieces();
  }

  /** After a failure: lets reads in flight finish and closes what they opened. */
  async abandon(): Promise<void> {
    const left = this.pending.splice(0);
    for (const p of left) {
      try {
        await (await p).close();
      } catch {
        // the read failed: nothing was left open
      }
    }
  }

  private queue(): void {
    const p = this.start(this.files[this.next++]!);
    p.catch(() => {}); // observed when taken, or by abandon(); never an unhandled rejection
    this.pending.push(p);
  }

  private buffer(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(CHUNK);
  }

  private async start(file: FileInode): Promise<Slot> {
    const data = file.data;
    if (data.kind !== 'host') return new MemorySlot(file);
    const where = String(data.path);
    const fd = await new Promise<number>((resolve, reject) =>
      open(data.path, 'r', (err, fd) => (err ? reject(new InputError(where, `cannot open: ${describeSystemError(err)}`)) : resolve(fd))),
    );
    const first = this.buffer();
    const n = Math.min(CHUNK, file.size);
    try {
      await readFully(fd, first, n, data.offset, where, file.size);
    } catch (err) {
      close(fd, () => {});
      throw err;
    }
    return new HostSlot(fd, first.subarray(0, n), file.size, data.offset, where, (b) => this.spare.push(b));
  }
}

interface Slot {
  pieces(): Pieces;
  /** Releases the file when its pieces will not be read. */
  close(): Promise<void>;
}

class MemorySlot implements Slot {
  constructor(private readonly file: FileInode) {}

  async close(): Promise<void> {}

  async *pieces(): AsyncGenerator<Uint8Array> {
    const r = openData(this.file);
    const buf = Buffer.allocUnsafe(Math.min(CHUNK, this.file.size));
    try {
      for (let pos = 0; pos < this.file.size; pos += buf.length) {
        const piece = buf.subarray(0, Math.min(buf.length, this.file.size - pos));
        r.read(piece, pos);
        yield piece;
      }
    } finally {
      r.close();
    }
  }
}

class HostSlot implements Slot {
  constructor(
    private readonly fd: number,
    private readonly first: Buffer,
    private readonly size: number,
    private readonly offset: number,
    private readonly where: string,
    private readonly release: (b: Buffer) => void,
  ) {}

  close(): Promise<void> {
    return new Promise((resolve) => close(this.fd, () => resolve()));
  }

  async *pieces(): AsyncGenerator<Uint8Array> {
    try {
      yield this.first;
      let pos = this.first.length;
      const buf = this.first.buffer.byteLength >= CHUNK ? Buffer.from(this.first.buffer, this.first.byteOffset, CHUNK) : Buffer.allocUnsafe(CHUNK);
      while (pos < this.size) {
        const n = Math.min(CHUNK, this.size - pos);
        await readFully(this.fd, buf, n, this.offset + pos, this.where, this.size);
        yield buf.subarray(0, n);
        pos += n;
      }
      this.release(buf);
    } finally {
      close(this.fd, () => {});
    }
  }
}

function readFully(fd: number, buf: Buffer, n: number, at: number, where: string, size: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const step = (done: number): void => {
      if (done === n) return resolve();
      read(fd, buf, done, n - done, at + done, (err, got) => {
        if (err) reject(new InputError(where, `cannot read: ${describeSystemError(err)}`));
        else if (got === 0) reject(new InputError(where, `changed while being read: expected ${size} bytes, found fewer`));
        else step(done + got);
      });
    };
    step(0);
  });
}
