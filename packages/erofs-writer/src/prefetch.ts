import { close, open, read } from 'node:fs';
import type { FileInode } from '@fstools/fstree';
import { describeSystemError, InputError, openData } from '@fstools/fstree';

const CHUNK = 1 << 20;
const AHEAD = 8;
/**
 * Host files up to this size are read on the calling thread when taken: handing an open, a read
 * and a close to the thread pool costs more than the copy itself for small files.
 */
const SMALL = 128 << 10;

/** A file's bytes in order, in pieces valid until the next call. */
export type Pieces = AsyncIterable<Uint8Array> | Iterable<Uint8Array>;

type HostData = Extract<FileInode['data'], { kind: 'host' }>;

/**
 * Reads regular files' data in the order given. Large host files are read up to AHEAD files ahead
 * on libuv's thread pool, so that disk reads run on the other core while the caller writes; small
 * ones are read when taken. Other data sources (memory, sparse, readers) go through fstree's
 * openData.
 */
export class Prefetcher {
  /** Large host files being read ahead, in file order. */
  private readonly pending: Array<{ index: number; slot: Promise<Slot> }> = [];
  /** The next file to take, and the next one to consider for reading ahead. */
  private taken = 0;
  private next = 0;
  private readonly spare: Buffer[] = [];
  /** Where files read on this thread land (one file is consumed at a time). */
  private readonly own = Buffer.allocUnsafe(CHUNK);

  constructor(private readonly files: readonly FileInode[]) {
    this.fill();
  }

  /** The pieces of the next file; call in order, after the previous file's pieces were consumed. */
  async take(): Promise<Pieces> {
    const index = this.taken++;
    const file = this.files[index]!;
    if (this.pending[0]?.index !== index) return syncPieces(file, this.own);
    const slot = await this.pending.shift()!.slot;
    this.fill();
    return slot.pieces();
  }

  /** After a failure: lets reads in flight finish and closes what they opened. */
  async abandon(): Promise<void> {
    const left = this.pending.splice(0);
    for (const p of left) {
      try {
        await (await p.slot).close();
      } catch {
        // the read failed: nothing was left open
      }
    }
  }

  /** Starts reading ahead the large host files among the next ones, up to AHEAD in flight. */
  private fill(): void {
    while (this.pending.length < AHEAD && this.next < this.files.length) {
      const index = this.next++;
      const file = this.files[index]!;
      if (file.data.kind !== 'host' || file.size <= SMALL) continue;
      const slot = this.start(file, file.data);
      slot.catch(() => {}); // observed when taken, or by abandon(); never an unhandled rejection
      this.pending.push({ index, slot });
    }
  }

  private buffer(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(CHUNK);
  }

  private async start(file: FileInode, data: HostData): Promise<Slot> {
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

/** A file's bytes read on this thread through fstree's openData, in pieces of `buf`. */
function* syncPieces(file: FileInode, buf: Buffer): Generator<Uint8Array> {
  const r = openData(file);
  try {
    for (let pos = 0; pos < file.size; pos += buf.length) {
      const piece = buf.subarray(0, Math.min(buf.length, file.size - pos));
      r.read(piece, pos);
      yield piece;
    }
  } finally {
    r.close();
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
