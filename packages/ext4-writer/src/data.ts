import { lstatSync } from 'node:fs';
import type { FileInode, Xxh64 } from '@fstools/fstree';
import { InputError, isZero, LoopTurns, openData } from '@fstools/fstree';
import type { ImageFile } from './image-file.js';
import type { BlockAllocator } from './layout/allocator.js';
import type { Extent } from './layout/extents.js';
import { appendExtent } from './layout/extents.js';

/** Bytes read or gathered per step: a whole number of blocks of any size. */
const CHUNK = 1 << 20;
/** Holes are detected at this granularity (the smallest block size), so a log made at one block size serves every other. */
export const PIECE = 1024;

/** Where one file's data went, and the pieces of it that are not zero ([start, length] in KiB, flattened). */
export interface StoredData {
  extents: Extent[];
  pieces: number[];
}

/**
 * Writes file data into the image as it is read: all-zero blocks are left unmapped (holes), the
 * rest goes to the next free blocks. When the filesystem is full, reading continues without
 * writing so the space the whole content needs is still known (`overflowed`).
 */
export class DataStore {
  /** Every file stored, in order: replaying their pieces reproduces the allocation. */
  readonly log: StoredData[] = [];
  overflowed: boolean;
  private readonly buf = Buffer.alloc(CHUNK);
  private bytesRead = 0;
  /** Reading a tree's files is synchronous: the event loop still turns, for Ctrl-C (see LoopTurns). */
  private readonly turns = new LoopTurns();

  /**
   * Without an allocator (the size cannot even hold an empty filesystem) nothing is written: the
   * content is only measured. `hash` receives every byte of file data.
   */
  constructor(
    private readonly image: ImageFile,
    /** Where data goes; metadata placement continues from it. */
    readonly allocator: BlockAllocator | undefined,
    private readonly blockSize: number,
    private readonly hash: Xxh64 | undefined,
    private readonly onProgress?: (bytes: number) => void,
  ) {
    this.overflowed = !allocator;
  }

  /**
   * Stores a file of a tree. With `checkHost`, a host file must still have the size and mtime the
   * tree recorded once it has been read (the source must not change during the run).
   */
  async storeFile(file: FileInode, checkHost: boolean): Promise<StoredData> {
    const stored = this.begin();
    const reader = openData(file);
    try {
      for (const [from, to] of this.spans(file)) {
        for (let pos = from; pos < to; pos += CHUNK) {
          const n = Math.min(CHUNK, to - pos);
          const valid = Math.min(n, file.size - pos);
          const chunk = this.buf.subarray(0, n);
          reader.read(chunk.subarray(0, valid), pos);
          chunk.fill(0, valid);
          this.process(stored, chunk, pos, valid);
          await this.turns.done(n);
        }
      }
    } finally {
      reader.close();
    }
    if (checkHost && file.data.kind === 'host') verifyUnchanged(file, file.data.path);
    return stored;
  }

  /** Stores `size` bytes arriving in pieces (a tar member's body). */
  async storeStream(body: AsyncIterable<Uint8Array>, size: number, name: string): Promise<StoredData> {
    const stored = this.begin();
    let fill = 0;
    let pos = 0;
    for await (const piece of body) {
      let off = 0;
      while (off < piece.length) {
        const n = Math.min(piece.length - off, CHUNK - fill);
        this.buf.set(piece.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === CHUNK) {
          this.process(stored, this.buf, pos, CHUNK);
          pos += CHUNK;
          fill = 0;
        }
      }
    }
    if (pos + fill !== size) throw new InputError(name, `member data is ${pos + fill} bytes, header says ${size}`);
    if (fill) {
      const n = Math.ceil(fill / this.blockSize) * this.blockSize;
      this.buf.fill(0, fill, n);
      this.process(stored, this.buf.subarray(0, n), pos, fill);
    }
    return stored;
  }

  private begin(): StoredData {
    const stored: StoredData = { extents: [], pieces: [] };
    this.log.push(stored);
    return stored;
  }

  /** Byte ranges that may hold data, block aligned: a sparse source's segments, else the whole file. */
  private spans(file: FileInode): Array<[number, number]> {
    const bs = this.blockSize;
    const end = Math.ceil(file.size / bs) * bs;
    if (file.data.kind !== 'sparse') return [[0, end]];
    const spans: Array<[number, number]> = [];
    const segs = [...file.data.segments].filter((s) => s.bytes.length).sort((a, b) => a.offset - b.offset);
    for (const s of segs) {
      const from = Math.floor(s.offset / bs) * bs;
      const to = Math.min(end, Math.ceil((s.offset + s.bytes.length) / bs) * bs);
      const last = spans[spans.length - 1];
      if (last && from <= last[1]) last[1] = Math.max(last[1], to);
      else if (from < to) spans.push([from, to]);
    }
    return spans;
  }

  /** Handles a block-aligned chunk at file offset `pos` whose first `valid` bytes are file data. */
  private process(stored: StoredData, chunk: Uint8Array, pos: number, valid: number): void {
    this.hash?.update(chunk.subarray(0, valid));
    this.bytesRead += valid;
    this.onProgress?.(this.bytesRead);
    const bs = this.blockSize;
    const blocks = chunk.length / bs;
    let runStart = -1;
    for (let i = 0; i <= blocks; i++) {
      const data = i < blocks && this.logPieces(stored, chunk, i * bs, pos + i * bs);
      if (data && runStart < 0) runStart = i;
      if (!data && runStart >= 0) {
        this.writeRun(stored, chunk.subarray(runStart * bs, i * bs), (pos + runStart * bs) / bs);
        runStart = -1;
      }
    }
  }

  /** Logs the non-zero KiB pieces of one block; whether the block holds any data. */
  private logPieces(stored: StoredData, chunk: Uint8Array, off: number, filePos: number): boolean {
    let any = false;
    for (let p = 0; p < this.blockSize; p += PIECE) {
      if (isZero(chunk, off + p, PIECE)) continue;
      any = true;
      const kib = (filePos + p) / PIECE;
      const pieces = stored.pieces;
      const n = pieces.length;
      if (n && pieces[n - 2]! + pieces[n - 1]! === kib) pieces[n - 1]!++;
      else pieces.push(kib, 1);
    }
    return any;
  }

  private writeRun(stored: StoredData, bytes: Uint8Array, lblk: number): void {
    if (this.overflowed) return;
    const bs = this.blockSize;
    const fresh: Extent[] = [];
    if (!this.allocator!.takeExtents(lblk, bytes.length / bs, fresh)) {
      this.overflowed = true;
      return;
    }
    let off = 0;
    for (const e of fresh) {
      this.image.write(e.pblk * bs, bytes.subarray(off, off + e.len * bs));
      off += e.len * bs;
      appendExtent(stored.extents, e);
    }
  }
}

function verifyUnchanged(file: FileInode, path: string | Buffer): void {
  let st;
  try {
    st = lstatSync(path, { bigint: true });
  } catch {
    throw new InputError(String(path), 'changed while being read: it is gone');
  }
  if (Number(st.size) !== file.size || st.mtimeNs !== file.mtime) {
    throw new InputError(String(path), `changed while being read (size ${file.size} -> ${st.size}, mtime ${file.mtime} -> ${st.mtimeNs})`);
  }
}
