/**
 * Exact-length reads over an async stream of chunks, tracking the absolute offset: the primitive
 * the tar reader stands on. Nothing is buffered beyond what one read asks for.
 *
 * A source may reuse its buffer for the next chunk: what is held across a pull is copied first.
 * What the reads return may be a view of the current chunk: valid until the next read.
 *
 * Reads served from bytes already buffered have synchronous forms (readBuffered, skipBuffered,
 * pieces): an archive of small members costs no promise per member while a chunk lasts.
 */
export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

  /** n bytes if the first buffered chunk holds them all (no waiting), else undefined. */
  readBuffered(n: number): Buffer | undefined {
    const first = this.chunks[0];
    return first && first.length >= n ? this.take(n) : undefined;
  }

  /** n bytes, or undefined when the stream ends before the first of them; `short` on a partial read. */
  async exact(n: number, short: (got: number) => Error): Promise<Buffer | undefined> {
    while (this.buffered < n) {
      if (!(await this.fill())) {
        if (this.buffered === 0) return undefined;
        throw short(this.buffered);
      }
    }
    const out = this.take(n);
    return out.length === n ? out : Buffer.concat([out, ...this.takeMore(n - out.length)]);
  }

  /** Consumes up to n buffered bytes without waiting; returns how many of the n are left. */
  skipBuffered(n: number): number {
    while (n > 0 && this.buffered > 0) n -= this.take(n).length;
    return n;
  }

  async skip(n: number, short: (got: number) => Error): Promise<void> {
    for (let left = this.skipBuffered(n); left > 0; left = this.skipBuffered(left)) {
      if (!(await this.fill())) throw short(n - left);
    }
  }

  /**
   * The next n bytes in pieces as they arrive; `short` if the stream ends first. A piece already
   * buffered is handed out without a generator step (one resolved promise).
   */
  pieces(n: number, short: (got: number) => Error): AsyncIterableIterator<Buffer> {
    let left = n;
    const step = async (): Promise<IteratorResult<Buffer>> => {
      if (!(await this.fill())) throw short(n - left);
      return next();
    };
    const next = (): Promise<IteratorResult<Buffer>> => {
      if (left === 0) return Promise.resolve({ done: true, value: undefined });
      if (this.buffered === 0) return step();
      const piece = this.take(left);
      left -= piece.length;
      return Promise.resolve({ done: false, value: piece });
    };
    return {
      next,
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
    // Only the newest chunk can still be the source's buffer (older ones were copied here before).
    const last = this.chunks.length - 1;
    if (last >= 0) this.chunks[last] = Buffer.from(this.chunks[last]!);
    const r = await this.source.next();
    if (r.done) {
      this.ended = true;
      return false;
    }
    const v = r.value;
    if (v.length > 0) {
      this.chunks.push(Buffer.isBuffer(v) ? v : Buffer.from(v.buffer, v.byteOffset, v.byteLength));
      this.buffered += v.length;
    }
    return true;
  }

  /** Up to n bytes from the first buffered chunk. */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (!first) return Buffer.alloc(0);
    let out: Buffer;
    if (first.length <= n) {
      this.chunks.shift();
      out = first;
    } else {
      out = first.subarray(0, n);
      this.chunks[0] = first.subarray(n);
    }
    this.buffered -= out.length;
    this.offset += out.length;
    return out;
  }

  private *takeMore(n: number): Generator<Buffer> {
    while (n > 0) {
      const piece = this.take(n);
      n -= piece.length;
      yield piece;
    }
  }
}
