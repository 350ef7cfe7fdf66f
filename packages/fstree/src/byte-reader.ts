/**
 * Exact-length reads over an async stream of chunks, tracking the absolute offset: the primitive
 * the tar reader stands on. Nothing is buffered beyond what one read asks for.
 */
export class ByteReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  /** Bytes consumed so far. */
  offset = 0;

  constructor(private readonly source: AsyncIterator<Uint8Array>) {}

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

  /** Yields the next n bytes in pieces as they arrive; `short` if the stream ends first. */
  async *stream(n: number, short: (got: number) => Error): AsyncGenerator<Buffer> {
    let left = n;
    while (left > 0) {
      if (this.buffered === 0 && !(await this.fill())) throw short(n - left);
      const piece = this.take(left);
      left -= piece.length;
      yield piece;
    }
  }

  async skip(n: number, short: (got: number) => Error): Promise<void> {
    for await (const piece of this.stream(n, short)) void piece;
  }

  private async fill(): Promise<boolean> {
    if (this.ended) return false;
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
