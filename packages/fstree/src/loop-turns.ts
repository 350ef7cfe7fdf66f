/**
 * Long synchronous work (copying file data with blocking reads and writes) keeps the event loop
 * from turning, and with it the signal handlers that remove an interrupted command's temporary
 * files (removeTempsOnSignals). Counting the work through a LoopTurns lets the loop turn once
 * every `every` bytes, so Ctrl-C is handled at once at the cost of one turn per 64 MiB.
 */
export class LoopTurns {
  private left: number;

  constructor(private readonly every = 64 << 20) {
    this.left = every;
  }

  /** Counts `bytes` of work done; once `every` bytes have passed, waits for one turn of the event loop. */
  async done(bytes: number): Promise<void> {
    this.left -= bytes;
    if (this.left > 0) return;
    this.left = this.every;
    await new Promise(setImmediate);
  }
}
