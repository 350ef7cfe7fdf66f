import { createWriteStream, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { InputError, removeTemp, tempBeside, trackTemp } from '@fstools/fstree';

/**
 * Keeps a streamed image archive (`docker save IMAGE | fsmerge - ...`) in a temporary file beside
 * `near` (its directory made if need be): archives are read in place, by offset, and a
 * docker-save tar names its layers only at its end. The file is tracked, so an interrupt removes
 * it; the caller removes it when done. `name` names the stream in errors.
 */
export async function spoolArchive(stream: AsyncIterable<Uint8Array>, name: string, near: string): Promise<string> {
  mkdirSync(dirname(near), { recursive: true });
  const path = tempBeside(near, 'archive');
  trackTemp(path);
  try {
    await pipeline(stream, createWriteStream(path, { flags: 'wx' }));
    if (statSync(path).size === 0) throw new InputError(name, 'is empty: no image archive came in');
    return path;
  } catch (err) {
    removeTemp(path);
    throw err;
  }
}
