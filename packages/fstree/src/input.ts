import { open } from 'node:fs/promises';
import { describeSystemError, InputError } from './errors.js';

const CHUNK = 1 << 20;

/**
 * Streams a file's bytes, reading one chunk ahead so the disk works while the consumer does;
 * open and read failures become one-line InputErrors naming it.
 */
export async function* fileChunks(path: string): AsyncGenerator<Uint8Array> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (err) {
    throw new InputError(path, `cannot open: ${describeSystemError(err)}`);
  }
  try {
    if ((await fh.stat()).isDirectory()) throw new InputError(path, 'is a directory, not an archive');
    const file = fh;
    const next = async (): Promise<Buffer> => {
      const buf = Buffer.allocUnsafe(CHUNK);
      try {
        const { bytesRead } = await file.read(buf, 0, CHUNK, null);
        return buf.subarray(0, bytesRead);
      } catch (err) {
        throw new InputError(path, `cannot read: ${describeSystemError(err)}`);
      }
    };
    let ahead = next();
    for (;;) {
      const chunk = await ahead;
      if (chunk.length === 0) return;
      ahead = next();
      ahead.catch(() => {}); // surfaced when awaited
      yield chunk;
    }
  } finally {
    await fh.close();
  }
}
