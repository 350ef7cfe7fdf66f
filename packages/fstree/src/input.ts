import { open } from 'node:fs/promises';
import { describeSystemError, InputError } from './errors.js';

const CHUNK = 1 << 20;

/** Streams a file's bytes; open and read failures become one-line InputErrors naming it. */
export async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new InputError(path, `cannot open: ${describeSystemError(err)}`);
  }
  try {
    if ((await fh.stat()).isDirectory()) throw new InputError(path, 'is a directory, not an archive');
    for (;;) {
      const buf = Buffer.allocUnsafe(CHUNK);
      let n: number;
      try {
        ({ bytesRead: n } = await fh.read(buf, 0, CHUNK, null));
      } catch (err) {
        throw new InputError(path, `cannot read: ${describeSystemError(err)}`);
      }
      if (n === 0) return;
      yield buf.subarray(0, n);
    }
  } finally {
    await fh.close();
  }
}
